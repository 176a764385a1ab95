"""Service records over HTTP: scoping (404s), CSRF, fragments for htmx, bulk, forms, certificate check."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.service import services
from kmvolunteer.service.models import Certificate, ServiceRecord
from kmvolunteer.service.services import EntryData
from tests.factories import make_claim, service_need, service_report_in

YESTERDAY = local_today() - timedelta(days=1)
HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the pages' messages, written in English."""


@pytest.fixture
def setup(world):
    service_report_in(world.members["member"], world.community)
    service_report_in(world.members["member2"], world.community2)
    service_report_in(world.members["other_member"], world.other_community)
    db.session.commit()
    return world


def log(world, who: str = "member", community=None, **kw):
    data = {
        "service_date": YESTERDAY,
        "content": "反诈宣传摊位值守",
        "hours": Decimal("2"),
        "community_id": (community or world.community).id,
    }
    data.update(kw)
    record = services.log_entry(world.members[who], world.users[who], EntryData(**data))
    db.session.commit()
    return record


def status_of(record_id: int) -> str:
    db.session.expire_all()
    return db.session.get(ServiceRecord, record_id).status


def test_log_form_defaults_and_submits(login, setup):
    w = setup
    b = login("13800000001")
    page = b.get("/service/new").get_data(as_text=True)
    assert f'value="{local_today().isoformat()}"' in page  # the date defaults to today
    assert f'<option selected value="{w.community.id}">翠湖社区</option>' in page  # the report-in community
    response = b.post(
        "/service/new",
        {
            "service_date": YESTERDAY.isoformat(),
            "hours": "1.5",
            "content": "垃圾分类宣传",
            "community_id": str(w.community.id),
        },
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/service/my")
    record = db.session.scalar(select(ServiceRecord))
    assert record.half_hours == 3 and record.status == "submitted"
    my_page = b.get("/service/my").get_data(as_text=True)
    assert "垃圾分类宣传" in my_page and 'id="entries-submitted"' in my_page


@pytest.mark.parametrize(
    "hours, text",
    [
        ("abc", "as a number"),
        ("0", "more than 0"),
        ("-2", "more than 0"),
        ("0.3", "steps of half"),
        ("99", "at most 12"),
        ("", "Enter the hours"),
    ],
)
def test_bad_hours_get_422_with_the_message_and_nothing_is_saved(login, setup, hours, text):
    w = setup
    b = login("13800000001")
    b.get("/service/new")
    response = b.post(
        "/service/new",
        {"service_date": YESTERDAY.isoformat(), "hours": hours, "content": "值守", "community_id": str(w.community.id)},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and text in html and 'class="error-summary"' in html
    assert db.session.scalar(select(func.count(ServiceRecord.id))) == 0


def test_every_mistake_of_the_entry_form_shows_at_once(login, setup):
    w = setup
    b = login("13800000001")
    b.get("/service/new")
    response = b.post(
        "/service/new",
        {"service_date": YESTERDAY.isoformat(), "hours": "", "content": "", "community_id": str(w.community.id)},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Describe the service you gave." in html and "Enter the hours, or the start and end time." in html


def test_future_date_and_double_submitted_form(login, setup):
    w = setup
    b = login("13800000001")
    b.get("/service/new")
    form = {
        "service_date": (local_today() + timedelta(days=2)).isoformat(),
        "hours": "2",
        "content": "值守",
        "community_id": str(w.community.id),
    }
    assert "future" in b.post("/service/new", form).get_data(as_text=True)
    form["service_date"] = YESTERDAY.isoformat()
    assert b.post("/service/new", form).status_code == 303
    again = b.post("/service/new", form)
    html = again.get_data(as_text=True)
    existing = db.session.scalar(select(ServiceRecord.id))
    assert again.status_code == 422 and f'href="/service/records/{existing}"' in html
    assert db.session.scalar(select(func.count(ServiceRecord.id))) == 1


def test_htmx_validation_error_is_the_form_fragment(login, setup):
    w = setup
    b = login("13800000001")
    b.get("/service/new")
    response = b.post(
        "/service/new",
        {"service_date": YESTERDAY.isoformat(), "hours": "x", "content": "值守", "community_id": str(w.community.id)},
        headers=HX,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html and 'id="entry-form"' in html


def test_out_of_scope_records_are_404(login, setup):
    w = setup
    record = log(w)
    url = f"/service/records/{record.id}"
    assert login("13800000001").get(url).status_code == 200
    assert login("community_secretary").get(url).status_code == 200
    assert login("subdistrict_officer").get(url).status_code == 200
    assert login("district_org").get(url).status_code == 200
    assert login("branch_secretary").get(url).status_code == 200  # the member's own branch
    for who in ("other_secretary", "other_org", "13800000002", "other_branch_secretary", "department_officer"):
        b = login(who)
        assert b.get(url).status_code == 404, who
        assert b.get(f"{url}/edit").status_code == 404, who
        assert b.post(f"{url}/approve").status_code == 404, who
        assert b.post(f"{url}/withdraw").status_code == 404, who
    assert login("13800000001").get("/service/records/999999").status_code == 404
    # Reading is not deciding: the subdistrict and org department get 404 on the action, too.
    for who in ("subdistrict_officer", "district_org", "13800000001"):
        assert login(who).post(f"{url}/approve").status_code == 404, who
    assert status_of(record.id) == "submitted"
    assert login("13800000002").get(f"/service/members/{w.members['member'].id}").status_code == 404
    assert login("branch_secretary").get(f"/service/members/{w.members['member'].id}").status_code == 200
    assert login("community_secretary").get("/service/my").status_code == 404  # not a member
    assert login("13800000001").get("/service/queue").status_code == 404
    assert login("13800000001").get("/service/attendance").status_code == 404


def test_queue_shows_only_the_area_and_read_only_for_overseers(login, setup):
    w = setup
    mine = log(w, content="翠湖值守")
    log(w, "member2", community=w.community2, content="文化巷值守")
    log(w, "other_member", community=w.other_community, content="云秀值守")
    secretary = login("community_secretary").get("/service/queue").get_data(as_text=True)
    assert "翠湖值守" in secretary and "文化巷值守" not in secretary and "云秀值守" not in secretary
    assert f'name="ids" value="{mine.id}"' in secretary and "row-approve" in secretary
    officer = login("subdistrict_officer").get("/service/queue").get_data(as_text=True)
    assert "翠湖值守" in officer and "文化巷值守" in officer and "云秀值守" not in officer
    assert 'name="ids"' not in officer and "row-approve" not in officer and "bulk-approve" not in officer
    city = login("city_org").get("/service/queue").get_data(as_text=True)
    assert all(text in city for text in ("翠湖值守", "文化巷值守", "云秀值守"))


def test_queue_filters_sort_and_fragment(login, setup):
    w = setup
    need = service_need(w.community, title="周末环境整治")
    db.session.commit()
    log(w, content="较早的值守", service_date=YESTERDAY - timedelta(days=3))
    log(w, content="清扫楼道", need_id=need.id)
    b = login("community_secretary")
    full = b.get("/service/queue?sort=-date")
    assert full.status_code == 200 and "<html" in full.get_data(as_text=True)
    html = full.get_data(as_text=True)
    assert html.index("清扫楼道") < html.index("较早的值守")
    fragment = b.get(f"/service/queue?need={need.id}", headers=HX)
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and 'id="queue"' in text and "清扫楼道" in text and "较早的值守" not in text
    by_date = b.get(f"/service/queue?date_to={(YESTERDAY - timedelta(days=1)).isoformat()}").get_data(as_text=True)
    assert "较早的值守" in by_date and "清扫楼道" not in by_date
    by_member = b.get("/service/queue?member=李红").get_data(as_text=True)
    assert "较早的值守" not in by_member
    by_branch = b.get(f"/service/queue?branch={w.branch.id}&status=all").get_data(as_text=True)
    assert "较早的值守" in by_branch
    assert b.get("/service/queue?status=approved").get_data(as_text=True).count('class="queue-row ') == 0
    # Bad filter values are ignored, not an error page.
    assert b.get("/service/queue?date_from=not-a-date&status=nonsense&page=-3").status_code == 200


def test_the_count_of_long_waiting_entries_follows_the_filters(login, setup):
    from kmvolunteer.core.time import utcnow

    w = setup
    old = log(w, content="等了很久", service_date=YESTERDAY - timedelta(days=2))
    log(w, content="刚登记的")
    old.submitted_at = utcnow() - timedelta(days=10)
    db.session.commit()
    b = login("community_secretary")
    summary = b.get("/service/queue").get_data(as_text=True)
    assert "2 entries" in summary and "1 waiting more than 7 days" in summary
    for query in ("member=李红", "status=approved"):  # nothing found: nothing waiting either
        html = b.get(f"/service/queue/summary?{query}", headers=HX).get_data(as_text=True)
        assert "0 entries" in html and "waiting more than" not in html


def test_row_approve_in_place_returns_the_row_and_fires_the_event(login, setup):
    w = setup
    record = log(w)
    b = login("community_secretary")
    b.get("/service/queue")
    response = b.post(f"/service/records/{record.id}/approve", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith(f'<tr id="record-{record.id}"') and "tag--approved" in html
    assert "records-changed" in response.headers["HX-Trigger"]
    assert status_of(record.id) == "approved"
    # The badge and the count above the list refresh themselves through their own URLs.
    badge = b.get("/service/queue/badge", headers=HX).get_data(as_text=True)
    assert 'id="pending-badge"' in badge and "count-badge--empty" in badge
    summary = b.get("/service/queue/summary?status=submitted", headers=HX).get_data(as_text=True)
    assert 'id="queue-summary"' in summary and "0 entries" in summary and "<html" not in summary
    approved = b.get("/service/queue/summary?status=approved", headers=HX).get_data(as_text=True)
    assert "1 entry" in approved
    # Approving again: a clear message in the row (422), no error page, nothing changed.
    again = b.post(f"/service/records/{record.id}/approve", headers=HX)
    assert again.status_code == 422 and "<html" not in again.get_data(as_text=True)
    assert "row-message" in again.get_data(as_text=True)


def test_row_return_needs_a_reason(login, setup):
    w = setup
    record = log(w)
    b = login("community_secretary")
    b.get("/service/queue")
    response = b.post(f"/service/records/{record.id}/return", headers=HX)
    assert response.status_code == 422 and "reason" in response.get_data(as_text=True).lower()
    assert "HX-Trigger" not in response.headers
    assert status_of(record.id) == "submitted"
    ok = b.post(f"/service/records/{record.id}/return", {f"r{record.id}-reason": "请补充服务地点"}, headers=HX)
    assert ok.status_code == 200 and status_of(record.id) == "returned"
    member_page = login("13800000001").get("/service/my").get_data(as_text=True)
    assert member_page.index('id="entries-returned"') < member_page.index("请补充服务地点")


def test_without_javascript_a_decision_redirects_back_with_a_message(login, setup):
    w = setup
    record = log(w)
    b = login("community_secretary")
    b.get("/service/queue")
    response = b.post(
        f"/service/records/{record.id}/reject",
        {f"r{record.id}-reason": "不属于志愿服务", "next": "/service/queue?status=all"},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/service/queue?status=all"
    page = b.get("/service/queue?status=all").get_data(as_text=True)
    assert "notice--success" in page and status_of(record.id) == "rejected"
    # An off-site `next` is not followed.
    other = log(w, content="二")
    response = b.post(f"/service/records/{other.id}/approve", {"next": "https://evil.example/"})
    assert response.headers["Location"] == "/service/queue"


def test_record_page_decision_and_revoke(login, setup):
    w = setup
    record = log(w)
    b = login("community_secretary")
    page = b.get(f"/service/records/{record.id}").get_data(as_text=True)
    assert 'id="approve-button"' in page
    response = b.post(f"/service/records/{record.id}/approve", {"from": "record"})
    assert response.headers["Location"] == f"/service/records/{record.id}"
    page = b.get(f"/service/records/{record.id}").get_data(as_text=True)
    assert 'id="revoke-button"' in page and "service.approved" not in page  # labels, not codes
    assert b.post(f"/service/records/{record.id}/revoke", {"from": "record"}).status_code == 303
    assert status_of(record.id) == "approved"  # no reason: refused
    b.post(f"/service/records/{record.id}/revoke", {"from": "record", f"r{record.id}-reason": "核实未参加"})
    assert status_of(record.id) == "revoked"
    assert login("subdistrict_officer").post(f"/service/records/{record.id}/revoke").status_code == 404


def test_post_without_csrf_changes_nothing(login, setup):
    w = setup
    record = log(w)
    b = login("community_secretary")
    assert b.post(f"/service/records/{record.id}/approve", csrf=False).status_code == 400
    assert (
        b.post("/service/queue/bulk", {"ids": str(record.id), "bulk_action": "approve"}, csrf=False).status_code == 400
    )
    m = login("13800000001")
    assert (
        m.post(
            "/service/new",
            {"service_date": YESTERDAY.isoformat(), "hours": "2", "content": "x", "community_id": str(w.community.id)},
            csrf=False,
        ).status_code
        == 400
    )
    assert m.post(f"/service/records/{record.id}/withdraw", csrf=False).status_code == 400
    assert status_of(record.id) == "submitted"
    assert db.session.scalar(select(func.count(ServiceRecord.id))) == 1


def test_bulk_with_mixed_communities_processes_only_the_in_scope_ones(login, setup):
    w = setup
    mine = [log(w, content=f"值守{i}") for i in range(3)]
    elsewhere = log(w, "member2", community=w.community2)
    far = log(w, "other_member", community=w.other_community)
    services.approve(mine[2], w.users["community_secretary"])
    db.session.commit()
    b = login("community_secretary")
    b.get("/service/queue")
    response = b.post(
        "/service/queue/bulk",
        {
            "ids": [str(r.id) for r in mine] + [str(elsewhere.id), str(far.id)],
            "bulk_action": "approve",
            "next": "/service/queue",
        },
        headers={"HX-Request": "true", "HX-Boosted": "true"},
    )
    assert response.status_code == 303
    landing = b.get(response.headers["Location"], headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "records-changed" in landing.headers["HX-Trigger"]
    page = landing.get_data(as_text=True)
    assert "Approved 2 entries." in page and "Skipped 3 entries:" in page
    assert page.count("not within your community") == 2
    assert f"No. {mine[2].id}" in page
    assert [status_of(r.id) for r in mine] == ["approved"] * 3
    assert status_of(elsewhere.id) == status_of(far.id) == "submitted"
    # Bulk return without a reason changes nothing.
    fresh = log(w, content="待退回")
    b.post("/service/queue/bulk", {"ids": str(fresh.id), "bulk_action": "return"})
    assert status_of(fresh.id) == "submitted"
    assert "Give a reason" in b.get("/service/queue").get_data(as_text=True)
    b.post("/service/queue/bulk", {"ids": str(fresh.id), "bulk_action": "return", "bulk_reason": "请补充"})
    assert status_of(fresh.id) == "returned"
    assert (
        login("subdistrict_officer")
        .post("/service/queue/bulk", {"ids": str(fresh.id), "bulk_action": "approve"})
        .status_code
        == 404
    )


def test_member_edits_a_returned_entry_and_withdraws_another(login, setup):
    w = setup
    record = log(w)
    services.return_entry(record, w.users["community_secretary"], "时长不对")
    db.session.commit()
    b = login("13800000001")
    page = b.get(f"/service/records/{record.id}/edit").get_data(as_text=True)
    assert "时长不对" in page and 'value="2"' in page
    response = b.post(
        f"/service/records/{record.id}/edit",
        {
            "service_date": YESTERDAY.isoformat(),
            "hours": "1.5",
            "content": "反诈宣传摊位值守",
            "community_id": str(w.community.id),
        },
    )
    assert response.status_code == 303 and status_of(record.id) == "submitted"
    assert login("13800000002").post(f"/service/records/{record.id}/edit", {}).status_code == 404
    history = b.get("/service/my").get_data(as_text=True)
    assert "时长不对" in history and 'class="history"' in history
    assert b.post(f"/service/records/{record.id}/withdraw").status_code == 303
    assert status_of(record.id) == "withdrawn"
    # A withdrawn (or approved) entry cannot be edited any more.
    assert b.get(f"/service/records/{record.id}/edit").status_code == 303


def test_attendance_sheet_over_http(login, setup):
    w = setup
    need = service_need(w.community, title="周六环境整治", on_date=YESTERDAY)
    db.session.commit()
    b = login("community_secretary")
    page = b.get(f"/service/attendance?need_id={need.id}").get_data(as_text=True)
    assert "张明" in page and f'value="{YESTERDAY.isoformat()}"' in page
    response = b.post(
        "/service/attendance",
        {
            "need_id": str(need.id),
            "service_date": YESTERDAY.isoformat(),
            "hours": "2",
            "member_ids": [str(w.members["member"].id), str(w.members["other_member"].id)],
        },
    )
    assert response.status_code == 303
    records = db.session.scalars(select(ServiceRecord)).all()
    assert [(r.member_id, r.status, r.recorded_by_organizer) for r in records] == [
        (w.members["member"].id, "approved", True)
    ]
    page = b.get(response.headers["Location"]).get_data(as_text=True)
    assert "not on this attendance sheet" in page
    bad = b.post(
        "/service/attendance",
        {
            "need_id": str(need.id),
            "service_date": YESTERDAY.isoformat(),
            "hours": "zero",
            "member_ids": str(w.members["member"].id),
        },
    )
    assert bad.status_code == 422
    assert login("other_secretary").get(f"/service/attendance?need_id={need.id}").status_code == 404


def test_certificate_print_and_public_verification(login, setup, client):
    w = setup
    record = log(w, content="社区义诊协助")
    services.approve(record, w.users["community_secretary"])
    db.session.commit()
    b = login("13800000001")
    b.get("/service/certificate")
    response = b.post("/service/certificate", {"year": str(YESTERDAY.year)})
    assert response.status_code == 303
    serial = response.headers["Location"].rsplit("/", 1)[1]
    cert = db.session.scalar(select(Certificate))
    assert cert.serial == serial and cert.approved_half_hours == 4
    printed = b.get(f"/service/certificates/{serial}").get_data(as_text=True)
    assert "平台服务记录证明" in printed and "非全国志愿服务信息系统证明" in printed
    assert "张明" in printed and "社区义诊协助" in printed and serial in printed and "翠湖社区" in printed
    assert login("13800000002").get(f"/service/certificates/{serial}").status_code == 404
    public = client.get(f"/verify/{serial}")
    html = public.get_data(as_text=True)
    assert public.status_code == 200 and "张*" in html and "张明" not in html
    assert "社区义诊协助" not in html and "13800000001" not in html and ">2<" in html
    assert client.get("/verify/KMV-2026-NOTAREALNO").status_code == 404
    assert client.get(f"/verify?serial={serial.lower()}").headers["Location"] == f"/verify/{serial}"
    assert b.post("/service/certificate", {"year": str(YESTERDAY.year - 1)}).status_code == 422
    assert "verify-outdated" not in html
    services.revoke(record, w.users["community_secretary"], "重复登记")
    db.session.commit()
    assert "verify-outdated" in client.get(f"/verify/{serial}").get_data(as_text=True)


def test_home_pages_show_the_service_parts(login, setup):
    w = setup
    record = log(w)
    db.session.execute(ServiceRecord.__table__.update().values(submitted_at=record.submitted_at - timedelta(days=9)))
    db.session.commit()
    officer = login("subdistrict_officer").get("/").get_data(as_text=True)
    assert 'id="home-service-overdue"' in officer and "row--overdue" in officer and "翠湖社区" in officer
    secretary = login("community_secretary").get("/").get_data(as_text=True)
    assert 'id="home-service-queue"' in secretary and 'id="pending-badge"' in secretary
    member = login("13800000001").get("/").get_data(as_text=True)
    assert 'id="home-service"' in member
    queue = login("community_secretary").get("/service/queue").get_data(as_text=True)
    assert "row--overdue" in queue


def test_a_member_without_a_report_in_is_asked_to_report_in_or_chooses_a_claimed_need(login, world):
    b = login("13800000002")
    page = b.get("/service/new").get_data(as_text=True)
    assert 'id="community_id"' not in page and "/report-in/new" in page
    need = service_need(world.other_community, title="云秀社区义诊")
    make_claim(need, world.members["member2"])
    db.session.commit()
    page = b.get("/service/new").get_data(as_text=True)
    choices = page.split('id="community_id"')[1].split("</select>")[0]
    assert "云秀社区" in choices and "翠湖社区" not in choices and "云秀社区义诊" in page


def test_tick_all_on_the_page_without_javascript(login, setup):
    w = setup
    records = [log(w, content=f"值守{i}") for i in range(3)]
    b = login("community_secretary")
    plain = b.get("/service/queue").get_data(as_text=True)
    assert 'id="tick-all"' in plain and " checked " not in plain
    ticked = b.get("/service/queue?tick=all").get_data(as_text=True)
    assert all(f'id="tick-{r.id}" checked' in ticked for r in records)
    assert 'name="next" value="/service/queue"' in ticked and 'id="untick-all"' in ticked


def test_the_public_check_holds_a_client_trying_serials(app, setup, client):
    """Wrong serials count against the client's address: past PUBLIC_WRONG_LOOKUPS_FREE each one waits (429),
    and a serial that is found costs nothing."""
    w = setup
    record = log(w, content="社区义诊协助")
    services.approve(record, w.users["community_secretary"])
    db.session.commit()
    cert = services.issue_certificate(w.members["member"], YESTERDAY.year, w.users["member"])
    db.session.commit()
    free = app.config["PUBLIC_WRONG_LOOKUPS_FREE"]
    for _ in range(3):
        assert client.get(f"/verify/{cert.serial}").status_code == 200  # found: not counted
    for n in range(free):
        assert client.get(f"/verify/KMV-2026-WRONG{n:04d}").status_code == 404
    held = client.get("/verify/KMV-2026-WRONG9999")
    assert held.status_code == 429 and int(held.headers["Retry-After"]) > 0
    assert "verify-waiting" in held.get_data(as_text=True)
    assert client.get("/verify/letter/FKH-2026-WRONG").status_code == 429  # the letters' check counts alike
