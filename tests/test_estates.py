"""Estates and grids (issue 17, item 5): a community's grids and estates, where its members live and the
households they keep in touch with; the rules and their refusals, the pages and their scope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_today
from kmvolunteer.estates import services
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Estate, Grid
from kmvolunteer.org.spots import locate, spot_choices
from kmvolunteer.reportin.models import ReportIn
from tests.factories import make_report_in


@pytest.fixture(autouse=True)
def _english_messages(english):
    """The messages are read in English."""


@pytest.fixture
def town(world):
    """翠湖社区 with two grids and an estate in the first; 张明 reported in there (confirmed)."""
    w = world
    secretary = w.users["community_secretary"].id
    w.grid = services.save_grid(w.community, None, "第一网格", "王网格长", actor_id=secretary)
    w.grid2 = services.save_grid(w.community, None, "第二网格", "", actor_id=secretary)
    w.estate = services.save_estate(w.community, None, "翠湖小区", w.grid.id, "翠湖小区党支部", actor_id=secretary)
    w.report_in = make_report_in(w.members["member"], w.community, "confirmed")
    db.session.commit()
    return w


def _counts() -> tuple[int, int]:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Grid.id))), db.session.scalar(select(func.count(Estate.id)))


def test_the_structure_counts_where_members_live_and_their_contact_households(town):
    w = town
    services.set_home(w.report_in, w.estate.id, "", "3", "每月走访", actor_id=w.users["member"].id)
    db.session.commit()
    assert (w.report_in.estate_id, w.report_in.grid_id) == (w.estate.id, w.grid.id)  # the estate's grid
    rows, per_estate = services.structure(w.community)
    by_name = {row.grid.name: row for row in rows}
    assert (by_name["第一网格"].members, by_name["第一网格"].households) == (1, 3)
    assert [e.name for e in by_name["第一网格"].estates] == ["翠湖小区"] and per_estate[w.estate.id] == 1
    assert (by_name["第二网格"].members, by_name["第二网格"].estates) == (0, [])
    keys = [key for key, _label in spot_choices(w.community.id)]
    assert keys == ["", f"estate:{w.estate.id}", f"grid:{w.grid.id}", f"grid:{w.grid2.id}"]
    assert spot_choices(w.community2.id)[1:] == []


def test_a_need_or_whistle_is_located_in_an_estate_with_its_grid_or_a_grid_of_its_own_community(town):
    w = town
    assert locate(w.community.id, f"estate:{w.estate.id}") == (w.estate, w.grid)
    assert locate(w.community.id, f"grid:{w.grid2.id}") == (None, w.grid2)
    assert locate(w.community.id, "") == (None, None)
    for key in (f"grid:{w.grid.id}", "estate:999999", "grid:x", "house:1", f"estate:{w.estate.id}:1"):
        with pytest.raises(ServiceError, match="Choose one of this community's estates or grids"):
            locate(w.community2.id if key == f"grid:{w.grid.id}" else w.community.id, key)


@pytest.mark.parametrize(
    ("estate", "grid", "households", "note", "message"),
    [
        ("other", "", "0", "", "Choose one of this community's estates"),
        ("", "other", "0", "", "Choose one of this community's grids"),
        ("estate", "grid2", "0", "", "翠湖小区 is in another grid"),
        ("", "", "201", "", "a number from 0 to 200"),
        ("", "", "三", "", "a number from 0 to 200"),
        ("", "", "-1", "", "a number from 0 to 200"),
        ("", "", "0", "x" * 201, "under 200 characters"),
    ],
)
def test_a_bad_home_is_refused_and_nothing_changes(town, estate, grid, households, note, message):
    w = town
    other_grid = services.save_grid(w.community2, None, "文化巷网格", "", actor_id=None)
    other_estate = services.save_estate(w.community2, None, "文化巷小区", None, "", actor_id=None)
    db.session.commit()
    ids = {"estate": w.estate.id, "grid2": w.grid2.id, "other": other_estate.id if estate else other_grid.id, "": ""}
    with pytest.raises(ServiceError, match=message):
        services.set_home(w.report_in, ids[estate], ids[grid], households, note, actor_id=None)
    db.session.rollback()
    ri = db.session.get(ReportIn, w.report_in.id)
    assert (ri.estate_id, ri.grid_id, ri.contact_households) == (None, None, 0)


def test_grids_and_estates_are_named_once_per_community_and_in_its_own_grids(town):
    w = town
    with pytest.raises(ServiceError, match="already has a grid called 第一网格"):
        services.save_grid(w.community, None, "第一网格", "", actor_id=None)
    db.session.rollback()
    with pytest.raises(ServiceError, match="Name the estate"):
        services.save_estate(w.community, None, "  ", None, "", actor_id=None)
    other = services.save_grid(w.community2, None, "文化巷网格", "", actor_id=None)
    with pytest.raises(ServiceError, match="this community's grids"):
        services.save_estate(w.community, None, "新小区", other.id, "", actor_id=None)
    db.session.rollback()
    assert _counts() == (2, 1)
    # The same name in another community is another grid.
    services.save_grid(w.community2, None, "第一网格", "", actor_id=None)
    db.session.commit()
    assert _counts() == (3, 1)


def test_the_secretary_keeps_the_structure_and_the_areas_above_read_it(login, town):
    w = town
    url = f"/communities/{w.community.id}/structure"
    secretary = login("community_secretary")
    page = secretary.get(url).get_data(as_text=True)
    assert "第一网格" in page and "王网格长" in page and "翠湖小区党支部" in page and 'id="add-grid"' in page
    response = secretary.post(f"/communities/{w.community.id}/grids", {"name": "第三网格", "leader": "李四"})
    assert response.status_code == 303 and _counts() == (3, 1)
    refused = secretary.post(f"/communities/{w.community.id}/grids", {"name": "第三网格", "leader": ""})
    assert refused.status_code == 422 and "already has a grid called 第三网格" in refused.get_data(as_text=True)
    edit = {"name": "翠湖花园", "grid_id": str(w.grid2.id), "party_branch": "", "active": "1"}
    assert secretary.post(f"/communities/{w.community.id}/estates/{w.estate.id}", edit).status_code == 303
    db.session.expire_all()
    assert (db.session.get(Estate, w.estate.id).name, db.session.get(Estate, w.estate.id).grid_id) == (
        "翠湖花园",
        w.grid2.id,
    )
    # An estate of this community cannot be changed through another community's address.
    assert secretary.post(f"/communities/{w.community2.id}/estates/{w.estate.id}", edit).status_code == 404
    assert secretary.post(url.replace("structure", "grids"), {"name": "x"}, csrf=False).status_code == 400
    reader = login("subdistrict_officer")
    assert reader.get(url).status_code == 200 and 'id="add-grid"' not in reader.get(url).get_data(as_text=True)
    assert reader.post(f"/communities/{w.community.id}/grids", {"name": "第四网格"}).status_code == 404
    for who in ("other_secretary", "branch_secretary", "13800000002"):
        assert login(who).get(url).status_code == 404
    assert _counts() == (3, 1)


def test_a_member_says_where_they_live(login, town):
    w = town
    member = login("13800000001")
    assert "/report-in/home" in member.get("/report-in").get_data(as_text=True)
    page = member.get("/report-in/home").get_data(as_text=True)
    assert "翠湖小区" in page and "第二网格" in page
    saved = member.post("/report-in/home", {"estate_id": str(w.estate.id), "grid_id": "", "households": "2"})
    assert saved.status_code == 303
    refused = member.post("/report-in/home", {"estate_id": "", "grid_id": "", "households": "9999"})
    assert refused.status_code == 422 and "a number from 0 to 200" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ReportIn, w.report_in.id).contact_households == 2
    # A member with no confirmed report-in has no home to give; nor has a secretary who is no member.
    assert login("13800000002").get("/report-in/home").status_code == 404
    assert login("community_secretary").get("/report-in/home").status_code == 404


def test_a_need_published_in_an_estate_links_to_it_for_those_who_read_the_structure(login, town):
    w = town
    secretary = login("community_secretary")
    url = f"/communities/{w.community.id}/needs/new"
    page = secretary.get(url).get_data(as_text=True)
    assert f'<option value="estate:{w.estate.id}">翠湖小区 (in 第一网格)</option>' in page
    form = {"kind": "need", "title": "楼道清理", "headcount": "2"}
    form.update(on_date=(local_today() + timedelta(days=2)).isoformat(), spot=f"estate:{w.estate.id}")
    response = secretary.post(url, form)
    assert response.status_code == 303
    card = secretary.get(response.headers["Location"]).get_data(as_text=True)
    link = f'href="/communities/{w.community.id}/structure#estate-{w.estate.id}">翠湖小区 (in 第一网格)</a>'
    assert link in card
    assert f'id="estate-{w.estate.id}"' in secretary.get(f"/communities/{w.community.id}/structure").get_data(
        as_text=True
    )
    member_card = login("13800000001").get(response.headers["Location"]).get_data(as_text=True)
    assert '<span class="spot">翠湖小区 (in 第一网格)</span>' in member_card and "/structure" not in member_card


# ---------------------------------------------------------------- 红色物业


SCORES = {"leadership": "5", "members": "5", "mechanism": "4", "cobuilding": "5", "service": "4", "residents": "5"}


def _company(town):
    w = town
    services.save_estate(
        w.community, w.estate, "翠湖小区", w.grid.id, "翠湖小区党支部", property_company="翠湖物业", actor_id=None
    )
    db.session.commit()
    return w.estate.property_company


def test_a_company_is_rated_by_the_community_and_each_estate_branch_and_the_district_lists_its_tier(town):
    from kmvolunteer.estates import red_property
    from kmvolunteer.years.models import YearRule

    w = town
    company = _company(town)
    assert company.name == "翠湖物业" and company.district_id == w.district.id
    year = 2026
    red_property.rate_company(w.community, company.id, year, "", SCORES, "服务到位", actor_id=None)
    red_property.rate_company(w.community, company.id, year, w.estate.id, dict(SCORES, service="2"), "", actor_id=None)
    db.session.commit()
    (row,) = red_property.companies_of(w.community, year)
    assert set(row.ratings) == {None, w.estate.id} and row.ratings[None].total == 28
    # Rated again: changed, not doubled.
    red_property.rate_company(w.community, company.id, year, "", dict(SCORES, leadership="4"), "", actor_id=None)
    db.session.add(YearRule(year=year, area_id=w.city.id, brand_city_min=28, brand_district_min=24))
    db.session.commit()
    (listed,) = red_property.district_list(w.district, year)
    assert listed.ratings == 2 and listed.total == pytest.approx((27 + 26) / 2) and listed.tier == "district"
    assert red_property.district_list(w.other_district, year) == []


@pytest.mark.parametrize(
    ("company", "estate", "scores", "message"),
    [
        ("other", "", SCORES, "serving this community's estates"),
        ("mine", "other", SCORES, "an estate the company serves here"),
        ("mine", "", dict(SCORES, service="6"), "from 1 to 5"),
        ("mine", "", dict(SCORES, service=""), "from 1 to 5"),
    ],
)
def test_bad_ratings_are_refused(town, company, estate, scores, message):
    from kmvolunteer.estates import red_property
    from kmvolunteer.estates.models import PropertyRating

    w = town
    mine = _company(town)
    other_estate = services.save_estate(
        w.community2, None, "文化巷小区", None, "", property_company="别家物业", actor_id=None
    )
    db.session.commit()
    ids = {"mine": mine.id, "other": other_estate.property_company_id}
    estate_id = other_estate.id if estate == "other" else ""
    with pytest.raises(ServiceError, match=message):
        red_property.rate_company(w.community, ids[company], 2026, estate_id, scores, "", actor_id=None)
    db.session.rollback()
    assert db.session.scalar(select(func.count(PropertyRating.id))) == 0


def test_property_pages_and_their_scope(login, town):
    w = town
    company = _company(town)
    secretary = login("community_secretary")
    page = secretary.get(f"/communities/{w.community.id}/property?year=2026").get_data(as_text=True)
    assert "翠湖物业" in page and "翠湖小区党支部" in page
    form = dict(SCORES, company_id=str(company.id), estate_id="", comment="<b>好</b>")
    assert secretary.post(f"/communities/{w.community.id}/property?year=2026", form).status_code == 303
    bad = secretary.post(f"/communities/{w.community.id}/property?year=2026", dict(form, members="9"))
    assert bad.status_code == 422 and "from 1 to 5" in bad.get_data(as_text=True)
    listing = login("district_org").get(f"/property/districts/{w.district.id}?year=2026").get_data(as_text=True)
    assert "翠湖物业" in listing and "28.0" in listing
    assert login("city_org").get(f"/property/districts/{w.district.id}?year=2026").status_code == 200
    assert login("other_org").get(f"/property/districts/{w.district.id}").status_code == 404
    assert login("subdistrict_officer").get(f"/communities/{w.community.id}/property").status_code == 404
    assert login("other_secretary").get(f"/communities/{w.community.id}/property").status_code == 404
    assert secretary.get(f"/communities/{w.community.id}/property?year=2099").status_code == 404
