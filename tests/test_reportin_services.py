"""双报到 services without HTTP: the state machine, every rule, capacity under a thread race."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from kmvolunteer.auth.policy import can, scoped
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Estate, Grid, Member
from kmvolunteer.reportin import services
from kmvolunteer.reportin.models import (
    Claim,
    Need,
    Project,
    ReportIn,
    Resource,
    ServiceCategory,
)
from tests.concurrency import run_together
from tests.conftest import PASSWORD
from tests.factories import (
    add_members,
    make_branch_report_in,
    make_need,
    make_report_in,
)


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the messages, written in English."""


def _audits(action: str) -> int:
    return db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == action)) or 0


def _count(model) -> int:
    return db.session.scalar(select(func.count(model.id))) or 0


# --------------------------------------------------------------------------- categories


def test_default_categories_are_created_once_and_lazily(world):
    assert services.active_categories()[0].name == "政策宣传"  # created lazily on an empty table
    assert [c.name for c in services.ensure_default_categories()] == list(services.DEFAULT_CATEGORIES)
    assert _count(ServiceCategory) == 7


def test_categories_can_be_added_renamed_and_deactivated(world):
    services.ensure_default_categories()
    added = services.add_category("助老助残")
    with pytest.raises(ServiceError, match="already"):
        services.add_category("助老助残")
    with pytest.raises(ServiceError):
        services.add_category("   ")
    services.rename_category(added, "为老服务")
    with pytest.raises(ServiceError):
        services.rename_category(added, "政策宣传")
    services.set_category_active(added, False)
    assert "为老服务" not in [c.name for c in services.active_categories()]
    assert _audits("category.added") == _audits("category.renamed") == _audits("category.deactivated") == 1


# --------------------------------------------------------------------------- member report-ins


def test_member_reports_in_and_is_confirmed_with_a_serial(world):
    member = world.members["member"]
    categories = services.ensure_default_categories()
    ri = services.report_in_member(member, world.community, skills="法律咨询，急救", category_ids=[categories[0].id])
    db.session.commit()
    assert ri.status == "pending" and ri.skills == "法律咨询、急救" and ri.categories == [categories[0]]
    assert services.active_member_report_in(member) == ri
    assert services.confirmed_community_of(member) is None
    services.confirm_report_in(ri, actor_id=world.users["community_secretary"].id)
    db.session.commit()
    assert ri.status == "confirmed" and re.fullmatch(r"BD\d{4}-\d{6}", ri.serial)
    assert ri.serial.endswith(f"{ri.id:06d}") and ri.decided_by_id == world.users["community_secretary"].id
    assert services.confirmed_community_of(member) == world.community
    assert _audits("reportin.submitted") == 1 and _audits("reportin.confirmed") == 1


def test_report_in_to_something_not_a_community_changes_nothing(world):
    member = world.members["member"]
    for place in (world.subdistrict, world.district, world.city, None):
        with pytest.raises(ServiceError, match="community"):
            services.report_in_member(member, place)
    db.session.rollback()
    assert _count(ReportIn) == 0 and _count(AuditEntry) == 0


def test_a_second_active_report_in_is_refused(world):
    member = world.members["member"]
    services.report_in_member(member, world.community)
    db.session.commit()
    with pytest.raises(ServiceError, match="waiting for confirmation"):
        services.report_in_member(member, world.community2)
    db.session.rollback()
    ri = services.active_member_report_in(member)
    services.confirm_report_in(ri)
    db.session.commit()
    with pytest.raises(ServiceError, match="already reported in"):
        services.report_in_member(member, world.community2)  # not moving
    db.session.rollback()
    assert _count(ReportIn) == 1


def test_the_partial_unique_index_stops_two_active_report_ins(world):
    member = world.members["member"]
    make_report_in(member, world.community)
    db.session.commit()
    db.session.add(ReportIn(kind="member", member=member, community=world.community2, status="pending"))
    with pytest.raises(Exception):  # noqa: B017 - IntegrityError from the database
        db.session.flush()
    db.session.rollback()


def test_moving_house_ends_the_old_report_in_and_keeps_history(world):
    member = world.members["member"]
    old = make_report_in(member, world.community, "confirmed")
    db.session.commit()
    with pytest.raises(ServiceError, match="already reported in"):
        services.report_in_member(member, world.community, moving=True)
    db.session.rollback()
    new = services.report_in_member(member, world.other_community, moving=True)
    db.session.commit()
    db.session.refresh(old)
    assert old.status == "ended" and old.ended_at is not None and old.reason
    assert new.status == "pending" and services.active_member_report_in(member) == new
    assert [r.id for r in services.member_history(member)] == [new.id, old.id]
    assert _audits("reportin.ended") == 1


def test_reject_needs_a_reason_and_the_member_sees_it(world):
    ri = make_report_in(world.members["member"], world.community)
    db.session.commit()
    with pytest.raises(ServiceError, match="reason"):
        services.reject_report_in(ri, "  ")
    services.reject_report_in(ri, "不住本社区")
    db.session.commit()
    assert ri.status == "rejected" and ri.reason == "不住本社区" and ri.serial is None
    assert services.latest_member_report_in(world.members["member"]).reason == "不住本社区"
    with pytest.raises(ServiceError, match="already"):
        services.confirm_report_in(ri)
    db.session.rollback()
    # After a rejection the member can report in again.
    assert services.report_in_member(world.members["member"], world.community2).status == "pending"


def test_withdraw_and_end_follow_the_state_machine(world):
    ri = make_report_in(world.members["member"], world.community)
    db.session.commit()
    with pytest.raises(ServiceError):
        services.end_report_in(ri, reason="搬家")
    services.withdraw_report_in(ri)
    db.session.commit()
    assert ri.status == "withdrawn"
    with pytest.raises(ServiceError):
        services.withdraw_report_in(ri)
    with pytest.raises(ServiceError):
        services.confirm_report_in(ri)
    db.session.rollback()
    confirmed = make_report_in(world.members["member2"], world.community, "confirmed")
    db.session.commit()
    with pytest.raises(ServiceError, match="reason"):
        services.end_report_in(confirmed, reason="")
    services.end_report_in(confirmed, reason="搬离本社区")
    db.session.commit()
    assert confirmed.status == "ended"


def test_a_stale_decision_loses_to_the_first(world):
    """Two secretaries: the second one's confirm (or reject) changes nothing and says why."""
    ri = make_report_in(world.members["member"], world.community)
    db.session.commit()
    db.session.execute(ReportIn.__table__.update().where(ReportIn.id == ri.id).values(status="rejected", reason="x"))
    with pytest.raises(ServiceError, match="already"):
        services.confirm_report_in(ri)
    db.session.rollback()


def test_bulk_confirm_skips_what_is_already_decided(world):
    first = make_report_in(world.members["member"], world.community)
    second = make_report_in(world.members["member2"], world.community, "rejected")
    db.session.commit()
    done, skipped = services.confirm_many([first, second])
    db.session.commit()
    assert done == 1 and skipped == ["李红"] and first.status == "confirmed"


# --------------------------------------------------------------------------- branch report-ins


def _agreement(**overrides) -> dict:
    values = dict(
        term_start=date(2026, 1, 1),
        term_end=date(2027, 12, 31),
        contact_name="刘洋",
        contact_phone="13900000009",
        branch_commitments="每月开展一次志愿服务",
        community_commitments="提供场地",
    )
    values.update(overrides)
    return values


def test_branch_reports_in_and_may_cobuild_with_several_communities(world):
    first = services.report_in_branch(world.branch, world.community, **_agreement())
    second = services.report_in_branch(world.branch, world.other_community, **_agreement())
    db.session.commit()
    assert first.kind == second.kind == "branch" and first.status == "pending"
    with pytest.raises(ServiceError, match="already co-builds"):
        services.report_in_branch(world.branch, world.community, **_agreement())
    db.session.rollback()
    services.confirm_report_in(first)
    db.session.commit()
    assert first.serial and services.branch_cobuilds(world.branch) == [world.community]
    with pytest.raises(ServiceError, match="already co-builds"):
        services.report_in_branch(world.branch, world.community, **_agreement())
    db.session.rollback()
    assert _count(ReportIn) == 2


def test_branch_agreement_is_checked(world):
    with pytest.raises(ServiceError, match="end after"):
        services.report_in_branch(
            world.branch, world.community, **_agreement(term_start=date(2027, 1, 1), term_end=date(2026, 1, 1))
        )
    with pytest.raises(ServiceError):
        services.report_in_branch(world.branch, world.community, **_agreement(branch_commitments=" "))
    with pytest.raises(ServiceError, match="community"):
        services.report_in_branch(world.branch, world.subdistrict, **_agreement())
    db.session.rollback()
    assert _count(ReportIn) == 0


# --------------------------------------------------------------------------- needs and claims


def _need_data(**overrides) -> services.NeedData:
    values = dict(
        kind="need",
        title="垃圾分类宣传",
        category_id=None,
        description="",
        place="翠湖公园",
        on_date=local_today() + timedelta(days=3),
        start_time=None,
        end_time=None,
        recurrence="",
        headcount=2,
    )
    values.update(overrides)
    return services.NeedData(**values)


def test_publish_need_rules(world):
    need = services.publish_need(world.community, _need_data())
    assert need.status == "open" and need.claimed == 0
    services.publish_need(world.community, _need_data(on_date=None, recurrence="每周六 9:00–11:00", kind="post"))
    for bad in (
        dict(title=" "),
        dict(headcount=0),
        dict(on_date=None),
        dict(on_date=local_today() - timedelta(days=1)),
        dict(kind="other"),
    ):
        with pytest.raises(ServiceError):
            services.publish_need(world.community, _need_data(**bad))
    with pytest.raises(ServiceError):
        services.publish_need(world.subdistrict, _need_data())
    db.session.commit()
    assert _count(Need) == 2 and _audits("need.published") == 2


def test_a_need_carries_its_estate_with_the_grid_and_the_skills_it_wants(world):
    grid = Grid(community_id=world.community.id, name="第一网格")
    estate = Estate(community_id=world.community.id, name="翠湖小区", grid=grid)
    far = Estate(community_id=world.community2.id, name="文化巷小区")
    db.session.add_all([grid, estate, far])
    db.session.flush()
    need = services.publish_need(
        world.community, _need_data(spot=f"estate:{estate.id}", skills="医疗，法律、 医疗 ,  心理疏导")
    )
    assert (need.estate, need.grid, need.skills) == (estate, grid, "医疗、法律、心理疏导")
    with pytest.raises(ServiceError, match="this community's estates or grids") as refusal:
        services.publish_need(world.community, _need_data(spot=f"estate:{far.id}"))
    assert refusal.value.field == "spot"
    with pytest.raises(ServiceError, match="at most 255"):
        services.publish_need(world.community, _need_data(skills="长" * 256))


def test_member_claims_and_withdraws(world):
    member = world.members["member"]
    need = make_need(world.community, headcount=2)
    db.session.commit()
    with pytest.raises(ServiceError, match="reported in"):
        services.claim_need(need, member=member)
    db.session.rollback()
    make_report_in(member, world.community, "confirmed")
    db.session.commit()
    claim = services.claim_need(need, member=member)
    db.session.commit()
    assert need.claimed == 1 and need.places_left == 1
    with pytest.raises(ServiceError, match="already claimed"):
        services.claim_need(need, member=member)
    db.session.rollback()
    services.withdraw_claim(claim)
    db.session.commit()
    assert claim.status == "withdrawn" and need.claimed == 0
    with pytest.raises(ServiceError, match="already withdrawn"):
        services.withdraw_claim(claim)
    db.session.rollback()
    assert db.session.get(Need, need.id).claimed == 0
    assert _audits("claim.created") == 1 and _audits("claim.withdrawn") == 1


def test_full_closed_and_past_needs_cannot_be_claimed(world):
    member, member2 = world.members["member"], world.members["member2"]
    make_report_in(member, world.community, "confirmed")
    make_report_in(member2, world.community, "confirmed")
    full = make_need(world.community, headcount=1)
    closed = make_need(world.community, status="closed")
    past = make_need(world.community, on_date=local_today() - timedelta(days=1))
    db.session.commit()
    services.claim_need(full, member=member)
    db.session.commit()
    for need, message in ((full, "All places"), (closed, "closed"), (past, "passed")):
        with pytest.raises(ServiceError, match=message):
            services.claim_need(need, member=member2)
        db.session.rollback()
    assert db.session.scalar(select(func.count(Claim.id))) == 1
    assert db.session.get(Need, full.id).claimed == 1


def test_a_claim_cannot_be_withdrawn_once_the_day_has_come(world):
    member = world.members["member"]
    make_report_in(member, world.community, "confirmed")
    need = make_need(world.community, on_date=local_today() + timedelta(days=1))
    db.session.commit()
    claim = services.claim_need(need, member=member)
    db.session.commit()
    need.on_date = local_today()
    db.session.commit()
    with pytest.raises(ServiceError, match="started"):
        services.withdraw_claim(claim)
    db.session.rollback()
    assert db.session.get(Need, need.id).claimed == 1


def test_closing_a_need_is_guarded(world):
    need = make_need(world.community)
    db.session.commit()
    services.set_need_status(need, "closed")
    with pytest.raises(ServiceError):
        services.set_need_status(need, "closed")
    services.set_need_status(need, "open")
    db.session.commit()
    assert need.status == "open"


def test_branch_claim_makes_a_project_and_withdrawing_cancels_it(world):
    need = make_need(world.community)
    db.session.commit()
    with pytest.raises(ServiceError, match="co-building"):
        services.claim_need(need, branch=world.branch)
    db.session.rollback()
    make_branch_report_in(world.branch, world.community)
    db.session.commit()
    claim = services.claim_need(need, branch=world.branch)
    db.session.commit()
    project = db.session.scalar(select(Project).where(Project.need_id == need.id))
    assert project.branch_id == world.branch.id and project.status == "open" and project.title == need.title
    services.withdraw_claim(claim)
    db.session.commit()
    db.session.refresh(project)
    assert project.status == "cancelled"


def test_resource_taken_up_becomes_a_project_that_runs_to_done(world):
    with pytest.raises(ServiceError, match="co-building"):
        services.offer_resource(
            world.branch, world.community, title="法律咨询", category_id=None, description="", amount="每月2次"
        )
    db.session.rollback()
    make_branch_report_in(world.branch, world.community)
    resource = services.offer_resource(
        world.branch, world.community, title="法律咨询", category_id=None, description="律师进社区", amount="每月2次"
    )
    db.session.commit()
    project = services.take_up_resource(resource)
    db.session.commit()
    assert resource.status == "taken" and project.resource_id == resource.id and project.status == "open"
    with pytest.raises(ServiceError):
        services.take_up_resource(resource)
    with pytest.raises(ServiceError):
        services.withdraw_resource(resource)
    db.session.rollback()
    with pytest.raises(ServiceError):
        services.finish_project(project, "完成")  # not started yet
    services.start_project(project)
    with pytest.raises(ServiceError, match="outcome"):
        services.finish_project(project, "")
    services.finish_project(project, "服务居民120人次")
    db.session.commit()
    assert project.status == "done" and project.outcome == "服务居民120人次" and project.done_at
    assert _audits("project.done") == 1 and _count(Resource) == 1


# --------------------------------------------------------------------------- roster, rates, reminders, policy


def test_roster_filters_by_branch_category_and_skill(world):
    cats = services.ensure_default_categories()
    a = make_report_in(world.members["member"], world.community, "confirmed", skills="法律咨询")
    a.categories = [cats[0]]
    make_report_in(world.members["member2"], world.community, "confirmed", skills="急救")
    make_report_in(world.members["other_member"], world.community, "pending")
    db.session.commit()

    def names(**kw) -> list[str]:
        return [ri.member.name for ri in db.session.scalars(services.roster_query(world.community, **kw))]

    assert names() == sorted(["张明", "李红"])
    assert names(branch_id=world.branch.id) == ["张明"]
    assert names(category_id=cats[0].id) == ["张明"]
    assert names(skill="急救") == ["李红"]
    rows = list(
        services.roster_rows(
            world.community, services.roster_query(world.community, skill="法律"), show_phone=lambda m: False
        )
    )
    assert rows[0][:2] == ("张明", "138****0001") and rows[0][-1] == a.serial


def test_report_in_rates_for_branch_and_area(world):
    make_report_in(world.members["member"], world.community, "confirmed")
    add_members(world.branch, 3, PASSWORD, world.district)
    db.session.commit()
    rate = services.branch_rate(world.branch)
    assert (rate.members, rate.confirmed, rate.pending, rate.percent) == (4, 1, 0, 25)
    area = services.area_rate(world.district)
    assert (area.members, area.confirmed) == (5, 1)
    figures = services.area_figures(world.subdistrict)
    assert figures.communities == 2 and figures.confirmed == 1
    assert services.area_figures(world.other_district).confirmed == 0


def test_remind_only_those_not_reported_in(world):
    others = add_members(world.branch, 2, PASSWORD, world.district)
    make_report_in(world.members["member"], world.community, "pending")
    db.session.commit()
    with pytest.raises(ServiceError):
        services.remind_members(world.branch, [world.members["member"]])
    assert services.remind_members(world.branch, others + [world.members["member2"]]) == 2  # member2: other branch
    db.session.commit()
    assert services.latest_reminder(others[0]) is not None
    assert services.latest_reminder(world.members["member"]) is None
    make_report_in(others[0], world.community)
    db.session.commit()
    assert services.latest_reminder(others[0]) is None  # reported in since


def test_policy_for_report_ins(world):
    u, m = world.users, world.members
    ri = make_report_in(m["member"], world.community)
    other = make_report_in(m["other_member"], world.other_community)
    db.session.commit()
    assert can(u["community_secretary"], "reportin.decide", ri)
    assert not can(u["community_secretary"], "reportin.decide", other)
    assert not can(u["subdistrict_officer"], "reportin.decide", ri)
    assert can(u["subdistrict_officer"], "reportin.view", ri)
    assert can(u["branch_secretary"], "reportin.view", ri)
    assert not can(u["other_branch_secretary"], "reportin.view", ri)
    assert can(u["member"], "reportin.withdraw", ri) and not can(u["member2"], "reportin.withdraw", ri)
    # The community secretary sees the full phone only once the report-in is confirmed.
    assert not can(u["community_secretary"], "member.phone", m["member"])
    services.confirm_report_in(ri)
    db.session.commit()
    assert can(u["community_secretary"], "member.phone", m["member"])
    assert not can(u["other_secretary"], "member.phone", m["member"])
    assert can(u["city_org"], "category.manage") and not can(u["district_org"], "category.manage")
    visible = db.session.scalars(scoped(select(ReportIn), u["community_secretary"], "reportin.list")).all()
    assert visible == [ri]
    by_branch = db.session.scalars(scoped(select(ReportIn), u["branch_secretary"], "reportin.list")).all()
    assert by_branch == [ri]
    assert len(db.session.scalars(scoped(select(ReportIn), u["city_org"], "reportin.list")).all()) == 2


# --------------------------------------------------------------------------- races


def _race(app, worker, n: int) -> list[str]:
    """``worker`` from n threads at once, each committing its own change or telling why it was refused."""

    def attempt(index: int) -> str:
        try:
            outcome = worker(index)
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            outcome = "refused: " + exc.message
        return outcome

    return run_together(app, n, attempt)


@pytest.mark.committing
def test_claim_race_never_overbooks(app, world):
    members = add_members(world.branch, 8, PASSWORD, world.district)
    for member in members:
        make_report_in(member, world.community, "confirmed")
    need = make_need(world.community, headcount=3)
    db.session.commit()
    need_id, member_ids = need.id, [m.id for m in members]

    def worker(index: int) -> str:
        services.claim_need(db.session.get(Need, need_id), member=db.session.get(Member, member_ids[index]))
        return "claimed"

    results = _race(app, worker, 8)
    db.session.expire_all()
    assert results.count("claimed") == 3, results
    assert all("All places" in r for r in results if r != "claimed"), results
    assert db.session.get(Need, need_id).claimed == 3
    assert (
        db.session.scalar(select(func.count(Claim.id)).where(Claim.need_id == need_id, Claim.status == "active")) == 3
    )


@pytest.mark.committing
def test_confirm_race_has_one_winner(app, world):
    ri = make_report_in(world.members["member"], world.community)
    db.session.commit()
    ri_id = ri.id

    def worker(index: int) -> str:
        services.confirm_report_in(db.session.get(ReportIn, ri_id))
        return "confirmed"

    results = _race(app, worker, 4)
    assert results.count("confirmed") == 1, results
    assert _audits("reportin.confirmed") == 1


# --------------------------------------------------------------------------- demo data


def test_generated_demo_city_reports_most_members_in_quickly(app, ctx):
    from kmvolunteer import demo

    started = time.monotonic()
    demo.seed(generated=demo.Sizes(communities=30, branches=60, members=3000), echo=lambda *_: None)
    elapsed = time.monotonic() - started
    members = db.session.scalar(select(func.count(Member.id)))
    member_ris = db.session.scalar(select(func.count(ReportIn.id)).where(ReportIn.kind == "member"))
    assert 0.85 * members <= member_ris <= 0.95 * members
    assert elapsed < 60
    demo_member = db.session.scalar(select(Member).join(Member.user).where(Member.user.has(username="member")))
    assert services.confirmed_community_of(demo_member).name == "翠湖社区"
    # The partial unique index holds: one active report-in per member.
    per_member = db.session.execute(
        select(ReportIn.member_id, func.count())
        .where(ReportIn.kind == "member", ReportIn.status.in_(("pending", "confirmed")))
        .group_by(ReportIn.member_id)
        .having(func.count() > 1)
    ).all()
    assert per_member == []


def test_child_figures_agree_with_counting_each_child(world):
    make_report_in(world.members["member"], world.community, "confirmed")
    make_report_in(world.members["member2"], world.community2, "pending")
    make_report_in(world.members["other_member"], world.other_community, "confirmed")
    make_branch_report_in(world.branch, world.community)
    make_need(world.community)
    add_members(world.other_branch, 2, PASSWORD, world.other_district)
    db.session.commit()
    for area in (world.city, world.district, world.subdistrict):
        for child, rate, figures in services.child_figures(area):
            assert rate == services.area_rate(child), child.name
            assert figures == services.area_figures(child), child.name
