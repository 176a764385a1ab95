"""双报到 over HTTP: scoping (404), CSRF, fragment vs page, the no-JS flows, bulk confirm, export."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select

from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.exports import neutralise
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.reportin import services
from kmvolunteer.reportin.models import Claim, Need, Project, ReportIn, ServiceCategory
from tests.factories import make_branch_report_in, make_need, make_report_in

HX = {"HX-Request": "true"}


def _reportins() -> list[ReportIn]:
    db.session.expire_all()
    return list(db.session.scalars(select(ReportIn).order_by(ReportIn.id)))


def test_member_reports_in_without_javascript(login, world):
    member = login("13800000001")
    page = member.get("/report-in/new")
    assert page.status_code == 200 and "五华区" in page.get_data(as_text=True)
    # "Next" without JavaScript: GET with the chosen district reloads the page with its subdistricts.
    step = member.get(f"/report-in/new?district={world.district.id}&step=places").get_data(as_text=True)
    assert "华山街道" in step and "翠湖社区" not in step
    step = member.get(f"/report-in/new?district={world.district.id}&subdistrict={world.subdistrict.id}")
    assert "翠湖社区" in step.get_data(as_text=True)
    cats = services.ensure_default_categories()
    db.session.commit()
    response = member.post(
        "/report-in/new",
        {
            "district": world.district.id,
            "subdistrict": world.subdistrict.id,
            "community": world.community.id,
            "skills": "急救",
            "categories": [cats[1].id],
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/report-in")
    # htmx 4 follows the 303 inside fetch() and never sees its headers: the event comes with the page.
    assert "HX-Trigger" not in response.headers
    landing = member.get(response.headers["Location"], headers={"HX-Request": "true"})
    assert "reportins-changed" in landing.headers["HX-Trigger"] and "HX-Request" in landing.headers["Vary"]
    assert "HX-Trigger" not in member.get("/report-in", headers={"HX-Request": "true"}).headers
    ri = _reportins()[0]
    assert ri.status == "pending" and ri.community_id == world.community.id and ri.categories[0].name == "环境整治"
    # While it waits, the page says so and offers no second form; a second one sent anyway is refused
    # with a clear message and changes nothing.
    waiting = member.get("/report-in/new").get_data(as_text=True)
    assert 'id="report-in-form"' not in waiting and f"/report-ins/{ri.id}" in waiting
    again = member.post("/report-in/new", {"community": world.community2.id})
    # (The message names the community it is waiting at; checked here without depending on translations.)
    assert again.status_code == 422 and "error-summary" in again.get_data(as_text=True)
    assert "翠湖社区" in again.get_data(as_text=True).split('class="error-summary"')[1].split("</ul>")[0]
    assert len(_reportins()) == 1


def test_report_in_to_a_subdistrict_is_refused(login, world):
    member = login("13800000001")
    member.get("/report-in/new")
    response = member.post("/report-in/new", {"community": world.subdistrict.id})
    assert response.status_code == 422 and "error-summary" in response.get_data(as_text=True)
    missing = member.post("/report-in/new", {})
    assert missing.status_code == 422 and "error-summary" in missing.get_data(as_text=True)
    assert _reportins() == []


def test_place_options_and_search_are_fragments(login, world):
    member = login("13800000001")
    subdistricts = member.get(f"/places/options?district={world.district.id}", headers=HX).get_data(as_text=True)
    assert "<html" not in subdistricts and f'value="{world.subdistrict.id}"' in subdistricts
    assert "hx-partial" in subdistricts  # the community select is reset too
    communities = member.get(f"/places/options?subdistrict={world.subdistrict.id}", headers=HX).get_data(as_text=True)
    assert "翠湖社区" in communities and "文化巷社区" in communities and "云秀社区" not in communities
    found = member.get("/places/search?q=翠湖&for=/report-in/new", headers=HX).get_data(as_text=True)
    assert "翠湖社区" in found and f"community={world.community.id}" in found
    page = member.get("/report-in/new?q=翠湖").get_data(as_text=True)
    assert f"/report-in/new?community={world.community.id}" in page
    chosen = member.get(f"/report-in/new?community={world.community.id}").get_data(as_text=True)
    assert f'<option selected value="{world.community.id}">' in chosen


def test_secretary_confirms_with_htmx_and_the_badge_refreshes(login, world):
    ri = make_report_in(world.members["member"], world.community)
    db.session.commit()
    secretary = login("community_secretary")
    queue = secretary.get(f"/communities/{world.community.id}/queue").get_data(as_text=True)
    assert "张明" in queue and 'id="reportin-badge-' in queue
    response = secretary.post(f"/report-ins/{ri.id}/confirm", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and html.strip().startswith("<tr")
    assert "reportins-changed" in response.headers["HX-Trigger"]
    badge = secretary.get(f"/communities/{world.community.id}/badge", headers=HX).get_data(as_text=True)
    assert ">0</span>" in badge
    # Clicking again: a clear message in the row, nothing changes.
    again = secretary.post(f"/report-ins/{ri.id}/confirm", headers=HX)
    assert again.status_code == 422 and 'class="field-error"' in again.get_data(as_text=True)
    assert _reportins()[0].serial is not None


def test_confirming_outside_ones_community_is_404(login, world):
    ri = make_report_in(world.members["other_member"], world.other_community)
    db.session.commit()
    secretary = login("community_secretary")
    assert secretary.post(f"/report-ins/{ri.id}/confirm").status_code == 404
    assert secretary.get(f"/report-ins/{ri.id}").status_code == 404
    assert secretary.get(f"/communities/{world.other_community.id}/queue").status_code == 404
    assert secretary.get(f"/communities/{world.other_community.id}/roster").status_code == 404
    assert login("subdistrict_officer").post(f"/report-ins/{ri.id}/confirm").status_code == 404
    assert login("13800000002").get(f"/report-ins/{ri.id}").status_code == 404
    assert _reportins()[0].status == "pending"


def test_post_without_csrf_changes_nothing(login, world):
    ri = make_report_in(world.members["member"], world.community)
    db.session.commit()
    assert login("community_secretary").post(f"/report-ins/{ri.id}/confirm", csrf=False).status_code == 400
    assert _reportins()[0].status == "pending"


def test_bulk_confirm_and_reject_with_reason(login, world):
    first = make_report_in(world.members["member"], world.community)
    second = make_report_in(world.members["member2"], world.community)
    third = make_report_in(world.members["other_member"], world.community)
    db.session.commit()
    secretary = login("community_secretary")
    secretary.get(f"/communities/{world.community.id}/queue")
    response = secretary.post(f"/communities/{world.community.id}/queue/confirm", {"ids": [first.id, second.id]})
    assert response.status_code == 303
    no_reason = secretary.post(f"/report-ins/{third.id}/reject", {"reason": ""})
    assert no_reason.status_code == 422 and "error-summary" in no_reason.get_data(as_text=True)
    assert secretary.post(f"/report-ins/{third.id}/reject", {"reason": "不住本社区"}).status_code == 303
    assert [r.status for r in _reportins()] == ["confirmed", "confirmed", "rejected"]
    home = login("13800000003").get("/").get_data(as_text=True)
    assert "不住本社区" in home
    confirmed_home = login("13800000001").get("/").get_data(as_text=True)
    assert first.serial in confirmed_home or _reportins()[0].serial in confirmed_home


def test_member_withdraws_a_pending_report_in(login, world):
    ri = make_report_in(world.members["member"], world.community)
    db.session.commit()
    assert login("13800000002").post(f"/report-ins/{ri.id}/withdraw").status_code == 404
    assert login("13800000001").post(f"/report-ins/{ri.id}/withdraw").status_code == 303
    assert _reportins()[0].status == "withdrawn"


def test_receipt_only_once_confirmed(login, world):
    ri = make_report_in(world.members["member"], world.community)
    db.session.commit()
    member = login("13800000001")
    assert member.get(f"/report-ins/{ri.id}/receipt").status_code == 404
    services.confirm_report_in(ri)
    db.session.commit()
    html = member.get(f"/report-ins/{ri.id}/receipt").get_data(as_text=True)
    assert ri.serial in html and "社区党组织（盖章）" in html and "经办人" in html and "翠湖社区" in html
    assert login("other_branch_secretary").get(f"/report-ins/{ri.id}/receipt").status_code == 404


def test_claim_without_and_with_htmx(login, world):
    make_report_in(world.members["member"], world.community, "confirmed")
    need = make_need(world.community, headcount=2)
    db.session.commit()
    member = login("13800000001")
    lists = member.get(f"/communities/{world.community.id}/lists").get_data(as_text=True)
    assert "claim-button" in lists
    response = member.post(
        f"/needs/{need.id}/claim", {"as": "member", "next": f"/communities/{world.community.id}/lists"}
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/lists")
    db.session.expire_all()
    assert db.session.get(Need, need.id).claimed == 1
    claim = db.session.scalar(select(Claim))
    fragment = member.post(f"/claims/{claim.id}/withdraw", headers=HX)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in html and 'class="need-card"' in html
    assert "claims-changed" in fragment.headers["HX-Trigger"] and 'data-left="2"' in html
    again = member.post(f"/needs/{need.id}/claim", {"as": "member"}, headers=HX)
    assert again.status_code == 200 and 'data-left="1"' in again.get_data(as_text=True)


def test_claiming_full_closed_or_past_needs_gives_a_message(login, world):
    make_report_in(world.members["member"], world.community, "confirmed")
    full = make_need(world.community, headcount=1, claimed=1)
    past = make_need(world.community, on_date=local_today() - timedelta(days=2))
    closed = make_need(world.community, status="closed")
    db.session.commit()
    member = login("13800000001")
    member.get("/report-in")
    messages = set()
    for need in (full, past, closed):
        response = member.post(f"/needs/{need.id}/claim", {"as": "member"}, headers=HX)
        html = response.get_data(as_text=True)
        assert response.status_code == 422 and 'role="alert"' in html
        messages.add(html.split('role="alert">')[1].split("<")[0])
    assert len(messages) == 3  # full, past and closed each say why
    assert db.session.scalar(select(func.count(Claim.id))) == 0
    # A member not reported in here may look but not claim.
    other = login("13800000003").post(f"/needs/{full.id}/claim", {"as": "member"})
    assert other.status_code == 303


def test_branch_cobuild_resource_and_project_flow(login, world):
    branch_secretary = login("branch_secretary")
    branch_secretary.get(f"/branches/{world.branch.id}/cobuild/new")
    data = {
        "community": world.community.id,
        "term_start": "2026-01-01",
        "term_end": "2027-12-31",
        "contact_name": "刘洋",
        "contact_phone": "13900000009",
        "branch_commitments": "每月服务一次",
        "community_commitments": "提供场地",
    }
    assert branch_secretary.post(f"/branches/{world.branch.id}/cobuild/new", data).status_code == 303
    twice = branch_secretary.post(f"/branches/{world.branch.id}/cobuild/new", data)
    assert twice.status_code == 422 and "error-summary" in twice.get_data(as_text=True)
    assert login("other_branch_secretary").get(f"/branches/{world.branch.id}/cobuild/new").status_code == 404
    ri = _reportins()[0]
    secretary = login("community_secretary")
    secretary.get("/")
    assert secretary.post(f"/report-ins/{ri.id}/confirm").status_code == 303
    branch_secretary.get(f"/branches/{world.branch.id}/resources/new")
    assert (
        branch_secretary.post(
            f"/branches/{world.branch.id}/resources/new",
            {"community": world.community.id, "title": "法律咨询", "amount": "每月2次"},
        ).status_code
        == 303
    )
    lists = secretary.get(f"/communities/{world.community.id}/lists").get_data(as_text=True)
    assert "法律咨询" in lists
    resource_id = db.session.scalar(select(ReportIn.id))  # noqa: F841 - keep session fresh
    from kmvolunteer.reportin.models import Resource

    resource = db.session.scalar(select(Resource))
    taken = secretary.post(f"/resources/{resource.id}/take")
    assert taken.status_code == 303 and "/projects/" in taken.headers["Location"]
    project = db.session.scalar(select(Project))
    assert secretary.post(f"/projects/{project.id}/start").status_code == 303
    empty = branch_secretary.post(f"/projects/{project.id}/finish", {"outcome": ""})
    assert empty.status_code == 422
    assert branch_secretary.post(f"/projects/{project.id}/finish", {"outcome": "服务60人次"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Project, project.id).status == "done"
    assert login("other_branch_secretary").get(f"/projects/{project.id}").status_code == 404


def test_branch_page_rate_and_remind(login, world):
    make_report_in(world.members["member"], world.community, "confirmed")
    from tests.conftest import PASSWORD
    from tests.factories import add_members

    others = add_members(world.branch, 3, PASSWORD, world.district)
    db.session.commit()
    secretary = login("branch_secretary")
    page = secretary.get(f"/branches/{world.branch.id}/report-ins").get_data(as_text=True)
    assert "25%" in page and "翠湖社区" in page
    assert login("other_branch_secretary").get(f"/branches/{world.branch.id}/report-ins").status_code == 404
    assert secretary.post(f"/branches/{world.branch.id}/remind", {"ids": [others[0].id]}).status_code == 303
    reminders = db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "reportin.reminded"))
    assert reminders == 1
    home = login(others[0].phone).get("/").get_data(as_text=True)
    assert 'id="reminder-notice"' in home
    assert login("district_org").post(f"/branches/{world.branch.id}/remind", {"ids": [others[1].id]}).status_code == 404


def test_roster_export_masks_phones_and_neutralises_formulas(login, world):
    ri = make_report_in(world.members["member"], world.community, "confirmed", skills='=HYPERLINK("x")')
    make_report_in(world.members["member2"], world.community, "confirmed", skills="急救")
    db.session.commit()
    secretary = login("community_secretary")
    html = secretary.get(f"/communities/{world.community.id}/roster").get_data(as_text=True)
    assert "13800000001" in html  # the community secretary of a confirmed report-in sees the full phone
    fragment = secretary.get(f"/communities/{world.community.id}/roster?skill=急救", headers=HX)
    assert "<html" not in fragment.get_data(as_text=True) and "李红" in fragment.get_data(as_text=True)
    assert "张明" not in fragment.get_data(as_text=True)
    response = secretary.get(f"/communities/{world.community.id}/roster?export=xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "姓名" and len(rows) == 3
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["张明"][5].startswith("'=") and by_name["张明"][8] == ri.serial
    csv_text = secretary.get(f"/communities/{world.community.id}/roster?export=csv").get_data(as_text=True)
    assert csv_text.startswith("\ufeff姓名") and "'=HYPERLINK" in csv_text
    assert neutralise("+1") == "'+1" and neutralise("@x") == "'@x" and neutralise("-") == "'-" and neutralise(3) == 3


def test_area_figures_are_read_only_and_scoped(login, world):
    make_report_in(world.members["member"], world.community, "confirmed")
    make_branch_report_in(world.branch, world.community)
    db.session.commit()
    officer = login("subdistrict_officer")
    html = officer.get(f"/areas/{world.subdistrict.id}/report-ins").get_data(as_text=True)
    assert "翠湖社区" in html and "张明" in html
    assert officer.get(f"/areas/{world.district.id}/report-ins").status_code == 404
    assert login("district_org").get(f"/areas/{world.district.id}/report-ins").status_code == 200
    assert login("other_org").get(f"/areas/{world.district.id}/report-ins").status_code == 404
    assert login("community_secretary").get(f"/areas/{world.community.id}/report-ins").status_code == 404
    home = officer.get("/").get_data(as_text=True)
    assert "reportin-home" in home


def test_need_publishing_is_for_the_community_secretary(login, world):
    secretary = login("community_secretary")
    secretary.get(f"/communities/{world.community.id}/needs/new")
    future = (local_today() + timedelta(days=3)).isoformat()
    bad = secretary.post(
        f"/communities/{world.community.id}/needs/new", {"kind": "need", "title": "巡逻", "headcount": "2"}
    )
    assert bad.status_code == 422 and "error-summary" in bad.get_data(as_text=True)
    good = secretary.post(
        f"/communities/{world.community.id}/needs/new",
        {"kind": "post", "title": "巡逻", "headcount": "2", "on_date": future},
    )
    assert good.status_code == 303
    assert login("other_secretary").get(f"/communities/{world.community.id}/needs/new").status_code == 404
    need = db.session.scalar(select(Need))
    assert secretary.post(f"/needs/{need.id}/status", {"status": "closed"}).status_code == 303
    assert login("other_secretary").post(f"/needs/{need.id}/status", {"status": "open"}).status_code == 404


def test_categories_page_is_for_the_city_org_department(login, world):
    city = login("city_org")
    page = city.get("/categories").get_data(as_text=True)
    assert "政策宣传" in page
    assert city.post("/categories", {"name": "助老助残"}).status_code == 303
    dup = city.post("/categories", {"name": "助老助残"})
    assert dup.status_code == 422
    category = db.session.scalar(select(ServiceCategory).where(ServiceCategory.name == "助老助残"))
    assert city.post(f"/categories/{category.id}", {"name": "为老服务"}).status_code == 303
    assert city.post(f"/categories/{category.id}", {"active": "0"}).status_code == 303
    db.session.expire_all()
    category = db.session.get(ServiceCategory, category.id)
    assert category.name == "为老服务" and not category.active
    assert login("district_org").get("/categories").status_code == 404


def test_nav_and_home_sections(login, world):
    make_report_in(world.members["member"], world.community)
    db.session.commit()
    secretary_home = login("community_secretary").get("/").get_data(as_text=True)
    assert f"/communities/{world.community.id}/queue" in secretary_home and ">1</span>" in secretary_home
    member_home = login("13800000001").get("/").get_data(as_text=True)
    assert 'href="/report-in"' in member_home and "home-reportin" in member_home
    branch_home = login("branch_secretary").get("/").get_data(as_text=True)
    assert f"/branches/{world.branch.id}/report-ins" in branch_home


def test_the_member_home_counts_the_needs_still_open_to_take_up(login, world):
    make_report_in(world.members["member"], world.community, status="confirmed")
    make_need(world.community, title="还有名额", headcount=3)
    full = make_need(world.community, title="已满", headcount=1)
    full.claimed = 1  # its one place is taken
    db.session.commit()
    html = login("13800000001").get("/").get_data(as_text=True)
    assert (
        re.search(r'<span class="figure">(\d+)</span><span class="figure-label">我所在社区的开放需求', html).group(1)
        == "1"
    )


def test_the_service_market_lists_open_needs_of_every_community_with_filters(login, world):
    from datetime import timedelta

    from kmvolunteer.core.time import local_today
    from tests.factories import make_need

    soon = local_today() + timedelta(days=3)
    help_old = make_need(world.community, title="助老理发", on_date=soon)
    make_need(world.other_community, title="垃圾分类宣传", on_date=soon)
    full = make_need(world.community, title="已满的岗位", on_date=soon)
    full.claimed = full.headcount
    make_need(world.community, title="过去的活动", on_date=local_today() - timedelta(days=1))
    db.session.commit()
    member = login("13800000001")
    assert "/market" in member.get("/").get_data(as_text=True)
    page = member.get("/market").get_data(as_text=True)
    assert "助老理发" in page and "垃圾分类宣传" in page and "已满的岗位" not in page and "过去的活动" not in page
    page = member.get(f"/market?area={world.district.id}").get_data(as_text=True)
    assert "助老理发" in page and "垃圾分类宣传" not in page
    page = member.get("/market?q=助老").get_data(as_text=True)
    assert f"/needs/{help_old.id}" in page and "垃圾分类宣传" not in page
    assert "垃圾分类宣传" not in member.get("/market?q=%25").get_data(as_text=True)  # a wildcard is a character
    fragment = member.get("/market?q=助老", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="market"') and "<html" not in fragment
    assert login("branch_secretary").get("/market").status_code == 200
    assert login("department_officer").get("/market").status_code == 404


def test_the_market_finds_needs_wanting_a_skill_and_offers_the_member_their_own(login, world):
    from datetime import timedelta

    from kmvolunteer.core.time import local_today
    from tests.factories import make_need, make_report_in

    soon = local_today() + timedelta(days=3)
    clinic = make_need(world.community, title="义诊", on_date=soon)
    clinic.skills = "医疗、护理"
    make_need(world.other_community, title="法律咨询", on_date=soon).skills = "法律"
    report_in = make_report_in(world.members["member"], world.community, "confirmed")
    report_in.skills = "护理、摄影"
    db.session.commit()
    member = login("13800000001")
    page = member.get("/market?skill=护理").get_data(as_text=True)
    assert f"/needs/{clinic.id}" in page and "法律咨询" not in page
    assert "医疗、护理" in page  # the skills it wants, on its card
    assert '<option value="摄影">' in page  # the member's own skills, suggested
    everything = member.get("/market?skill=").get_data(as_text=True)
    assert "义诊" in everything and "法律咨询" in everything
    assert "义诊" not in member.get("/market?skill=%25").get_data(as_text=True)  # a wildcard is a character
    assert "义诊" in member.get("/market?skill=" + "长" * 31).get_data(as_text=True)  # too long: no filter
