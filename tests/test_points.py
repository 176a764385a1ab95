"""积分与星级: points are a pure function of the tallies' facts and the year's scheme — equal to a recount from the
raw records whether the year is counted live, kept or closed; the scheme's refusals; the pages' scope, CSRF and
hostile input; the ranking's cost does not grow with its members."""

from __future__ import annotations

import csv
import io
import random
from datetime import date

import pytest
from sqlalchemy import func, select, update

from kmvolunteer.auth.models import Role, RoleGrant
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Department, Member
from kmvolunteer.points import services
from kmvolunteer.points.models import PointScheme
from kmvolunteer.points.services import DEFAULT_VALUES, Scheme, half_points, stars_of
from kmvolunteer.reports.models import Evaluation, Report
from kmvolunteer.service.models import ServiceRecord
from kmvolunteer.tallies import rollup, years
from kmvolunteer.tallies.facts import Scope, is_kept
from kmvolunteer.whistles import services as whistle_services
from kmvolunteer.whistles.services import WhistleData
from tests.conftest import PASSWORD
from tests.factories import make_member, make_record, make_report_in, make_user
from tests.test_query_budgets import statements
from tests.test_tallies import YEAR, _random_city, _recount_member

SCHEME = {
    "per_hour": 7,
    "per_activity": 3,
    "per_report": 11,
    "grade_excellent": 40,
    "grade_good": 25,
    "grade_fair": 9,
    "grade_poor": 1,
    "per_whistle": 13,
    "star_1": 10,
    "star_2": 30,
    "star_3": 60,
    "star_4": 100,
    "star_5": 150,
}


def _member_with_everything(world) -> Member:
    """张明: confirmed in 翠湖社区; 3.5 approved hours in two entries (and one pending), a report handed in
    (and a draft), rated 优秀 (published)."""
    member = world.members["member"]
    make_report_in(member, world.community, "confirmed")
    make_record(member, world.community, date(YEAR, 3, 2), half_hours=4)
    make_record(member, world.community, date(YEAR, 5, 9), half_hours=3)
    make_record(member, world.community, date(YEAR, 6, 1), half_hours=6, status="submitted")
    for period, status in (("Y", "submitted"), ("H1", "draft")):
        db.session.add(
            Report(
                kind="member",
                member=member,
                branch=member.branch,
                community=world.community,
                year=YEAR,
                period=period,
                status=status,
            )
        )
    db.session.add(
        Evaluation(community_id=world.community.id, member=member, year=YEAR, rating="excellent", published=True)
    )
    db.session.flush()
    return member


def test_points_of_a_member_under_the_default_scheme(world):
    member = _member_with_everything(world)
    earned = services.member_points(member, YEAR)
    assert earned.scheme.is_default and earned.scheme.values == DEFAULT_VALUES
    # 3.5 h × 10 + 2 activities × 5 + 1 report × 20 + 优秀 50 = 115
    assert earned.points == 115 and earned.half == 230
    assert earned.stars == 1 and earned.to_next_star == 85
    assert sum(part.half for part in earned.parts) == earned.half
    parts = {part.key: (part.amount, part.points) for part in earned.parts}
    assert parts == {
        "hours": (3.5, 35),
        "activities": (2, 10),
        "reports": (1, 20),
        "rating": ("excellent", 50),
        "whistles": (0, 0),
    }
    # The history lists the records the counters count, and adds up to them.
    found = services.history(member, YEAR, earned.counts)
    assert sum(r.half_hours for r in found.records) == earned.counts.half_hours == 7
    assert len(found.records) == earned.counts.entries and len(found.reports) == earned.counts.reports
    assert found.evaluation.rating == earned.counts.rating


def test_half_an_hour_earns_half_the_points_and_stars_follow_the_thresholds(world):
    scheme = Scheme(YEAR, dict(SCHEME))
    assert half_points(scheme, 1, 0, 0, 0, 0) == 7  # 3.5 points
    assert services.shown(7) == services.shown(7) and str(services.shown(7)) == "3.5"
    assert str(services.shown(8)) == "4"
    assert [stars_of(scheme, 2 * p) for p in (0, 9, 10, 29, 30, 59, 60, 99, 100, 149, 150, 10_000)] == [
        0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5,
    ]  # fmt: skip
    assert stars_of(scheme, 19) == 0 and stars_of(scheme, 20) == 1  # 9.5 points: not yet a star


def _recounted_half(scheme: Scheme, member: Member) -> int:
    """A member's points from the raw records (tests/test_tallies' recount), by the scheme's words."""
    raw = _recount_member(member)
    return (
        raw["hh"] * scheme.per_hour
        + 2 * raw["n"] * scheme.per_activity
        + 2 * raw["reports"] * scheme.per_report
        + 2 * (SCHEME[f"grade_{raw['rating']}"] if raw["rating"] else 0)
    )


def _check_against_recount(world) -> None:
    scheme = services.scheme_for(YEAR)
    members = db.session.scalars(select(Member).where(Member.active.is_(True))).all()
    expected = {m.id: _recounted_half(scheme, m) for m in members}
    assert any(expected.values())
    city = {row.member_id: row for row in services.ranking(YEAR, Scope("employer_area", world.city.path))}
    assert {member_id: row.half for member_id, row in city.items()} == expected
    assert [row.half for row in city.values()] == sorted(expected.values(), reverse=True)
    for member in members:
        assert services.member_points(member, YEAR).half == expected[member.id]
        assert city[member.id].stars == stars_of(scheme, expected[member.id])
    for branch in (world.branch, world.branch2, world.other_branch):
        rows = services.ranking(YEAR, Scope("branch", id=branch.id))
        assert {row.member_id for row in rows} == {m.id for m in members if m.branch_id == branch.id}
        assert all(row.half == expected[row.member_id] for row in rows)


@pytest.mark.parametrize("seed", [3, 17])
def test_points_equal_a_recount_live_kept_and_closed(world, seed):
    _random_city(world, random.Random(seed), 25)
    db.session.add(PointScheme(year=YEAR, **SCHEME))
    db.session.commit()
    _check_against_recount(world)  # counted from the records
    rollup.refresh_year(YEAR)
    db.session.commit()
    assert is_kept(YEAR)
    _check_against_recount(world)  # from the kept facts
    db.session.execute(
        update(ServiceRecord).where(ServiceRecord.status == "submitted").values(status="withdrawn")
    )  # (so the year may close)
    rollup.refresh_year(YEAR)
    years.close_year(YEAR, actor=world.users["city_org"])
    db.session.commit()
    _check_against_recount(world)  # from the closed year's snapshot


def test_ranks_are_shared_by_equal_points(world):
    member, member2 = world.members["member"], world.members["member2"]
    third = make_member("赵云", "13900000009", world.branch)
    make_record(member, world.community, date(YEAR, 4, 1), half_hours=4)
    make_record(third, world.community, date(YEAR, 4, 1), half_hours=4)
    make_record(member2, world.community, date(YEAR, 4, 1), half_hours=2)
    db.session.flush()
    rows = services.ranking(YEAR, Scope("employer_area", world.city.path))
    ranked = [(row.name, row.rank) for row in rows if row.half]
    assert ranked == [("张明", 1), ("赵云", 1), ("李红", 3)]


@pytest.fixture
def officer_member(world):
    """A department officer of 华山街道 who is also a party member on the roster: handles one summons."""
    department = Department(name="华山街道城管中队", area=world.subdistrict)
    db.session.add(department)
    db.session.flush()
    officer = make_user(
        "street_officer",
        PASSWORD,
        world.subdistrict,
        RoleGrant(role=Role.department_officer.value, department=department),
    )
    member = make_member("周强", "13900000010", world.branch, officer)
    categories = whistle_services.ensure_default_categories()
    data = WhistleData(title="路面渗水", problem="路面长期渗水", address="景虹街 12 号", category_id=categories[0].id)
    whistle = whistle_services.blow(world.community, world.users["community_secretary"], data, [department.id], ())
    summons = whistle.summonses[0]
    whistle_services.sign(summons, officer)
    whistle_services.record_contact(summons, officer, "已电话联系社区")
    whistle_services.handle(summons, officer, "已修复路面")
    db.session.flush()
    return member


def test_a_whistle_handled_earns_its_handler_points(world, officer_member):
    from kmvolunteer.core.time import local_today

    year = local_today().year
    earned = services.member_points(officer_member, year)
    assert earned.counts.whistles == 1 and earned.points == DEFAULT_VALUES["per_whistle"]
    assert len(services.history(officer_member, year, earned.counts).summonses) == 1
    rows = services.ranking(year, Scope("branch", id=world.branch.id))
    assert next(r for r in rows if r.member_id == officer_member.id).whistles == 1
    assert year in services.member_years(officer_member)


def _audits() -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "point_scheme.set")
    )


@pytest.mark.parametrize(
    "change, field",
    [
        ({"per_hour": -1}, "per_hour"),
        ({"per_report": None}, "per_report"),
        ({"grade_good": True}, "grade_good"),
        ({"per_whistle": 100_001}, "per_whistle"),
        ({"grade_fair": "5"}, "grade_fair"),
        ({"star_3": 30}, "star_3"),  # equal to star 2
        ({"star_5": 1}, "star_5"),  # below star 4
    ],
)
def test_bad_schemes_are_refused_and_change_nothing(world, english, change, field):
    with pytest.raises(ServiceError) as caught:
        services.set_scheme(YEAR, {**SCHEME, **change}, world.users["city_org"])
    assert caught.value.field == field
    assert db.session.scalar(select(func.count()).select_from(PointScheme)) == 0 and _audits() == 0


def test_only_the_city_sets_a_scheme_and_not_for_a_closed_year(world, english):
    for name in ("district_org", "community_secretary", "member"):
        with pytest.raises(ServiceError, match="Only the city"):
            services.set_scheme(YEAR, SCHEME, world.users[name])
    years.close_year(YEAR, actor=world.users["city_org"])
    with pytest.raises(ServiceError, match="closed"):
        services.set_scheme(YEAR, SCHEME, world.users["city_org"])
    with pytest.raises(ServiceError, match="Choose a year"):
        services.set_scheme(1999, SCHEME, world.users["city_org"])
    assert db.session.scalar(select(func.count()).select_from(PointScheme)) == 0 and _audits() == 0


def test_setting_the_scheme_is_audited_and_changes_the_stars(world):
    member = _member_with_everything(world)
    assert services.member_points(member, YEAR).stars == 1
    services.set_scheme(YEAR, SCHEME, world.users["city_org"])
    # 3.5 × 7 + 2 × 3 + 11 + 40 = 81.5: three stars of 10 / 30 / 60 / 100 / 150
    earned = services.member_points(member, YEAR)
    assert not earned.scheme.is_default and earned.points == 81.5 and earned.stars == 3
    services.set_scheme(YEAR, {**SCHEME, "per_hour": 8}, world.users["city_org"])
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "point_scheme.set")).all()
    assert len(entries) == 2 and entries[0].scope_path == world.city.path


# ---------------------------------------------------------------- HTTP


def test_who_sees_whose_points(world, login):
    member, other = world.members["member"], world.members["other_member"]
    mine = f"/points/members/{member.id}?year={YEAR}"
    theirs = f"/points/members/{other.id}?year={YEAR}"
    branch, other_branch = f"/points/branches/{world.branch.id}", f"/points/branches/{world.other_branch.id}"
    community, other_community = f"/points/areas/{world.community.id}", f"/points/areas/{world.other_community.id}"
    district, other_district = f"/points/areas/{world.district.id}", f"/points/areas/{world.other_district.id}"
    expected = {
        "13800000001": {mine: 200, theirs: 404, branch: 404, community: 404, "/points/scheme": 404},
        "branch_secretary": {mine: 200, theirs: 404, branch: 200, other_branch: 404, community: 404},
        "other_branch_secretary": {mine: 404, branch: 404, other_branch: 200},
        "community_secretary": {mine: 404, branch: 404, community: 200, other_community: 404, district: 404},
        "district_org": {
            mine: 200,
            theirs: 404,
            branch: 200,
            district: 200,
            other_district: 404,
            "/points/scheme": 404,
        },
        "city_org": {theirs: 200, other_branch: 200, other_district: 200, "/points/scheme": 302},
        "department_officer": {mine: 404, branch: 404, community: 404, "/points/": 404},
    }
    for username, pages in expected.items():
        browser = login(username)
        for url, status in pages.items():
            assert browser.get(url).status_code == status, (username, url)


def test_a_member_sees_their_points_stars_and_history(world, login):
    member = _member_with_everything(world)
    db.session.commit()
    browser = login("13800000001")
    assert browser.get("/points/").headers["Location"].endswith(f"/points/members/{member.id}")
    html = browser.get(f"/points/members/{member.id}?year={YEAR}").get_data(as_text=True)
    assert "data-points>115<" in html and 'data-stars="1"' in html
    assert "2026-03-02" in html and "2026-05-09" in html and "2026-06-01" not in html  # approved entries only
    home = browser.get("/").get_data(as_text=True)
    assert "/points/mine" in home and 'id="home-points"' in home
    assert "data-points>" in browser.get("/points/mine", headers={"HX-Request": "true"}).get_data(as_text=True)


def test_the_branch_ranking_prints_and_downloads_the_same_rows(world, login):
    _member_with_everything(world)
    db.session.commit()
    browser = login("branch_secretary")
    base = f"/points/branches/{world.branch.id}?year={YEAR}"
    page = browser.get(base).get_data(as_text=True)
    assert "张明" in page and 'data-stars="1"' in page
    printed = browser.get(base + "&format=print").get_data(as_text=True)
    assert "张明" in printed and "115" in printed
    rows = list(csv.reader(io.StringIO(browser.get(base + "&format=csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[1][:2] == ["1", "张明"] and rows[1][-2:] == ["115", "1"]
    assert browser.get(base + "&format=xlsx").status_code == 200
    assert browser.get(base + "&format=pdf").status_code == 404
    assert browser.get(base + "&table=other&format=csv").status_code == 404
    assert "/points/branches/" in browser.get(f"/branches/{world.branch.id}").get_data(as_text=True)


def test_the_scheme_form_needs_csrf_refuses_hostile_input_and_saves_good_input(world, login, english):
    browser = login("city_org")
    url = f"/points/scheme/{YEAR}"
    page = browser.get(url)
    assert page.status_code == 200 and "default scheme applies" in page.get_data(as_text=True)
    good = {name: str(value) for name, value in SCHEME.items()}
    assert browser.post(url, good, csrf=False).status_code == 400
    hostile = [
        {"per_hour": "-5"},
        {"per_hour": "abc"},
        {"per_hour": "1e9"},
        {"per_hour": "９"},  # a full-width digit
        {"star_2": "5"},
        {"star_5": "99999999"},
        {"grade_good": "<script>"},
    ]
    for change in hostile:
        response = browser.post(url, {**good, **change})
        assert response.status_code == 422, change
        assert "There is a problem" in response.get_data(as_text=True)
        assert db.session.scalar(select(func.count()).select_from(PointScheme)) == 0
    assert browser.post(url, good).status_code == 303
    saved = db.session.scalar(select(PointScheme).where(PointScheme.year == YEAR))
    assert saved is not None and saved.per_hour == 7 and saved.star_5 == 150
    assert browser.post("/points/scheme/1999", good).status_code == 404
    assert login("district_org").post(url, {**good, "per_hour": "99"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(PointScheme, saved.id).per_hour == 7


def test_the_ranking_costs_the_same_statements_for_three_members_or_thirty(app, world, login):
    browser = login("branch_secretary")
    url = f"/points/branches/{world.branch.id}?year={YEAR}"
    counts = []
    for extra in (0, 27):
        for i in range(extra):
            person = make_member(f"成员{i}", f"1370000{i:04d}", world.branch)
            make_record(person, world.community, date(YEAR, 2, 1), half_hours=2)
        db.session.commit()
        with statements(app) as sent:
            assert browser.get(url).status_code == 200
        counts.append(len(sent))
    assert counts[0] == counts[1]


def test_nothing_imports_the_points_but_the_app():
    """The points sit above the tallies: only the app (create_app, the demo city) imports them."""
    from pathlib import Path

    import kmvolunteer

    root = Path(kmvolunteer.__file__).parent
    allowed = {root / "__init__.py", root / "demo.py"}
    for path in root.rglob("*.py"):
        if path.is_relative_to(root / "points") or path in allowed:
            continue
        assert "kmvolunteer.points" not in path.read_text(encoding="utf-8"), path
