"""Issue 16, item 6: 通报 over HTTP — who drafts, who reads a draft (nobody else: 404 on every URL, in every
list, search and home page), who reads a published bulletin, and the refusals."""

from __future__ import annotations

import re
from datetime import date

import pytest

from kmvolunteer.auth.models import Role, RoleGrant
from kmvolunteer.bulletins.models import Bulletin
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from tests.conftest import PASSWORD, row_count
from tests.factories import (
    make_branch_report_in,
    make_record,
    make_results_readers,
    make_rule,
    make_user,
    service_report_in,
)

YEAR = local_today().year
TITLE = "五华区双报到工作情况通报（测试）"
# Everyone of the world, and whether they read 五华区's bulletin once published (the draft: only the first two).
READERS = {
    "city_org": True,  # covers the district
    "district_org": True,  # drafts it
    "wuhua_party": True,  # 五华区民政局's party organization: its agency is ranked
    "guandu_party": False,  # 官渡区城市管理局's: another district's agency
    "wuhua_committee": True,  # the district's work committee
    "branch2_secretary": True,  # 离退休干部党支部 fell short and is named
    "city_committee": True,  # a work committee over the area
    "branch_secretary": False,  # 机关党支部 reported in and met the thresholds: not named
    "other_org": False,
    "other_branch_secretary": False,
    "subdistrict_officer": False,
    "community_secretary": False,
    "13800000001": False,  # a member
}
ORG = ("city_org", "district_org")


@pytest.fixture
def city(world):
    """A rule for the year (half of a branch's members reported in); 机关党支部 reported in with its member,
    离退休干部党支部 (member2) did not; a secretary for the latter; the agencies' party readers (and 官渡区's)."""
    make_rule(world.city, YEAR, min_half_hours=2, min_activities=1, report_required=False, unit_report_in_rate=50)
    service_report_in(world.members["member"], world.community)
    make_branch_report_in(world.branch, world.community)
    make_record(world.members["member"], world.community, date(YEAR, 3, 2), half_hours=8)
    make_user(
        "branch2_secretary", PASSWORD, world.district, RoleGrant(role=Role.branch_secretary.value, branch=world.branch2)
    )
    make_user(
        "guandu_party",
        PASSWORD,
        world.other_district,
        RoleGrant(role=Role.agency_party_org.value, agency=world.other_agency),
    )
    make_results_readers(world, PASSWORD)
    db.session.commit()
    return world


def _draft(login, world, **extra) -> int:
    org = login("district_org")
    data = {"area_id": world.district.id, "year": YEAR, **extra}
    response = org.post("/bulletins/new", data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    bulletin_id = int(response.headers["Location"].rsplit("/", 1)[1])
    text = {"title": TITLE, "issuer": "中共五华区委组织部", "preamble": "现通报如下。", "closing": "请对照整改。"}
    assert org.post(f"/bulletins/{bulletin_id}/text", text).status_code == 303
    return bulletin_id


def _urls(bulletin_id: int) -> list[str]:
    return [f"/bulletins/{bulletin_id}", f"/bulletins/{bulletin_id}/print"]


def _lists(browser) -> str:
    return "".join(
        browser.get(url).get_data(as_text=True)
        for url in ("/bulletins/", f"/bulletins/?q={TITLE[:5]}", "/bulletins/?q=TB", "/")
    )


def test_a_draft_is_seen_by_the_organization_departments_covering_it_only(city, login):
    bulletin_id = _draft(login, city)
    for username in READERS:
        browser = login(username)
        for url in _urls(bulletin_id):
            status = browser.get(url).status_code
            assert status == (200 if username in ORG else 404), (username, url, status)
        listed = _lists(browser)
        assert (TITLE in listed) is (username in ORG), username
    anonymous = login("13800000001").client.application.test_client()
    for url in _urls(bulletin_id):
        response = anonymous.get(url)
        assert response.status_code == 302 and TITLE not in response.get_data(as_text=True)


def test_a_published_bulletin_is_seen_by_the_units_in_scope(city, login, english):
    bulletin_id = _draft(login, city)
    response = login("district_org").post(f"/bulletins/{bulletin_id}/publish")
    assert response.status_code == 303
    bulletin = db.session.get(Bulletin, bulletin_id)
    assert bulletin.status == "published" and bulletin.serial == f"TB{YEAR}-{city.district.id}-001"
    for username, reads in READERS.items():
        browser = login(username)
        for url in _urls(bulletin_id):
            assert browser.get(url).status_code == (200 if reads else 404), (username, url)
        assert (TITLE in _lists(browser)) is reads, username
    page = login("wuhua_party").get(f"/bulletins/{bulletin_id}").get_data(as_text=True)
    assert "五华区 2026 No. 1".replace("2026", str(YEAR)) in page and "离退休干部党支部" in page
    assert 'action="/bulletins/' not in page  # a reader gets no form
    search = login("wuhua_committee").get(f"/bulletins/?q={bulletin.serial}").get_data(as_text=True)
    assert TITLE in search
    html = login("wuhua_party").get("/").get_data(as_text=True)
    assert 'href="/bulletins/"' in html and TITLE in html  # the menu and the home page


def test_the_print_view_is_an_a4_sheet_with_number_issuer_and_tables(city, login, english):
    bulletin_id = _draft(login, city)
    org = login("district_org")
    draft = org.get(f"/bulletins/{bulletin_id}/print").get_data(as_text=True)
    assert "DRAFT" in draft
    org.post(f"/bulletins/{bulletin_id}/publish")
    sheet = org.get(f"/bulletins/{bulletin_id}/print").get_data(as_text=True)
    assert "print-sheet.css" in sheet and "DRAFT" not in sheet
    for text in (TITLE, "中共五华区委组织部", f"TB{YEAR}-{city.district.id}-001", "Units ranked by report-in rate",
                 "Units ranked by approved hours per member", "Branches that fell short", "五华区民政局"):  # fmt: skip
        assert text in sheet, text


def test_a_published_bulletin_changes_no_more(city, login, english):
    bulletin_id = _draft(login, city)
    org = login("district_org")
    assert org.post(f"/bulletins/{bulletin_id}/publish").status_code == 303
    before = row_count()
    for url, data in [
        (f"/bulletins/{bulletin_id}/publish", {}),
        (f"/bulletins/{bulletin_id}/text", {"title": "改", "issuer": "改", "preamble": "", "closing": ""}),
        (f"/bulletins/{bulletin_id}/refresh", {"name_members": "y"}),
        (f"/bulletins/{bulletin_id}/examples", {"name": "某单位", "text": "好"}),
        (f"/bulletins/{bulletin_id}/delete", {}),
    ]:
        response = org.post(url, data)
        assert response.status_code == 422, (url, response.status_code)
        text = response.get_data(as_text=True)
        assert "already Published" in text or "can no longer be changed" in text, url
    assert row_count() == before
    assert db.session.get(Bulletin, bulletin_id).title == TITLE


def test_bad_input_is_refused_with_a_message_and_changes_nothing(city, login, english):
    org = login("district_org")
    before = row_count()
    for data, message in [
        ({"area_id": city.district.id, "year": YEAR + 1}, "has not begun"),
        ({"area_id": city.district.id, "year": YEAR - 1}, "No year rule covers"),
        ({"area_id": city.district.id, "year": "abc"}, "Enter the year"),
        ({"area_id": city.district.id, "year": "1999"}, "Between 2000 and 2100"),
    ]:
        response = org.post("/bulletins/new", data)
        assert response.status_code == 422 and message in response.get_data(as_text=True), data
    assert row_count() == before
    # Areas out of scope are not found.
    for area in (city.other_district, city.city):
        assert org.post("/bulletins/new", {"area_id": area.id, "year": YEAR}).status_code == 404
    assert login("wuhua_party").post("/bulletins/new", {"area_id": city.district.id, "year": YEAR}).status_code == 404
    assert row_count() == before
    bulletin_id = _draft(login, city)
    before = row_count()
    response = org.post(f"/bulletins/{bulletin_id}/text", {"title": "长" * 101, "issuer": "组织部"})
    assert response.status_code == 422 and "under 100 characters" in response.get_data(as_text=True)
    response = org.post(f"/bulletins/{bulletin_id}/examples", {"branch_id": city.other_branch.id, "text": "好"})
    assert response.status_code == 422 and "Choose a branch of an agency of" in response.get_data(as_text=True)
    assert org.post(f"/bulletins/{bulletin_id}/publish", {}, csrf=False).status_code == 400
    assert row_count() == before
    other = login("other_org")
    for url in ("text", "refresh", "examples", "examples/remove", "publish", "delete"):
        assert other.post(f"/bulletins/{bulletin_id}/{url}", {"title": "x"}).status_code == 404
    assert row_count() == before


def test_the_draft_is_edited_with_examples_then_published_and_deleted_drafts_vanish(city, login, english):
    bulletin_id = _draft(login, city)
    org = login("district_org")
    page = org.get(f"/bulletins/{bulletin_id}?agency={city.agency.id}").get_data(as_text=True)
    assert re.search(rf'<option value="{city.branch2.id}">离退休干部党支部</option>', page)
    for example in (
        {"agency_id": city.agency.id, "branch_id": city.branch.id, "text": "带头认领社区岗位"},
        {"name": "翠湖社区志愿服务队", "text": "常态化开展巡逻"},
    ):
        assert org.post(f"/bulletins/{bulletin_id}/examples", example).status_code == 303
    bulletin = db.session.get(Bulletin, bulletin_id)
    assert [e.name for e in bulletin.examples] == ["五华区民政局 机关党支部", "翠湖社区志愿服务队"]
    first = bulletin.examples[0].id
    assert org.post(f"/bulletins/{bulletin_id}/examples/remove", {"example_id": first}).status_code == 303
    assert org.post(f"/bulletins/{bulletin_id}/refresh", {"name_members": "y"}).status_code == 303
    db.session.expire_all()
    assert any(row.member == "李红" for row in db.session.get(Bulletin, bulletin_id).shortfalls)
    # The named branch's secretary sees it once published; a deleted draft is gone.
    second = _draft(login, city)
    assert org.post(f"/bulletins/{second}/delete").status_code == 303
    assert org.get(f"/bulletins/{second}").status_code == 404
    assert org.post(f"/bulletins/{bulletin_id}/publish").status_code == 303
    assert login("branch2_secretary").get(f"/bulletins/{bulletin_id}").status_code == 200
