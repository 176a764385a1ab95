"""双报告 services without HTTP: year rules and their inheritance, every report state, acknowledgements,
branch reports, evaluations, feedback sheets, the year view, overdue lists, races, XLSX export."""

from __future__ import annotations

import threading
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Member
from kmvolunteer.reports import services
from kmvolunteer.reports.models import Evaluation, FeedbackSheet, Report
from kmvolunteer.years import rules as rulebook
from kmvolunteer.years.rules import RuleValues, effective_rule
from tests.factories import (
    make_member,
    make_record,
    make_report_in,
    make_rule,
    report_in_at,
)


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the messages, written in English."""


YEAR = 2025
TODAY = date(2026, 2, 10)  # after the year's due dates (Jan 15 / Jan 31)


def values(**changes) -> RuleValues:
    base = dict(
        min_half_hours=40,
        min_activities=4,
        report_required=True,
        report_period="year",
        report_due=date(YEAR + 1, 1, 15),
        evaluation_due=date(YEAR + 1, 1, 31),
        feedback_frequency="quarter",
    )
    base.update(changes)
    return RuleValues(**base)


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.fixture
def reported(world):
    """张明 (branch) reported in to 翠湖社区 with two approved records and a pending one in 2025; city rule."""
    member = world.members["member"]
    make_rule(world.city, YEAR)
    report_in_at(world.community, member=member, decided_at=datetime(2024, 5, 1))
    make_record(member, world.community, date(YEAR, 3, 2), 4)
    make_record(member, world.community, date(YEAR, 9, 9), 3)
    make_record(member, world.community, date(YEAR, 9, 10), 6, status="submitted")
    db.session.commit()
    return member


# ---------------------------------------------------------------- year rules


def test_no_rule_means_none_not_a_guess(world):
    assert effective_rule(YEAR, world.community) is None
    assert effective_rule(YEAR, world.city) is None


def test_district_rule_overrides_the_city_for_its_area_only(world):
    city_rule = rulebook.set_rule(world.city, YEAR, values())
    assert effective_rule(YEAR, world.community) == city_rule
    assert effective_rule(YEAR, world.subdistrict) == city_rule
    district_rule = rulebook.set_rule(world.district, YEAR, values(min_half_hours=60, min_activities=6))
    db.session.commit()
    assert effective_rule(YEAR, world.community) == district_rule
    assert effective_rule(YEAR, world.district) == district_rule
    assert effective_rule(YEAR, world.other_community) == city_rule  # another district inherits the city's
    assert effective_rule(YEAR + 1, world.community) is None  # rules are per year
    assert audit_actions().count("year_rule.set") == 2


@pytest.mark.parametrize(
    "looser",
    [
        {"min_half_hours": 39},
        {"min_activities": 3},
        {"report_required": False},
        {"report_due": date(YEAR + 1, 1, 16)},
        {"report_due": None},
        {"evaluation_due": date(YEAR + 1, 2, 1)},
        {"feedback_frequency": "half"},
    ],
)
def test_a_district_may_not_loosen_the_city_rule(world, looser):
    rulebook.set_rule(world.city, YEAR, values())
    db.session.commit()
    with pytest.raises(ServiceError, match="tighten"):
        rulebook.set_rule(world.district, YEAR, values(**looser))
    db.session.rollback()
    assert effective_rule(YEAR, world.community).area_id == world.city.id


def test_a_district_may_tighten_every_point(world):
    rulebook.set_rule(world.city, YEAR, values(report_required=False))
    strict = values(
        min_half_hours=41,
        min_activities=5,
        report_required=True,
        report_period="half",
        report_due=date(YEAR + 1, 1, 1),
        evaluation_due=date(YEAR + 1, 1, 20),
    )
    rule = rulebook.set_rule(world.district, YEAR, strict)
    assert rule.report_period == "half" and rule.min_half_hours == 41


def test_the_city_may_not_make_a_district_rule_looser_than_its_own(world):
    rulebook.set_rule(world.city, YEAR, values())
    rulebook.set_rule(world.district, YEAR, values(min_half_hours=50))
    db.session.commit()
    with pytest.raises(ServiceError, match="五华区"):
        rulebook.set_rule(world.city, YEAR, values(min_half_hours=60))
    db.session.rollback()
    rulebook.set_rule(world.city, YEAR, values(min_half_hours=50))  # equal is fine


def test_rule_values_are_checked(world):
    with pytest.raises(ServiceError):
        rulebook.set_rule(world.city, YEAR, values(report_due=date(YEAR + 3, 1, 1)))
    with pytest.raises(ServiceError):
        rulebook.set_rule(world.city, YEAR, values(min_half_hours=-2))
    with pytest.raises(ServiceError):
        rulebook.set_rule(world.community, YEAR, values())
    db.session.rollback()
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 0


def test_a_district_rule_can_be_removed_but_not_the_city_rule(world):
    city_rule = rulebook.set_rule(world.city, YEAR, values())
    rule = rulebook.set_rule(world.district, YEAR, values(min_activities=9))
    rulebook.delete_rule(rule)
    assert effective_rule(YEAR, world.community) == city_rule
    with pytest.raises(ServiceError):
        rulebook.delete_rule(city_rule)


def test_periods_and_due_dates():
    assert rulebook.period_bounds(2025, "Q1") == (date(2025, 1, 1), date(2025, 3, 31))
    assert rulebook.period_bounds(2025, "Q4") == (date(2025, 10, 1), date(2025, 12, 31))
    assert rulebook.period_bounds(2025, "H2") == (date(2025, 7, 1), date(2025, 12, 31))

    class Rule:
        year = 2025
        report_due = date(2026, 1, 15)

    assert rulebook.report_due(Rule, "Y") == date(2026, 1, 15)
    assert rulebook.report_due(Rule, "H1") == date(2025, 7, 15)


# ---------------------------------------------------------------- member reports


def test_member_report_draft_submitted_acknowledged_by_both_sides(world, reported):
    draft = services.save_member_draft(reported, YEAR, "Y", "初稿", actor_id=reported.user_id, today=TODAY)
    assert draft.status == "draft" and draft.body == "初稿" and draft.summary == ""
    report = services.submit_member_report(reported, YEAR, "Y", "全年在翠湖社区服务。", today=TODAY)
    db.session.commit()
    assert report.id == draft.id and report.status == "submitted"
    assert report.community_id == world.community.id and report.branch_id == world.branch.id
    assert report.summary_half_hours == 7 and report.summary_entries == 2  # the pending entry does not count
    assert [e["half_hours"] for e in report.summary_data["entries"]] == [4, 3]

    # The summary is frozen: later approvals do not change it.
    make_record(reported, world.community, date(YEAR, 11, 1), 8)
    db.session.commit()
    db.session.refresh(report)
    assert report.summary_half_hours == 7

    services.acknowledge(report, "community", "辛苦了")
    assert report.status == "submitted" and report.community_comment == "辛苦了"
    services.acknowledge(report, "branch", "")
    db.session.commit()
    assert report.status == "acknowledged" and report.branch_ack_at and report.community_ack_at
    assert {
        "report.created",
        "report.draft_saved",
        "report.submitted",
        "report.acknowledged_by_community",
        "report.acknowledged_by_branch",
    } <= set(audit_actions())


def test_submitting_twice_and_editing_after_submit_are_refused(world, reported):
    services.submit_member_report(reported, YEAR, "Y", "报告", today=TODAY)
    db.session.commit()
    with pytest.raises(ServiceError, match="already submitted"):
        services.submit_member_report(reported, YEAR, "Y", "又一次", today=TODAY)
    with pytest.raises(ServiceError, match="already submitted"):
        services.save_member_draft(reported, YEAR, "Y", "改一改", today=TODAY)
    db.session.rollback()
    assert db.session.scalar(select(Report.body)) == "报告"


def test_acknowledging_twice_is_refused_and_changes_nothing(world, reported):
    report = services.submit_member_report(reported, YEAR, "Y", "报告", today=TODAY)
    services.acknowledge(report, "community", "第一次")
    db.session.commit()
    with pytest.raises(ServiceError, match="already acknowledged"):
        services.acknowledge(report, "community", "第二次")
    db.session.rollback()
    db.session.refresh(report)
    assert report.community_comment == "第一次"


def test_a_draft_cannot_be_acknowledged(world, reported):
    draft = services.save_member_draft(reported, YEAR, "Y", "初稿", today=TODAY)
    with pytest.raises(ServiceError, match="not been submitted"):
        services.acknowledge(draft, "community", "")


def test_report_rules(world, reported):
    make_rule(world.city, TODAY.year)
    db.session.commit()
    with pytest.raises(ServiceError, match="not started"):
        services.submit_member_report(reported, TODAY.year, "Y", "x", today=date(TODAY.year - 1, 12, 31))
    with pytest.raises(ServiceError, match="No rule"):
        services.submit_member_report(reported, 2019, "Y", "x", today=TODAY)
    with pytest.raises(ServiceError, match="asks for reports"):
        services.submit_member_report(reported, YEAR, "H1", "x", today=TODAY)
    with pytest.raises(ServiceError) as blank:
        services.submit_member_report(reported, YEAR, "Y", "   ", today=TODAY)
    assert blank.value.field == "body"
    lonely = world.members["member2"]  # no report-in
    with pytest.raises(ServiceError, match="Report in"):
        services.submit_member_report(lonely, YEAR, "Y", "x", today=TODAY)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Report.id))) == 0


def test_half_year_periods_from_a_district_rule(world, reported):
    rulebook.set_rule(world.district, YEAR, values(report_period="half"))
    db.session.commit()
    rule, periods = services.member_periods(reported, YEAR, today=date(YEAR, 5, 1))
    assert rule.area_id == world.district.id
    assert [p.code for p in periods] == ["H1", "H2"] and periods[0].started and not periods[1].started
    with pytest.raises(ServiceError, match="not started"):
        services.submit_member_report(reported, YEAR, "H2", "x", today=date(YEAR, 5, 1))
    report = services.submit_member_report(reported, YEAR, "H1", "上半年", today=date(YEAR, 7, 2))
    assert report.summary_half_hours == 4  # only the March entry is in H1


@pytest.mark.committing
def test_two_submits_at_once_one_wins(app, world, reported):
    barrier = threading.Barrier(2, timeout=20)
    results: list[str] = []
    member_id = reported.id

    def submit() -> None:
        with app.app_context():
            member = db.session.get(Member, member_id)
            barrier.wait()
            try:
                services.submit_member_report(member, YEAR, "Y", "同时提交", today=TODAY)
                db.session.commit()
                results.append("ok")
            except ServiceError:
                db.session.rollback()
                results.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["ok", "refused"]
    assert db.session.scalar(select(func.count(Report.id))) == 1


@pytest.mark.committing
def test_two_acknowledgements_at_once_one_wins(app, world, reported):
    report = services.submit_member_report(reported, YEAR, "Y", "报告", today=TODAY)
    db.session.commit()
    barrier = threading.Barrier(2, timeout=20)
    results: list[str] = []
    report_id = report.id

    def ack(comment: str) -> None:
        with app.app_context():
            row = db.session.get(Report, report_id)
            barrier.wait()
            try:
                services.acknowledge(row, "community", comment)
                db.session.commit()
                results.append(comment)
            except ServiceError:
                db.session.rollback()
                results.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=ack, args=(c,)) for c in ("甲", "乙")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("refused") == 1
    db.session.refresh(report)
    assert report.community_comment in results
    acks = db.session.scalar(
        select(func.count(AuditEntry.id)).where(AuditEntry.action == "report.acknowledged_by_community")
    )
    assert acks == 1


# ---------------------------------------------------------------- branch reports


def test_branch_report_to_a_co_building_community(world, reported):
    with pytest.raises(ServiceError, match="does not co-build"):
        services.submit_branch_report(world.branch, world.community, YEAR, "共建", today=TODAY)
    db.session.rollback()
    report_in_at(world.community, branch=world.branch)
    db.session.commit()
    with pytest.raises(ServiceError, match="not started"):
        services.submit_branch_report(world.branch, world.community, TODAY.year + 1, "共建", today=TODAY)
    report = services.submit_branch_report(world.branch, world.community, YEAR, "共建工作总结", today=TODAY)
    assert report.kind == "branch" and report.status == "submitted"
    data = report.summary_data
    assert data["members_reported_in"] == 1 and data["half_hours"] == 7 and data["entry_count"] == 2
    with pytest.raises(ServiceError):
        services.acknowledge(report, "branch", "")
    services.acknowledge(report, "community", "感谢共建")
    assert report.status == "acknowledged"


# ---------------------------------------------------------------- evaluations


def test_rating_rules(world, reported):
    community = world.community
    with pytest.raises(ServiceError, match="not reported in"):
        services.set_rating(community, world.members["member2"], YEAR, "good", today=TODAY)
    with pytest.raises(ServiceError):
        services.set_rating(community, reported, YEAR, "superb", today=TODAY)
    evaluation, changed = services.set_rating(community, reported, YEAR, "excellent", "很好", today=TODAY)
    assert changed and evaluation.rating == "excellent" and not evaluation.published
    _same, changed = services.set_rating(community, reported, YEAR, "excellent", "很好", today=TODAY)
    assert not changed
    # Rating a member of another community is refused even by name.
    with pytest.raises(ServiceError, match="not reported in"):
        services.set_rating(world.other_community, reported, YEAR, "good", today=TODAY)


def test_no_service_needs_a_reason_above_fair(world):
    idle = make_member("赵六", "13800000009", world.branch)
    report_in_at(world.community, member=idle, decided_at=datetime(YEAR, 2, 1))
    db.session.commit()
    with pytest.raises(ServiceError) as refused:
        services.set_rating(world.community, idle, YEAR, "good", today=TODAY)
    assert refused.value.field == "reason"
    db.session.rollback()
    evaluation, _changed = services.set_rating(world.community, idle, YEAR, "fair", today=TODAY)
    assert evaluation.rating == "fair"
    evaluation, _changed = services.set_rating(
        world.community, idle, YEAR, "good", reason="在本单位承担防疫值守", today=TODAY
    )
    assert evaluation.rating == "good" and evaluation.reason == "在本单位承担防疫值守"


def test_bulk_then_publish_then_change_only_with_a_reason(world, reported):
    idle = make_member("赵六", "13800000009", world.branch)
    report_in_at(world.community, member=idle, decided_at=datetime(YEAR, 2, 1))
    db.session.commit()
    rated, skipped = services.rate_unrated(world.community, YEAR, "good", today=TODAY)
    assert [m.id for m in rated] == [reported.id] and [m.id for m in skipped] == [idle.id]
    services.set_rating(world.community, idle, YEAR, "fair", today=TODAY)
    assert services.publish_evaluations(world.community, YEAR) == 2
    db.session.commit()
    with pytest.raises(ServiceError, match="nothing new to publish"):
        services.publish_evaluations(world.community, YEAR)
    with pytest.raises(ServiceError, match="published") as refused:
        services.set_rating(world.community, reported, YEAR, "excellent", today=TODAY)
    assert refused.value.field == "reason"
    db.session.rollback()
    evaluation, changed = services.set_rating(
        world.community, reported, YEAR, "excellent", reason="补充年底表现", today=TODAY
    )
    db.session.commit()
    assert changed and evaluation.rating == "excellent" and evaluation.published
    assert evaluation.change_reason == "补充年底表现"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "evaluation.changed_after_publishing"))
    assert entry.before_data()["rating"] == "good" and entry.after_data()["change_reason"] == "补充年底表现"


@pytest.mark.committing
def test_two_ratings_of_one_member_at_once_make_one_row(app, world, reported):
    barrier = threading.Barrier(2, timeout=20)
    results: list[str] = []
    member_id, community_id = reported.id, world.community.id

    def rate(rating: str) -> None:
        with app.app_context():
            member = db.session.get(Member, member_id)
            community = db.session.get(Area, community_id)
            barrier.wait()
            try:
                services.set_rating(community, member, YEAR, rating, today=TODAY)
                db.session.commit()
                results.append(rating)
            except ServiceError:
                db.session.rollback()
                results.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=rate, args=(r,)) for r in ("good", "excellent")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert db.session.scalar(select(func.count(Evaluation.id))) == 1
    assert db.session.scalar(select(Evaluation.rating)) in results


# ---------------------------------------------------------------- feedback sheets


def test_feedback_sheet_generate_edit_send(world, reported):
    with pytest.raises(ServiceError, match="No rule"):
        services.generate_sheet(world.community, world.branch, YEAR - 1, "Q1", today=TODAY)
    with pytest.raises(ServiceError, match="asks for feedback"):
        services.generate_sheet(world.community, world.branch, YEAR, "H1", today=TODAY)
    with pytest.raises(ServiceError, match="not started"):
        services.generate_sheet(world.community, world.branch, YEAR, "Q4", today=date(YEAR, 9, 1))
    with pytest.raises(ServiceError, match="No member"):
        services.generate_sheet(world.community, world.branch2, YEAR, "Q1", today=TODAY)
    db.session.rollback()
    sheet = services.generate_sheet(world.community, world.branch, YEAR, "Q3", today=TODAY)
    db.session.commit()
    assert sheet.status == "draft" and [
        (ln.member_id, ln.approved_half_hours, ln.approved_entries) for ln in sheet.lines
    ] == [(reported.id, 3, 1)]
    with pytest.raises(ServiceError, match="already exists"):
        services.generate_sheet(world.community, world.branch, YEAR, "Q3", today=TODAY)
    db.session.rollback()
    services.save_sheet(sheet, "总体良好", {sheet.lines[0].id: "服务积极"})
    make_record(reported, world.community, date(YEAR, 9, 20), 2)  # approved after the draft was made
    services.send_sheet(sheet)
    db.session.commit()
    assert sheet.status == "sent" and sheet.lines[0].remark == "服务积极" and sheet.lines[0].approved_half_hours == 5
    with pytest.raises(ServiceError, match="already been sent"):
        services.save_sheet(sheet, "改", {})
    with pytest.raises(ServiceError, match="already been sent"):
        services.send_sheet(sheet)
    db.session.rollback()
    assert db.session.scalar(select(FeedbackSheet.note)) == "总体良好"
    assert {"feedback.generated", "feedback.edited", "feedback.sent"} <= set(audit_actions())


# ---------------------------------------------------------------- year view and overdue


def test_year_view_rows_show_only_published_ratings_and_why_a_member_falls_short(world, reported):
    services.set_rating(world.community, reported, YEAR, "good", "认真", today=TODAY)
    db.session.commit()
    rows = {row[0]: row for row in services.year_rows(world.branch, YEAR, today=TODAY)}
    row = rows["张明"]
    assert row[1] == "翠湖社区" and row[2] == 3.5 and row[3] == 2
    assert row[5] == "—" and row[6] == ""  # rated but not published: the branch does not see it
    assert row[7] == "No" and "16.5 h short" in row[8] and "2 activities short" in row[8]
    assert "report missing" in row[8]
    assert row[9:] == ("Marked", "Not eligible")  # the rule's consequences of falling short
    services.publish_evaluations(world.community, YEAR)
    services.submit_member_report(reported, YEAR, "Y", "报告", today=TODAY)
    for month in (4, 5, 6, 7, 8, 10):
        make_record(reported, world.community, date(YEAR, month, 3), 6)
    db.session.commit()
    row = next(r for r in services.year_rows(world.branch, YEAR, today=TODAY) if r[0] == "张明")
    assert row[5] == "Satisfactory" and row[6] == "认真" and row[7] == "Yes" and row[8] == ""
    assert row[9:] == ("—", "Eligible")
    none_rows = list(services.year_rows(world.branch, 2019, today=TODAY))
    assert none_rows[0][7] == "—" and "No rule" in none_rows[0][8]


def test_year_view_says_a_pending_report_in_is_waiting_not_missing(world, english):
    waiting = make_member("周八", "13800000011", world.branch)
    make_report_in(waiting, world.community, "pending")
    db.session.commit()
    row = next(r for r in services.year_rows(world.branch, YEAR, today=TODAY) if r[0] == "周八")
    assert row[1] == "翠湖社区 (waiting for confirmation)"


def test_overdue_for_the_member_the_community_and_the_areas_above(world, reported):
    other = make_member("周七", "13800000010", world.branch2)
    report_in_at(world.community, member=other, decided_at=datetime(YEAR, 6, 1))
    db.session.commit()
    assert [(p.year, p.code) for p in services.member_overdue(reported, TODAY)] == [(YEAR, "Y")]
    assert services.member_overdue(reported, date(YEAR + 1, 1, 10)) == []  # not yet due
    rows = {r.community.name: r for r in services.area_overdue(world.district, YEAR, TODAY)}
    cuihu = rows["翠湖社区"]
    assert (cuihu.members, cuihu.reports_overdue, cuihu.unrated, cuihu.evaluations_overdue) == (2, 2, 2, True)
    assert rows["文化巷社区"].members == 0 and not rows["文化巷社区"].evaluations_overdue
    assert [r.year for r in services.community_owes(world.community, TODAY)] == [YEAR]

    services.submit_member_report(reported, YEAR, "Y", "报告", today=TODAY)
    services.set_rating(world.community, reported, YEAR, "good", today=TODAY)
    services.set_rating(world.community, other, YEAR, "fair", today=TODAY)
    db.session.commit()
    cuihu = next(r for r in services.area_overdue(world.subdistrict, YEAR, TODAY) if r.community.name == "翠湖社区")
    assert (cuihu.reports_overdue, cuihu.unrated, cuihu.unpublished, cuihu.evaluations_overdue) == (1, 0, 2, True)
    services.publish_evaluations(world.community, YEAR)
    db.session.commit()
    assert services.community_owes(world.community, TODAY) == []
    assert services.member_overdue(reported, TODAY) == []
