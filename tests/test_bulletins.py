"""Issue 16, item 6: 通报 — drafting from the tallies' figures (ranked, recounted), frozen figures and their
refresh, publishing (numbered, immutable) and the refusals, without HTTP."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from kmvolunteer.bulletins import services
from kmvolunteer.bulletins.models import Bulletin, BulletinUnit
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Branch
from kmvolunteer.tallies import services as tallies
from tests.conftest import PASSWORD, row_count
from tests.factories import add_members, make_area, make_record, make_rule, service_report_in
from tests.test_query_budgets import statements

YEAR = local_today().year


def _agency(world, name: str, members: int, prefix: str) -> tuple[Agency, list]:
    agency = Agency(name=name, area=world.district)
    branch = Branch(name="机关党支部", agency=agency)
    db.session.add_all([agency, branch])
    db.session.flush()
    return agency, add_members(branch, members, PASSWORD, world.district, prefix=prefix)


@pytest.fixture
def city(world):
    """A rule for the year (1 h and 1 activity; half of a branch's members reported in); three agencies in
    五华区: 民政局 (2 members, one reported in with 4 h), 卫健局 and 教育局 (2 members each, nobody reported in:
    the same figures, so they share a rank)."""
    make_rule(world.city, YEAR, min_half_hours=2, min_activities=1, report_required=False, unit_report_in_rate=50)
    member = world.members["member"]
    service_report_in(member, world.community)
    make_record(member, world.community, date(YEAR, 3, 2), half_hours=8)
    world.extra["health"] = _agency(world, "五华区卫生健康局", 2, "1371000")
    world.extra["education"] = _agency(world, "五华区教育体育局", 2, "1372000")
    db.session.flush()
    return world


def _units(bulletin: Bulletin) -> dict[str, BulletinUnit]:
    db.session.expire(bulletin, ["units", "shortfalls"])
    return {unit.name: unit for unit in bulletin.units}


def test_the_draft_ranks_the_agencies_with_the_tallies_figures(city, ctx):
    bulletin = services.draft(city.district, YEAR, city.users["district_org"], name_members=False)
    units = _units(bulletin)
    # Recount: every agency's figures are the tallies' own.
    counted = {row.name: row for row in tallies.agencies_under(YEAR, city.district)}
    assert set(units) == set(counted) == {"五华区民政局", "五华区卫生健康局", "五华区教育体育局"}
    for name, unit in units.items():
        row = counted[name]
        assert (unit.headcount, unit.reported_in, unit.half_hours) == (row.headcount, row.reported_in, row.half_hours)
    assert units["五华区民政局"].rate_rank == 1 and units["五华区民政局"].hours_rank == 1
    # Equal figures share a rank, and the next rank is skipped (1, 2, 2).
    assert units["五华区卫生健康局"].rate_rank == units["五华区教育体育局"].rate_rank == 2
    assert units["五华区卫生健康局"].hours_rank == units["五华区教育体育局"].hours_rank == 2
    assert [unit.name for unit in bulletin.units][0] == "五华区民政局"
    assert bulletin.status == "draft" and bulletin.number is None and bulletin.serial is None
    # The branches that fell short are those of the tallies' shortfall list, with the standing's reasons.
    short = {(row.agency, row.branch): row.standing.why() for row in tallies.branch_shortfalls(YEAR, city.district)}
    named = {(row.agency, row.branch): row.why() for row in bulletin.shortfalls if row.kind == "branch"}
    assert named == short and len(named) == 4  # no branch has reported in to a community
    assert all(row.kind == "branch" for row in bulletin.shortfalls)  # members only when asked for


def test_members_who_fell_short_are_named_only_when_asked_and_the_rule_says_so(city, ctx):
    bulletin = services.draft(city.district, YEAR, city.users["district_org"], name_members=True)
    named = {row.member: row.why() for row in bulletin.shortfalls if row.kind == "member"}
    expected = {
        row.name: row.standing.why()
        for row in tallies.member_rows(YEAR, employer_area=city.district, shortfall_only=True)
    }
    assert named == expected and "李红" in named and "张明" not in named
    assert "not reported in" in named["李红"] or "未报到" in named["李红"]
    # A rule that does not name those who fall short: nobody is named, neither members nor branches.
    from kmvolunteer.years.models import YearRule

    rule = db.session.scalar(select(YearRule).where(YearRule.year == YEAR, YearRule.area_id == city.city.id))
    rule.name_in_bulletin = False
    services.refresh(bulletin, city.users["district_org"], name_members=True)
    db.session.expire(bulletin, ["shortfalls"])
    assert bulletin.shortfalls == []


def test_figures_are_frozen_until_the_draft_is_refreshed(city, ctx):
    bulletin = services.draft(city.district, YEAR, city.users["district_org"], name_members=False)
    health, members = city.extra["health"]
    service_report_in(members[0], city.community)
    make_record(members[0], city.community, date(YEAR, 4, 1), half_hours=20)
    db.session.flush()
    assert _units(bulletin)["五华区卫生健康局"].reported_in == 0  # frozen
    services.refresh(bulletin, city.users["district_org"], name_members=False)
    units = _units(bulletin)
    assert units["五华区卫生健康局"].reported_in == 1 and units["五华区卫生健康局"].half_hours == 20
    assert units["五华区卫生健康局"].hours_rank == 1 and units["五华区民政局"].hours_rank == 2
    assert units["五华区民政局"].rate_rank == units["五华区卫生健康局"].rate_rank == 1  # 1 of 2 each
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "bulletin.refreshed")) == 1


def test_publishing_numbers_the_bulletin_and_nothing_changes_it_after(city, ctx):
    org = city.users["district_org"]
    first = services.draft(city.district, YEAR, org, name_members=False)
    services.add_example(first, org, text="主动认领社区岗位", branch_id=city.branch.id)
    services.publish(first, org)
    assert (first.status, first.number, first.serial) == ("published", 1, f"TB{YEAR}-{city.district.id}-001")
    second = services.draft(city.district, YEAR, org, name_members=False)
    services.publish(second, org)
    assert second.number == 2
    db.session.flush()
    before = row_count()
    frozen = (first.title, first.preamble, [e.text for e in first.examples], [u.half_hours for u in first.units])
    refusals = [
        lambda: services.publish(first, org),
        lambda: services.edit_text(first, org, services.Text("新标题", "组织部", "", "")),
        lambda: services.refresh(first, org, name_members=True),
        lambda: services.add_example(first, org, text="新的典型", name="某单位"),
        lambda: services.remove_example(first, org, first.examples[0].id),
        lambda: services.delete_draft(first, org),
    ]
    for refusal in refusals:
        with pytest.raises(ServiceError):
            refusal()
    db.session.expire_all()
    assert row_count() == before
    assert (first.title, first.preamble, [e.text for e in first.examples], [u.half_hours for u in first.units]) == (
        frozen
    )
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "bulletin.published")) == 2


def test_a_bulletin_is_refused_for_an_empty_future_or_unruled_period(city, ctx):
    org = city.users["city_org"]
    empty = make_area("盘龙区", "district", city.city)
    cases = [
        (city.district, YEAR + 1, "year"),  # not yet begun
        (city.district, YEAR - 1, "year"),  # no rule covers it
        (city.community, YEAR, "area_id"),  # not a city or district
        (empty, YEAR, "area_id"),  # no agency, nobody to count
    ]
    db.session.flush()
    before = row_count()
    for area, year, field in cases:
        with pytest.raises(ServiceError) as refused:
            services.draft(area, year, org, name_members=False)
        assert refused.value.field == field, (area.name, year)
    assert row_count() == before
    empty.active = False
    with pytest.raises(ServiceError):
        services.draft(empty, YEAR, org, name_members=False)


def test_text_and_examples_are_checked(city, ctx):
    org = city.users["district_org"]
    bulletin = services.draft(city.district, YEAR, org, name_members=False)
    for text, field in [
        (services.Text("", "组织部", "", ""), "title"),
        (services.Text("标" * 101, "组织部", "", ""), "title"),
        (services.Text("标题", "组织部", "序" * 4001, ""), "preamble"),
        (services.Text("标题", "", "", ""), "issuer"),
    ]:
        with pytest.raises(ServiceError) as refused:
            services.edit_text(bulletin, org, text)
        assert refused.value.field == field
    with pytest.raises(ServiceError):  # a branch of another district
        services.add_example(bulletin, org, text="好", branch_id=city.other_branch.id)
    with pytest.raises(ServiceError):
        services.add_example(bulletin, org, text="好", agency_id=city.other_agency.id)
    with pytest.raises(ServiceError):
        services.add_example(bulletin, org, text="", name="某单位")
    example = services.add_example(bulletin, org, text="带头认领岗位", agency_id=city.agency.id)
    assert example.name == "五华区民政局"
    services.edit_text(bulletin, org, services.Text("  2026年度通报 ", "中共五华区委组织部", "序言", "结语"))
    assert bulletin.title == "2026年度通报"


def test_a_draft_is_generated_in_a_few_queries_whatever_the_number_of_agencies(app, city):
    for index in range(12):
        _agency(city, f"五华区测试局{index}", 1, f"13730{index:02d}")
    db.session.flush()
    with statements(app) as sent:
        services.draft(city.district, YEAR, city.users["district_org"], name_members=True)
    assert len(sent) <= 30, "\n".join(line[:100].replace("\n", " ") for line in sent)


def test_the_list_shows_exactly_the_bulletins_each_user_may_open(world, ctx):
    """scoped(…, "bulletin.list") and can(…, "bulletin.view") agree, for every user and every kind of bulletin."""
    from kmvolunteer.auth.policy import can, scoped
    from tests.factories import make_bulletin, make_results_readers

    readers = make_results_readers(world, PASSWORD)
    bulletins = [
        make_bulletin(world.district, world.agency, world.branch2),
        make_bulletin(world.district, world.agency, world.branch2, status="draft"),
        make_bulletin(world.other_district, world.other_agency, world.other_branch),
        make_bulletin(world.city, readers["sibling"], world.branch, number=1),
    ]
    users = [*world.users.values(), readers["party"], readers["committee"], readers["city_committee"]]
    seen = {}
    for user in users:
        listed = set(db.session.scalars(scoped(select(Bulletin.id), user, "bulletin.list")))
        allowed = {b.id for b in bulletins if can(user, "bulletin.view", b)}
        assert listed == allowed, user.username
        seen[user.username] = allowed
    wuhua, draft, guandu, city_wide = (b.id for b in bulletins)
    assert seen["district_org"] == {wuhua, draft, city_wide} and seen["city_org"] == {wuhua, draft, guandu, city_wide}
    assert seen["other_org"] == {guandu, city_wide}
    assert seen["wuhua_party"] == {wuhua, city_wide}  # its agency is in 五华区, and in the city
    assert seen["wuhua_committee"] == {wuhua, city_wide} and seen["city_committee"] == {wuhua, guandu, city_wide}
    assert seen["branch_secretary"] == {city_wide}  # 机关党支部 is named in the city's bulletin only
    for username in ("13800000001", "community_secretary", "subdistrict_officer", "department_officer"):
        assert seen[username] == set(), username
