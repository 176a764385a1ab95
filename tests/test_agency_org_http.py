"""Issue 16, item 1: the agency's party organization (机关党委) and the work committee (机关工委) — their pages,
the branch pages they read, and how an organization department grants them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from kmvolunteer.auth import services as auth_services
from kmvolunteer.auth.models import Role, RoleGrant
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.extensions import db
from kmvolunteer.reports.models import FeedbackSheet, Report
from kmvolunteer.tallies import services as tallies
from tests.conftest import row_count
from tests.factories import make_record, make_results_readers, service_report_in

PASSWORD = "secret-2026"


@pytest.fixture
def readers(world):
    return make_results_readers(world, PASSWORD)


def _branch_pages(branch_id: int) -> list[str]:
    return [
        f"/branches/{branch_id}/report-ins",
        f"/tallies/branches/{branch_id}",
        f"/reports/branches/{branch_id}/year/2026",
        f"/reports/branches/{branch_id}/reports?year=2026",
        f"/reports/branches/{branch_id}/feedback?year=2026",
    ]


def _forms(response) -> list[str]:
    """Where the page's forms post, but the menu's (log out) and the footer's (language)."""
    found = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', response.get_data(as_text=True))
    return [action for action in found if action not in ("/logout", "/language")]


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def test_the_party_organization_reads_its_own_agency_and_branches_only(login, world, readers):
    b = login("wuhua_party", PASSWORD)
    index = b.get("/agency-party/?year=2026")
    assert (
        index.status_code == 302 and index.headers["Location"] == f"/agency-party/agencies/{world.agency.id}?year=2026"
    )
    page = b.get(f"/agency-party/agencies/{world.agency.id}?year=2026")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for branch in (world.branch, world.branch2):
        for url in _branch_pages(branch.id):
            assert f'href="{url}' in html or f'href="{url.split("?")[0]}?year=2026' in html, url  # linked
            assert b.get(url).status_code == 200, url
    for agency in (readers["sibling"], world.other_agency):
        assert b.get(f"/agency-party/agencies/{agency.id}").status_code == 404
        assert b.get(f"/tallies/agencies/{agency.id}").status_code == 404
    for branch in (readers["sibling_branch"], world.other_branch):
        for url in _branch_pages(branch.id):
            assert b.get(url).status_code == 404, url


def test_the_work_committee_reads_every_agency_of_its_district(login, world, readers):
    service_report_in(world.members["member"], world.community)
    db.session.commit()
    b = login("wuhua_committee", PASSWORD)
    index = b.get("/agency-party/")
    assert index.status_code == 200
    assert world.agency.name in index.get_data(as_text=True) and world.other_agency.name not in index.get_data(
        as_text=True
    )
    # The sibling agency has nobody to count yet: it is listed all the same, with zeros.
    assert re.search(rf"{readers['sibling'].name} 0 0 — 0 ", _text(index))
    for agency in (world.agency, readers["sibling"]):
        assert b.get(f"/agency-party/agencies/{agency.id}").status_code == 200
    assert re.search(
        rf"{readers['sibling_branch'].name} 0 0 — 0 ", _text(b.get(f"/agency-party/agencies/{readers['sibling'].id}"))
    )
    for url in _branch_pages(readers["sibling_branch"].id) + _branch_pages(world.branch2.id):
        assert b.get(url).status_code == 200, url
    assert b.get(f"/agency-party/agencies/{world.other_agency.id}").status_code == 404
    for url in _branch_pages(world.other_branch.id):
        assert b.get(url).status_code == 404, url
    # The city's committee reads the other district's agencies too.
    city = login("city_committee", PASSWORD)
    assert city.get(f"/agency-party/agencies/{world.other_agency.id}").status_code == 200
    assert city.get(f"/branches/{world.other_branch.id}/report-ins").status_code == 200


def test_the_agency_page_shows_the_tallies_figures_of_each_branch(login, world, readers, english):
    from datetime import date

    member = world.members["member"]
    service_report_in(member, world.community)
    make_record(member, world.community, date(2026, 3, 2), half_hours=7)
    db.session.commit()
    rows, total = tallies.agency_rows(2026, world.agency)
    assert total.half_hours == 7 and total.headcount == 2 and total.reported_in == 1
    text = _text(login("wuhua_party", PASSWORD).get(f"/agency-party/agencies/{world.agency.id}?year=2026"))
    first = next(r for r in rows if r.key == world.branch.id)
    # The branch's row as the tallies count it: members, reported in, rate, hours.
    assert f"{world.branch.name} {first.headcount} {first.reported_in} 100.0% 3.5 3.5" in text
    assert "Report-ins Reports and ratings Branch reports Community feedback" in text


def test_read_only_branch_pages_offer_no_action(login, world, readers, english):
    report = Report(
        kind="member",
        member=world.members["member"],
        branch=world.branch,
        community=world.community,
        year=2026,
        period="Y",
        status="submitted",
        body="本年度参加社区服务",
    )
    sheet = FeedbackSheet(community=world.community, branch=world.branch, year=2026, period="Q1", status="sent")
    db.session.add_all([report, sheet])
    db.session.commit()
    b = login("wuhua_party", PASSWORD)
    shown = b.get(f"/reports/{report.id}").get_data(as_text=True)
    assert "本年度参加社区服务" in shown and "/acknowledge/" not in shown
    assert _forms(b.get(f"/reports/feedback/sheets/{sheet.id}")) == []
    response = b.get(f"/branches/{world.branch.id}/report-ins")
    roster = response.get_data(as_text=True)
    assert (
        _forms(response) == []
        and "remind-form" not in roster
        and "/cobuild/new" not in roster
        and world.members["member"].name in roster
    )
    assert _forms(b.get(f"/reports/branches/{world.branch.id}/year/2026")) == []
    assert _forms(b.get(f"/agency-party/agencies/{world.agency.id}")) == []
    # The roster itself (the branch secretary's management page) stays closed.
    assert b.get(f"/branches/{world.branch.id}").status_code == 404


def test_home_page_and_menu_of_the_two_roles(login, world, readers, english):
    for username in ("wuhua_party", "wuhua_committee"):
        html = login(username, PASSWORD).get("/").get_data(as_text=True)
        assert "Agencies' results" in html and 'href="/agency-party/"' in html
        assert world.agency.name in html
        assert "has no role yet" not in html
    assert login("branch_secretary").get("/agency-party/").status_code == 404
    assert 'href="/agency-party/"' not in login("district_org").get("/").get_data(as_text=True)


# ---------------------------------------------------------------- granting the roles


def _grants(user_id: int, role: Role) -> int:
    return db.session.scalar(
        select(func.count(RoleGrant.id)).where(RoleGrant.user_id == user_id, RoleGrant.role == role.value)
    )


def test_the_grant_form_offers_agencies_and_areas_within_the_granters_area(login, world):
    target = world.users["member2"]
    b = login("district_org")
    form = b.get(f"/accounts/{target.id}?role=agency_party_org").get_data(as_text=True)
    assert f'value="agency:{world.agency.id}"' in form and f'value="agency:{world.other_agency.id}"' not in form
    form = b.get(f"/accounts/{target.id}?role=agency_work_committee").get_data(as_text=True)
    assert f'value="area:{world.district.id}"' in form
    assert f'value="area:{world.city.id}"' not in form and f'value="area:{world.other_district.id}"' not in form
    assert f'value="area:{world.subdistrict.id}"' not in form  # a committee is a district's or the city's
    response = b.post(
        f"/accounts/{target.id}/grants", {"role": "agency_party_org", "scope": f"agency:{world.agency.id}"}
    )
    assert response.status_code == 303
    response = b.post(
        f"/accounts/{target.id}/grants", {"role": "agency_work_committee", "scope": f"area:{world.district.id}"}
    )
    assert response.status_code == 303
    grant = db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == target.id, RoleGrant.agency_id.is_not(None)))
    assert grant.role == "agency_party_org" and grant.agency_id == world.agency.id
    assert _grants(target.id, Role.agency_work_committee) == 1


def test_agencies_are_found_by_typing_part_of_their_name(login, world, english):
    b = login("city_org")
    url = f"/accounts/{world.users['member2'].id}?role=agency_party_org"
    found = b.get(f"{url}&q=城市管理").get_data(as_text=True)
    assert "Find an agency by name" in found
    assert f'value="agency:{world.other_agency.id}"' in found and f'value="agency:{world.agency.id}"' not in found
    assert "No agency in your scope has “教育” in its name." in b.get(f"{url}&q=教育").get_data(as_text=True)


@pytest.mark.parametrize(
    "role, scope, message",
    [
        ("agency_party_org", lambda w: f"agency:{w.other_agency.id}", "Not a valid choice"),  # another district's
        ("agency_party_org", lambda w: "", "Choose where the role applies."),  # no agency
        ("agency_party_org", lambda w: f"area:{w.district.id}", "Not a valid choice"),  # not an agency
        ("agency_work_committee", lambda w: f"area:{w.other_district.id}", "Not a valid choice"),
        ("agency_work_committee", lambda w: f"area:{w.city.id}", "Not a valid choice"),  # above the granter
        ("agency_work_committee", lambda w: f"agency:{w.agency.id}", "Not a valid choice"),
    ],
)
def test_a_bad_grant_is_refused_with_a_message_and_changes_nothing(login, world, english, role, scope, message):
    target = world.users["member2"]
    b = login("district_org")
    b.get(f"/accounts/{target.id}")
    before = row_count()
    response = b.post(f"/accounts/{target.id}/grants", {"role": role, "scope": scope(world)})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert row_count() == before


def test_the_grant_service_checks_the_scope_of_each_role(world, english):
    user = world.users["member2"]
    with pytest.raises(ServiceError, match="agency"):
        auth_services.build_grant(Role.agency_party_org, user=user, area=world.district)
    with pytest.raises(ServiceError):
        auth_services.build_grant(Role.agency_work_committee, user=user, area=world.subdistrict)
    world.agency.active = False
    with pytest.raises(ServiceError):
        auth_services.build_grant(Role.agency_party_org, user=user, agency=world.agency)
    db.session.rollback()
    grant = auth_services.build_grant(Role.agency_party_org, user=user, agency=world.other_agency)
    with pytest.raises(ServiceError):  # outside the district's reach
        auth_services.add_grant(user, grant, actor=world.users["district_org"])
    auth_services.add_grant(user, grant, actor=world.users["city_org"])
    assert grant.scope_area().id == world.other_district.id and grant.scope_name == world.other_agency.name


def test_the_agency_page_says_which_branches_fall_short_and_why(login, world, readers, english):
    from kmvolunteer.years.models import YearRule
    from tests.factories import report_in_at

    db.session.add(YearRule(year=2026, area_id=world.city.id, min_half_hours=0, min_activities=0, unit_min_projects=1))
    report_in_at(world.community, branch=world.branch)  # co-builds, but has done no project yet
    db.session.commit()
    text = _text(login("wuhua_party", PASSWORD).get(f"/agency-party/agencies/{world.agency.id}?year=2026"))
    short = text[text.index("Branches that fall short") :]
    assert f"{world.branch.name} 1 0 0 0 of 1 co-building projects done" in short
    assert f"{world.branch2.name} 1 0 0 the branch has not reported in to a community" in short
    assert "named in the bulletin" in short
