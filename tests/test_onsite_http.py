"""现场签到 over HTTP: who may open and run a session (others get 404), the member's sign-in and sign-out by
the code (CSRF, wrong codes, the throttle), the sheet's fragment and page, closing, the posters; and a race of
sign-ins for the last places of a full activity."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_today, to_local, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.onsite import services
from kmvolunteer.onsite.models import ActivitySession, Attendance
from kmvolunteer.service.models import ServiceRecord
from tests.concurrency import run_together
from tests.conftest import PASSWORD
from tests.factories import add_members, service_need, service_report_in

HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the pages' messages, written in English."""


def _session_now(need, secretary, capacity=None) -> ActivitySession:
    """A session under way: it began an hour ago and ends in two (made directly, whatever the hour is)."""
    now = utcnow().replace(second=0, microsecond=0)
    session = ActivitySession(
        need_id=need.id,
        community_id=need.community_id,
        day=to_local(now - timedelta(hours=1)).date(),
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=2),
        capacity=capacity,
        opened_by_id=secretary.id,
    )
    db.session.add(session)
    db.session.flush()
    return session


@pytest.fixture
def setup(world):
    service_report_in(world.members["member"], world.community)
    service_report_in(world.members["member2"], world.community)
    need = service_need(world.community, title="反诈宣传摊位")
    session = _session_now(need, world.users["community_secretary"])
    db.session.commit()
    return world, need, session


def _code(session) -> str:
    return services.current_code(session)[0]


def test_only_the_communitys_secretary_opens_and_runs_sessions(login, setup):
    w, need, session = setup
    urls = [
        f"/needs/{need.id}/onsite",
        f"/onsite/{session.id}",
        f"/onsite/{session.id}/code",
        f"/onsite/{session.id}/poster",
    ]
    for name in ("other_secretary", "13800000001", "subdistrict_officer", "branch_secretary"):
        b = login(name)
        for url in urls:
            assert b.get(url).status_code == 404, (name, url)
        for url in (f"/needs/{need.id}/onsite", f"/onsite/{session.id}/close", f"/onsite/{session.id}/add"):
            assert b.post(url, {"day": local_today().isoformat(), "member_id": "1"}).status_code == 404, (name, url)
    assert db.session.scalar(select(func.count()).select_from(ActivitySession)) == 1
    b = login("community_secretary")
    for url in urls:
        assert b.get(url).status_code == 200, url


def test_the_secretary_opens_a_session_and_sees_the_code(login, setup):
    w, need, _session = setup
    b = login("community_secretary")
    form = b.get(f"/needs/{need.id}/onsite").get_data(as_text=True)
    assert 'id="onsite-open"' in form
    refused = b.post(f"/needs/{need.id}/onsite", {"day": local_today().isoformat(), "start_time": "20:00"})
    assert refused.status_code == 422 and "Enter the end time" in refused.get_data(as_text=True)
    opened = b.post(
        f"/needs/{need.id}/onsite",
        {"day": local_today().isoformat(), "start_time": "20:00", "end_time": "01:30", "capacity": "5"},
    )
    assert opened.status_code == 303
    session = db.session.scalars(select(ActivitySession).order_by(ActivitySession.id.desc())).first()
    assert opened.headers["Location"].endswith(f"/onsite/{session.id}")
    assert session.ends_at - session.starts_at == timedelta(hours=5, minutes=30) and session.capacity == 5
    page = b.get(f"/onsite/{session.id}").get_data(as_text=True)
    code = _code(session)
    assert f"{code[:3]} {code[3:]}" in page and "<svg" in page and "(next day)" in page


def test_the_sheet_and_the_code_are_fragments_for_htmx_and_pages_otherwise(login, setup):
    w, need, session = setup
    b = login("community_secretary")
    page = b.get(f"/onsite/{session.id}")
    fragment = b.get(f"/onsite/{session.id}", headers=HX)
    boosted = b.get(f"/onsite/{session.id}", headers={**HX, "HX-Boosted": "true"})
    assert "<html" in page.get_data(as_text=True) and "<html" in boosted.get_data(as_text=True)
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and text.lstrip().startswith('<section class="card onsite-sheet" id="onsite-sheet"')
    assert 'hx-trigger="every 5s, onsite-changed from:document"' in text
    assert "HX-Request" in fragment.headers["Vary"]
    code = b.get(f"/onsite/{session.id}/code", headers=HX).get_data(as_text=True)
    assert code.lstrip().startswith('<div class="onsite-code" id="onsite-code"') and "<svg" in code
    assert "<html" in b.get(f"/onsite/{session.id}/code").get_data(as_text=True)


def test_a_member_scans_signs_in_and_out_and_gets_an_on_site_record(login, setup):
    w, need, session = setup
    member = login("13800000001")
    code = _code(session)
    confirm = member.get(f"/onsite/{session.id}/sign?code={code}").get_data(as_text=True)
    assert f'name="code" value="{code}"' in confirm and "Confirm to sign in" in confirm
    signed = member.post(f"/onsite/{session.id}/sign", {"code": code})
    assert signed.status_code == 303 and signed.headers["Location"].endswith(f"/onsite/{session.id}/me")
    mine = member.get(f"/onsite/{session.id}/me").get_data(as_text=True)
    assert 'id="sign-out"' in mine
    again = member.get(f"/onsite/{session.id}/sign").get_data(as_text=True)
    assert "Sign out" in again  # scanning again signs out
    assert member.post(f"/onsite/{session.id}/sign-out").status_code == 303
    attendance = db.session.scalar(select(Attendance))
    left = attendance.signed_out_at
    assert left is not None
    member.post(f"/onsite/{session.id}/sign-out")  # refused: already signed out
    db.session.refresh(attendance)
    assert attendance.signed_out_at == left
    attendance.signed_in_at = session.starts_at  # came at the start, an hour ago
    db.session.commit()
    secretary = login("community_secretary")
    closed = secretary.post(f"/onsite/{session.id}/close", {})
    assert closed.status_code == 303
    record = db.session.scalar(select(ServiceRecord))
    assert record.status == "approved" and record.on_site and record.half_hours == 2
    assert "recorded on site" in member.get("/service/my").get_data(as_text=True)
    assert "recorded on site" in member.get(f"/service/records/{record.id}").get_data(as_text=True)
    twice = secretary.post(f"/onsite/{session.id}/close", {})
    assert twice.status_code == 422 and "already ended" in twice.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ServiceRecord)) == 1


def test_the_sign_in_page_sends_a_stranger_to_log_in_and_back(client, setup):
    w, need, session = setup
    response = client.get(f"/onsite/{session.id}/sign?code=123456")
    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"] and "code%3D123456" in response.headers["Location"]


def test_signing_in_needs_the_csrf_token(login, setup):
    w, need, session = setup
    member = login("13800000001")
    response = member.post(f"/onsite/{session.id}/sign", {"code": _code(session)}, csrf=False)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0


def test_a_member_types_the_code_alone(login, setup):
    w, need, session = setup
    member = login("13800000002")
    response = member.post("/onsite/sign", {"code": _code(session)})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/onsite/{session.id}/me")
    wrong = member.post("/onsite/sign", {"code": "000000" if _code(session) != "000000" else "111111"})
    assert wrong.status_code == 422 and "No activity of your community" in wrong.get_data(as_text=True)


def test_refusals_are_shown_on_the_sign_in_page(login, setup):
    w, need, session = setup
    stranger = login("13800000003")  # reported in to another community
    refused = stranger.post(f"/onsite/{session.id}/sign", {"code": _code(session)})
    assert refused.status_code == 422 and "Only members reported in to 翠湖社区" in refused.get_data(as_text=True)
    member = login("13800000001")
    old = services.code_at(session.id, services.minute_of(utcnow()) - 2)
    wrong = member.post(f"/onsite/{session.id}/sign", {"code": old})
    assert wrong.status_code == 422 and "changes every minute" in wrong.get_data(as_text=True)
    assert member.post(f"/onsite/{session.id}/sign", {"code": _code(session)}).status_code == 303
    # the same member again: it is a sign-out now; another sign-in after signing out is refused
    assert member.post(f"/onsite/{session.id}/sign", {"code": _code(session)}).status_code == 303
    twice = member.post(f"/onsite/{session.id}/sign", {"code": _code(session)})
    assert twice.status_code == 422 and "already signed in to this session" in twice.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 1


def test_wrong_codes_are_throttled(login, setup):
    w, need, session = setup
    member = login("13800000001")
    wrong = "000000" if _code(session) != "000000" else "111111"
    for _ in range(services.WRONG_CODES_FREE):
        assert member.post(f"/onsite/{session.id}/sign", {"code": wrong}).status_code == 422
    assert member.post(f"/onsite/{session.id}/sign", {"code": wrong}).status_code == 429
    assert member.post(f"/onsite/{session.id}/sign", {"code": _code(session)}).status_code == 429


def test_the_organizer_adds_corrects_with_a_reason_and_cancels(login, setup):
    w, need, session = setup
    b = login("community_secretary")
    member2 = w.members["member2"]
    assert b.post(f"/onsite/{session.id}/add", {"member_id": str(member2.id)}).status_code == 303
    again = b.post(f"/onsite/{session.id}/add", {"member_id": str(member2.id)})
    assert again.status_code == 422 and "already signed in" in again.get_data(as_text=True)
    attendance = db.session.scalar(select(Attendance))
    form = b.get(f"/onsite/attendance/{attendance.id}/correct").get_data(as_text=True)
    assert 'id="onsite-correct"' in form
    start = to_local(session.starts_at).strftime("%H:%M")
    no_reason = b.post(f"/onsite/attendance/{attendance.id}/correct", {"signed_in": start, "reason": ""})
    assert no_reason.status_code == 422 and "Say why the time is corrected" in no_reason.get_data(as_text=True)
    done = b.post(f"/onsite/attendance/{attendance.id}/correct", {"signed_in": start, "reason": "忘带手机"})
    assert done.status_code == 303
    db.session.refresh(attendance)
    assert attendance.signed_in_at == session.starts_at
    assert login("other_secretary").get(f"/onsite/attendance/{attendance.id}/correct").status_code == 404
    assert b.post(f"/onsite/{session.id}/cancel", {"reason": ""}).status_code == 422
    assert b.post(f"/onsite/{session.id}/cancel", {"reason": "活动改期"}).status_code == 303
    db.session.refresh(session)
    assert session.status == "cancelled"
    assert db.session.scalar(select(func.count()).select_from(ServiceRecord)) == 0


def test_the_posters_carry_their_qr_codes(login, setup):
    w, need, session = setup
    b = login("community_secretary")
    poster = b.get(f"/onsite/{session.id}/poster").get_data(as_text=True)
    assert "@page" not in poster  # (print CSS is in print-sheet.css)
    assert 'id="poster-qr"><svg' in poster and f"/onsite/{session.id}/sign</p>" in poster
    assert "翠湖社区" in poster and "反诈宣传摊位" in poster and 'id="poster-steps"' in poster
    report_in = b.get(f"/communities/{w.community.id}/report-in/poster").get_data(as_text=True)
    assert 'id="poster-qr"><svg' in report_in and f"community={w.community.id}" in report_in
    assert login("other_secretary").get(f"/communities/{w.community.id}/report-in/poster").status_code == 404
    assert login("13800000001").get(f"/communities/{w.community.id}/report-in/poster").status_code == 404


def _race_sign_in(session_id: int, user_id: int) -> str:
    """One thread's sign-in with the code of the minute, committed: "in", or why it was refused."""
    from kmvolunteer.auth.models import User

    try:
        found = db.session.get(ActivitySession, session_id)
        services.sign_in(found, db.session.get(User, user_id), services.current_code(found)[0])
        db.session.commit()
        return "in"
    except ServiceError as exc:
        db.session.rollback()
        return exc.message


@pytest.mark.committing
def test_concurrent_sign_ins_never_overfill_a_full_activity(app, world):
    members = add_members(world.branch, 6, PASSWORD, world.district)
    for member in members:
        service_report_in(member, world.community)
    need = service_need(world.community, title="社区义诊")
    session = _session_now(need, world.users["community_secretary"], capacity=3)
    db.session.commit()
    session_id, user_ids = session.id, [m.user_id for m in members]

    results = run_together(app, 6, lambda index: _race_sign_in(session_id, user_ids[index]))
    assert results.count("in") == 3, results
    assert all("full" in r for r in results if r != "in"), results
    db.session.expire_all()
    assert db.session.get(ActivitySession, session_id).signed_in == 3
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 3


@pytest.mark.committing
def test_one_member_signing_in_twice_at_once_is_on_the_sheet_once(app, world):
    service_report_in(world.members["member"], world.community)
    need = service_need(world.community, title="社区义诊")
    session = _session_now(need, world.users["community_secretary"])
    db.session.commit()
    session_id, user_id = session.id, world.users["member"].id

    results = run_together(app, 4, lambda index: _race_sign_in(session_id, user_id))
    assert results.count("in") == 1, results
    assert all("already signed in" in r for r in results if r != "in"), results
    db.session.expire_all()
    assert db.session.get(ActivitySession, session_id).signed_in == 1
