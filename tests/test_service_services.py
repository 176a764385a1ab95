"""Service records without HTTP: every rule, every transition, the counters and the races."""

from __future__ import annotations

import threading
from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from kmvolunteer.auth.models import Role, RoleGrant, User
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.db import SERIAL_ALPHABET
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.service import services
from kmvolunteer.service.models import Certificate, ServiceRecord
from kmvolunteer.service.services import DuplicateEntry, EntryData
from kmvolunteer.tallies import rollup
from kmvolunteer.tallies.models import MemberFact, TallyCell
from kmvolunteer.years.models import Year
from tests.factories import (
    make_claim,
    make_user,
    make_year_rule,
    service_need,
    service_report_in,
)

TODAY = local_today()
YESTERDAY = TODAY - timedelta(days=1)


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the services' messages, written in English."""


def entry(**kw) -> EntryData:
    values = {"service_date": YESTERDAY, "content": "反诈宣传摊位值守", "hours": Decimal("2")}
    values.update(kw)
    return EntryData(**values)


KEPT_YEARS = sorted({TODAY.year - 1, YESTERDAY.year, TODAY.year})


def tally(member, year: int = YESTERDAY.year) -> tuple[int, int, int]:
    """The member's counters of the year (approved half-hours, approved entries, pending entries),
    as the tallies keep them."""
    db.session.expire_all()
    fact = db.session.get(MemberFact, (year, member.id))
    return fact.approved_half_hours, fact.approved_entries, fact.pending_entries


def assert_counters_match() -> None:
    db.session.expire_all()
    assert rollup.open_kept_years() == KEPT_YEARS
    for year in KEPT_YEARS:
        assert rollup.differences(year) == {"facts": 0, "cells": 0}


def keep_years() -> None:
    """The tallies keep the counters of these years from now on (as they do the years in use)."""
    for year in KEPT_YEARS:
        rollup.touch_year(year)
    db.session.commit()


@pytest.fixture
def setup(world):
    service_report_in(world.members["member"], world.community)
    service_report_in(world.members["member2"], world.community)
    db.session.commit()
    keep_years()
    return world


def log(world, who: str = "member", **kw):
    member = world.members[who]
    kw.setdefault("community_id", world.community.id)
    record = services.log_entry(member, world.users[who], entry(**kw))
    db.session.commit()
    return record


def log_elsewhere(world, who: str = "member2", **kw):
    """An entry at 文化巷社区 (community2), on a need there the member claimed."""
    need = service_need(world.community2, title="文化巷清洁")
    make_claim(need, world.members[who])
    return log(world, who, community_id=world.community2.id, need_id=need.id, **kw)


# ---------------------------------------------------------------- logging rules


def test_logging_submits_counts_pending_and_audits(setup):
    w = setup
    record = log(w)
    assert record.status == "submitted" and record.half_hours == 4 and record.year == YESTERDAY.year
    assert not record.late and record.created_by_id == w.users["member"].id
    assert tally(w.members["member"]) == (0, 0, 1)
    audit_entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.object_type == "ServiceRecord", AuditEntry.object_id == record.id)
    )
    assert audit_entry.action == "service.logged" and audit_entry.after_data()["hours"] == "2"
    assert audit_entry.scope_path == w.community.path


def test_community_defaults_to_the_need_and_must_match_it(setup):
    w = setup
    need = service_need(w.community2, title="文化巷清洁")
    make_claim(need, w.members["member"])
    db.session.commit()
    record = services.log_entry(w.members["member"], w.users["member"], entry(need_id=need.id, community_id=None))
    assert record.community_id == w.community2.id
    db.session.rollback()
    with pytest.raises(ServiceError) as exc:
        services.log_entry(w.members["member"], w.users["member"], entry(need_id=need.id, community_id=w.community.id))
    assert exc.value.field == "need_id"
    db.session.rollback()
    with pytest.raises(ServiceError):  # a subdistrict is not a community
        services.log_entry(w.members["member"], w.users["member"], entry(community_id=w.subdistrict.id))
    db.session.rollback()
    with pytest.raises(ServiceError):
        services.log_entry(w.members["member"], w.users["member"], entry(community_id=None))


@pytest.mark.parametrize(
    "hours, message",
    [
        (Decimal("0"), "more than 0"),
        (Decimal("-1"), "more than 0"),
        (Decimal("0.3"), "steps of half"),
        (Decimal("12.5"), "at most 12"),
        (Decimal("1000000"), "at most 12"),
        (None, "Enter the hours"),
    ],
)
def test_bad_hours_are_refused(setup, hours, message):
    w = setup
    with pytest.raises(ServiceError) as exc:
        services.log_entry(w.members["member"], w.users["member"], entry(hours=hours, community_id=w.community.id))
    assert message in exc.value.message and exc.value.field == "hours"
    db.session.rollback()
    assert db.session.scalar(select(func.count(ServiceRecord.id))) == 0


@pytest.mark.parametrize("raw", ["abc", "1,2.3", "NaN", "Infinity", "2小时"])
def test_non_numeric_hours_are_refused(raw):
    with pytest.raises(ServiceError):
        services.parse_hours(raw)


def test_hours_parse_and_format():
    assert services.parse_hours(" 1.5 ") == Decimal("1.5")
    assert services.parse_hours("2，5") == Decimal("2.5")
    assert services.parse_hours("") is None
    assert services.format_hours(3) == "1.5" and services.format_hours(4) == "2" and services.format_hours(0) == "0"


def test_start_and_end_time_round_to_half_hours(setup):
    assert services.half_hours_from(time(9, 0), time(10, 20), None) == 3  # 80 min → 1.5 h
    assert services.half_hours_from(time(9, 0), time(10, 10), None) == 2  # 70 min → 1 h
    assert services.half_hours_from(time(9, 0), time(9, 15), None) == 1  # 15 min → 0.5 h
    with pytest.raises(ServiceError):
        services.half_hours_from(time(9, 0), time(9, 10), None)  # rounds to 0
    with pytest.raises(ServiceError):
        services.half_hours_from(time(10, 0), time(9, 0), None)
    with pytest.raises(ServiceError):
        services.half_hours_from(time(10, 0), None, Decimal("2"))
    with pytest.raises(ServiceError):
        services.half_hours_from(time(8, 0), time(20, 30), None)  # 12.5 h
    with pytest.raises(ServiceError):
        services.half_hours_from(time(9, 0), time(11, 0), Decimal("3"))  # disagrees with the times
    assert services.half_hours_from(time(9, 0), time(11, 0), Decimal("2")) == 4
    w = setup
    record = log(w, hours=None, start_time=time(14, 0), end_time=time(16, 30))
    assert record.half_hours == 5


def test_dates_in_the_future_far_past_or_a_closed_year_are_refused(setup):
    w = setup
    for day in (TODAY + timedelta(days=1), date(TODAY.year - 2, 12, 31)):
        with pytest.raises(ServiceError) as exc:
            services.log_entry(
                w.members["member"], w.users["member"], entry(service_date=day, community_id=w.community.id)
            )
        assert exc.value.field == "service_date"
        db.session.rollback()
    db.session.add(Year(year=TODAY.year - 1, status="closed"))
    db.session.commit()
    with pytest.raises(ServiceError) as exc:
        services.log_entry(
            w.members["member"],
            w.users["member"],
            entry(service_date=date(TODAY.year - 1, 6, 1), late_reason="补录", community_id=w.community.id),
        )
    assert "closed" in exc.value.message


def test_late_entries_need_a_reason_and_are_marked(setup, app):
    w = setup
    long_ago = TODAY - timedelta(days=30)
    with pytest.raises(ServiceError) as exc:
        services.log_entry(
            w.members["member"], w.users["member"], entry(service_date=long_ago, community_id=w.community.id)
        )
    assert exc.value.field == "late_reason"
    db.session.rollback()
    record = log(w, service_date=long_ago, late_reason="外出培训，回来后补录")
    assert record.late and record.late_reason == "外出培训，回来后补录"
    # The limit is configuration.
    app.config["LATE_WORKING_DAYS"] = 40
    try:
        on_time = log(w, service_date=long_ago - timedelta(days=1), late_reason="不需要")
        assert not on_time.late and on_time.late_reason == ""
    finally:
        app.config["LATE_WORKING_DAYS"] = 10


def test_likely_duplicates_are_refused_pointing_at_the_existing_entry(setup):
    w = setup
    need = service_need(w.community)
    db.session.commit()
    first = log(w, need_id=need.id, start_time=time(9, 0), end_time=time(11, 0), hours=None)
    cases = [
        {"need_id": need.id, "content": "另一段描述"},  # same need, same day
        {"start_time": time(10, 0), "end_time": time(12, 0), "hours": None, "content": "别的活动"},  # overlap
    ]
    for kw in cases:
        with pytest.raises(DuplicateEntry) as exc:
            log(w, **kw)
        assert exc.value.existing_id == first.id and f"no. {first.id}" in exc.value.message
        db.session.rollback()
    plain = log(w, content="入户走访", hours=Decimal("1"))
    with pytest.raises(DuplicateEntry) as exc:  # the same form sent twice
        log(w, content="入户走访", hours=Decimal("1"))
    assert exc.value.existing_id == plain.id
    db.session.rollback()
    # Back to back is not overlapping; another day is fine; a withdrawn entry does not count.
    log(w, start_time=time(11, 0), end_time=time(12, 0), hours=None, content="接着值守")
    log(w, service_date=YESTERDAY - timedelta(days=1), need_id=need.id)
    services.withdraw(plain, w.users["member"])
    db.session.commit()
    log(w, content="入户走访", hours=Decimal("1"))


def test_at_most_16_hours_a_day(setup):
    w = setup
    log(w, hours=Decimal("12"), content="全天值守")
    log(w, hours=Decimal("4"), content="晚间巡逻")
    with pytest.raises(ServiceError) as exc:
        log(w, hours=Decimal("0.5"), content="再加半小时")
    assert "16 hours" in exc.value.message
    db.session.rollback()
    assert tally(w.members["member"]) == (0, 0, 2)


def test_only_the_member_logs_their_own_service(setup):
    w = setup
    with pytest.raises(ServiceError):
        services.log_entry(w.members["member"], w.users["member2"], entry(community_id=w.community.id))
    with pytest.raises(ServiceError):
        services.log_entry(w.members["member"], w.users["community_secretary"], entry(community_id=w.community.id))


# ---------------------------------------------------------------- transitions


def test_approve_counts_the_hours_once(setup):
    w = setup
    record = log(w)
    services.approve(record, w.users["community_secretary"])
    db.session.commit()
    assert record.status == "approved" and record.decided_by_id == w.users["community_secretary"].id
    assert tally(w.members["member"]) == (4, 1, 0)
    with pytest.raises(ServiceError):
        services.approve(record, w.users["community_secretary"])
    db.session.rollback()
    assert tally(w.members["member"]) == (4, 1, 0)
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_id == record.id, AuditEntry.object_type == "ServiceRecord")
    ).all()
    assert actions == ["service.logged", "service.approved"]


@pytest.mark.parametrize("decide, status", [(services.return_entry, "returned"), (services.reject, "rejected")])
def test_return_and_reject_need_a_reason(setup, decide, status):
    w = setup
    record = log(w)
    for blank in (None, "", "   "):
        with pytest.raises(ServiceError) as exc:
            decide(record, w.users["community_secretary"], blank)
        assert exc.value.field == "reason"
        db.session.rollback()
    decide(record, w.users["community_secretary"], "请补充服务地点")
    db.session.commit()
    assert record.status == status and record.reason == "请补充服务地点"
    assert tally(w.members["member"]) == (0, 0, 0)
    last = db.session.scalar(select(AuditEntry).where(AuditEntry.object_id == record.id).order_by(AuditEntry.id.desc()))
    assert last.before_data()["status"] == "submitted" and last.after_data() == {
        "status": status,
        "reason": "请补充服务地点",
    }


def test_only_the_records_community_secretary_decides(setup):
    w = setup
    record = log(w)
    for who in ("other_secretary", "subdistrict_officer", "district_org", "branch_secretary", "member2"):
        with pytest.raises(ServiceError):
            services.approve(record, w.users[who])
        db.session.rollback()
    elsewhere = log_elsewhere(w)
    with pytest.raises(ServiceError):
        services.approve(elsewhere, w.users["community_secretary"])
    db.session.rollback()
    assert db.session.get(ServiceRecord, record.id).status == "submitted"


def test_a_secretary_cannot_decide_their_own_entry(setup):
    w = setup
    secretary = w.users["community_secretary"]
    member = w.members["member"]
    member.user = secretary  # the secretary is also this member
    db.session.commit()
    record = services.log_entry(member, secretary, entry(community_id=w.community.id))
    db.session.commit()
    with pytest.raises(ServiceError) as exc:
        services.approve(record, secretary)
    assert "own entry" in exc.value.message


def test_returned_entry_is_edited_and_resubmitted(setup):
    w = setup
    record = log(w)
    services.return_entry(record, w.users["community_secretary"], "时长不对")
    db.session.commit()
    assert tally(w.members["member"]) == (0, 0, 0)
    services.edit_entry(
        record, w.users["member"], entry(hours=Decimal("1.5"), community_id=w.community.id, place="社区广场")
    )
    db.session.commit()
    assert record.status == "submitted" and record.half_hours == 3 and record.reason == ""
    assert tally(w.members["member"]) == (0, 0, 1)
    step = db.session.scalar(select(AuditEntry).where(AuditEntry.object_id == record.id).order_by(AuditEntry.id.desc()))
    assert step.action == "service.resubmitted"
    assert step.before_data()["hours"] == "2" and step.after_data()["hours"] == "1.5"
    assert step.after_data()["status"] == "submitted" and step.after_data()["place"] == "社区广场"
    services.approve(record, w.users["community_secretary"])
    db.session.commit()
    assert tally(w.members["member"]) == (3, 1, 0)


def test_editing_a_submitted_entry_keeps_it_submitted_and_can_move_years(setup):
    w = setup
    record = log(w)
    services.edit_entry(record, w.users["member"], entry(content="改为：垃圾分类宣传", community_id=w.community.id))
    db.session.commit()
    assert record.status == "submitted" and record.content == "改为：垃圾分类宣传"
    last_year = date(TODAY.year - 1, 12, 20)
    services.edit_entry(
        record, w.users["member"], entry(service_date=last_year, late_reason="补录", community_id=w.community.id)
    )
    db.session.commit()
    assert record.year == TODAY.year - 1
    assert tally(w.members["member"], TODAY.year - 1) == (0, 0, 1) and tally(w.members["member"], TODAY.year) == (
        0,
        0,
        0,
    )
    assert_counters_match()


def test_only_the_owner_edits_and_only_while_submitted_or_returned(setup):
    w = setup
    record = log(w)
    with pytest.raises(ServiceError):
        services.edit_entry(record, w.users["member2"], entry(community_id=w.community.id))
    db.session.rollback()
    with pytest.raises(ServiceError):
        services.edit_entry(record, w.users["community_secretary"], entry(community_id=w.community.id))
    db.session.rollback()
    services.approve(record, w.users["community_secretary"])
    db.session.commit()
    with pytest.raises(ServiceError) as exc:  # an approved record never changes in place
        services.edit_entry(record, w.users["member"], entry(hours=Decimal("8"), community_id=w.community.id))
    assert "can no longer be changed" in exc.value.message
    db.session.rollback()
    assert db.session.get(ServiceRecord, record.id).half_hours == 4


def test_withdraw_only_submitted_and_only_by_the_owner(setup):
    w = setup
    record = log(w)
    with pytest.raises(ServiceError):
        services.withdraw(record, w.users["community_secretary"])
    db.session.rollback()
    services.withdraw(record, w.users["member"])
    db.session.commit()
    assert record.status == "withdrawn" and tally(w.members["member"]) == (0, 0, 0)
    with pytest.raises(ServiceError):
        services.withdraw(record, w.users["member"])
    db.session.rollback()
    returned = log(w, content="另一条")
    services.return_entry(returned, w.users["community_secretary"], "补充")
    db.session.commit()
    with pytest.raises(ServiceError):
        services.withdraw(returned, w.users["member"])


def test_revoke_by_the_community_or_the_org_department_with_a_reason(setup):
    w = setup
    a = log(w, content="一")
    b = log(w, content="二")
    for record in (a, b):
        services.approve(record, w.users["community_secretary"])
    db.session.commit()
    assert tally(w.members["member"]) == (8, 2, 0)
    for who in ("subdistrict_officer", "other_org", "other_secretary", "member"):
        with pytest.raises(ServiceError):
            services.revoke(a, w.users[who], "核实未参加")
        db.session.rollback()
    with pytest.raises(ServiceError):
        services.revoke(a, w.users["community_secretary"], " ")
    db.session.rollback()
    services.revoke(a, w.users["community_secretary"], "核实当天未参加")
    services.revoke(b, w.users["district_org"], "重复登记")
    db.session.commit()
    assert a.status == b.status == "revoked" and tally(w.members["member"]) == (0, 0, 0)
    with pytest.raises(ServiceError):  # only approved records are revoked
        services.revoke(a, w.users["community_secretary"], "again")
    db.session.rollback()
    pending = log(w, content="三")
    with pytest.raises(ServiceError):
        services.revoke(pending, w.users["community_secretary"], "不能撤销待审核的")


def test_nothing_changes_in_a_closed_year(setup):
    w = setup
    record = log(w)
    db.session.add(Year(year=record.year, status="closed"))
    db.session.commit()
    for action in (
        lambda: services.approve(record, w.users["community_secretary"]),
        lambda: services.withdraw(record, w.users["member"]),
        lambda: services.edit_entry(record, w.users["member"], entry(community_id=w.community.id)),
    ):
        with pytest.raises(ServiceError):
            action()
        db.session.rollback()
    assert db.session.get(ServiceRecord, record.id).status == "submitted"


# ---------------------------------------------------------------- bulk


def test_bulk_processes_in_scope_entries_and_reports_the_rest(setup):
    w = setup
    service_report_in(w.members["other_member"], w.other_community)
    keep_years()  # the report-in was written by hand, not through the services
    mine = [log(w, content=f"值守{i}") for i in range(3)]
    elsewhere = log_elsewhere(w)
    far = services.log_entry(
        w.members["other_member"], w.users["other_member"], entry(community_id=w.other_community.id)
    )
    db.session.commit()
    services.approve(mine[2], w.users["community_secretary"])
    db.session.commit()
    ids = [mine[0].id, mine[1].id, mine[2].id, elsewhere.id, far.id, 999999, "x", mine[0].id]
    result = services.bulk_decide(ids, w.users["community_secretary"], "approve")
    db.session.commit()
    assert [r.id for r in result.done] == [mine[0].id, mine[1].id]
    skipped = {record_id: why for record_id, _record, why in result.skipped}
    assert set(skipped) == {mine[2].id, elsewhere.id, far.id, 999999}
    assert skipped[elsewhere.id] == skipped[far.id] == skipped[999999] == "not within your community"
    assert "approved" in skipped[mine[2].id]
    assert tally(w.members["member"]) == (12, 3, 0)
    assert db.session.get(ServiceRecord, elsewhere.id).status == "submitted"
    assert_counters_match()


def test_bulk_return_needs_a_reason_and_bounds(setup):
    w = setup
    record = log(w)
    with pytest.raises(ServiceError):
        services.bulk_decide([record.id], w.users["community_secretary"], "return", "")
    with pytest.raises(ServiceError):
        services.bulk_decide([], w.users["community_secretary"], "approve")
    with pytest.raises(ServiceError):
        services.bulk_decide([record.id], w.users["community_secretary"], "delete")
    with pytest.raises(ServiceError):
        services.bulk_decide(range(1, 500), w.users["community_secretary"], "approve")
    result = services.bulk_decide([record.id], w.users["community_secretary"], "return", "请补充")
    db.session.commit()
    assert len(result.done) == 1 and record.status == "returned" and record.reason == "请补充"


# ---------------------------------------------------------------- attendance sheet


def test_attendance_sheet_records_approved_entries_for_the_ticked(setup):
    w = setup
    service_report_in(w.members["other_member"], w.other_community)
    need = service_need(w.community, title="周六环境整治", on_date=YESTERDAY)
    make_claim(need, w.members["other_member"])  # claimed although living elsewhere
    keep_years()  # the report-in was written by hand, not through the services
    existing = log(w, "member2", need_id=need.id)
    candidates = [m.id for m in services.attendee_candidates(need)]
    assert candidates[0] == w.members["other_member"].id  # claimants first
    assert set(candidates) == {w.members["member"].id, w.members["member2"].id, w.members["other_member"].id}
    stranger = make_user("stranger", "x", w.district)
    db.session.commit()
    ids = [w.members["member"].id, w.members["member2"].id, w.members["other_member"].id, 424242]
    result = services.record_attendance(need, YESTERDAY, w.users["community_secretary"], ids, hours=Decimal("2.5"))
    db.session.commit()
    assert sorted(r.member_id for r in result.created) == sorted([w.members["member"].id, w.members["other_member"].id])
    for record in result.created:
        assert record.status == "approved" and record.recorded_by_organizer and record.half_hours == 5
        assert record.content == "周六环境整治" and record.community_id == w.community.id
    reasons = {member_id: why for member_id, _m, why in result.skipped}
    assert set(reasons) == {w.members["member2"].id, 424242}
    assert "already" in reasons[w.members["member2"].id]
    assert db.session.get(ServiceRecord, existing.id).status == "submitted"
    assert tally(w.members["member"]) == (5, 1, 0)
    assert_counters_match()
    assert stranger.id
    steps = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action == "service.recorded")).all()
    assert len(steps) == 2
    # Ticking them again skips everyone: the sheet cannot double-count.
    again = services.record_attendance(need, YESTERDAY, w.users["community_secretary"], ids[:3], hours=Decimal("2.5"))
    assert not again.created and len(again.skipped) == 3


def test_attendance_sheet_rules(setup):
    w = setup
    need = service_need(w.community)
    db.session.commit()
    secretary = w.users["community_secretary"]
    member_ids = [w.members["member"].id]
    with pytest.raises(ServiceError):
        services.record_attendance(need, YESTERDAY, w.users["other_secretary"], member_ids, hours=Decimal("2"))
    with pytest.raises(ServiceError):
        services.record_attendance(need, TODAY + timedelta(days=1), secretary, member_ids, hours=Decimal("2"))
    with pytest.raises(ServiceError):
        services.record_attendance(need, YESTERDAY, secretary, member_ids, hours=Decimal("13"))
    with pytest.raises(ServiceError):
        services.record_attendance(need, YESTERDAY, secretary, [], hours=Decimal("2"))
    with pytest.raises(ServiceError) as exc:
        services.record_attendance(need, TODAY - timedelta(days=40), secretary, member_ids, hours=Decimal("2"))
    assert exc.value.field == "late_reason"
    result = services.record_attendance(
        need, TODAY - timedelta(days=40), secretary, member_ids, hours=Decimal("2"), late_reason="活动后统一补录"
    )
    db.session.commit()
    assert result.created[0].late


# ---------------------------------------------------------------- certificate, rules, pages


def test_certificate_totals_serial_and_verification(setup):
    w = setup
    member = w.members["member"]
    with pytest.raises(ServiceError):
        services.issue_certificate(member, YESTERDAY.year, w.users["member"])
    db.session.rollback()
    a = log(w, content="一", hours=Decimal("1.5"))
    b = log(w, content="二", service_date=YESTERDAY - timedelta(days=1))
    log(w, content="三（待审）", service_date=YESTERDAY - timedelta(days=2))
    for record in (a, b):
        services.approve(record, w.users["community_secretary"])
    db.session.commit()
    with pytest.raises(ServiceError):
        services.issue_certificate(member, YESTERDAY.year, w.users["branch_secretary"])
    db.session.rollback()
    cert = services.issue_certificate(member, YESTERDAY.year, w.users["member"])
    db.session.commit()
    assert cert.approved_half_hours == 7 and cert.approved_entries == 2 and cert.community_id == w.community.id
    assert cert.serial.startswith(f"KMV-{YESTERDAY.year}-") and len(cert.serial) == len("KMV-2026-") + 10
    assert set(cert.serial[9:]) <= set(SERIAL_ALPHABET)
    other = services.issue_certificate(member, YESTERDAY.year, w.users["member"])
    db.session.commit()
    assert other.serial != cert.serial
    assert services.find_certificate(cert.serial.lower()).id == cert.id
    assert services.find_certificate("KMV-2026-AAAAAAAAAA") is None and services.find_certificate("") is None
    assert [e.id for e in services.approved_entries(member, YESTERDAY.year, cert.issued_at)] == sorted(
        [a.id, b.id], key=lambda i: db.session.get(ServiceRecord, i).service_date
    )
    assert db.session.scalar(select(func.count(Certificate.id))) == 2
    assert (
        db.session.scalar(select(AuditEntry.action).where(AuditEntry.object_type == "Certificate"))
        == "certificate.issued"
    )


def test_the_districts_rule_wins_over_the_citys(setup):
    w = setup
    member = w.members["member"]  # agency in 五华区
    assert services.rule_for(member, TODAY.year) is None
    make_year_rule(w.city, TODAY.year, min_half_hours=40, min_activities=4)
    db.session.commit()
    assert services.rule_for(member, TODAY.year).area_id == w.city.id
    make_year_rule(w.district, TODAY.year, min_half_hours=60, min_activities=6)
    db.session.commit()
    assert services.rule_for(member, TODAY.year).area_id == w.district.id
    assert services.rule_for(w.members["other_member"], TODAY.year).area_id == w.city.id
    progress = services.progress(member, TODAY.year)
    assert progress.rule.min_activities == 6 and progress.percent("hours") == 0 and not progress.met


def test_member_entries_put_returned_first_and_histories_follow_each_record(setup):
    w = setup
    a = log(w, content="一")
    b = log(w, content="二", service_date=YESTERDAY - timedelta(days=1))
    services.approve(a, w.users["community_secretary"])
    services.return_entry(b, w.users["community_secretary"], "请补充地点")
    db.session.commit()
    groups = services.member_entries(w.members["member"], YESTERDAY.year)
    assert [state for state, _records in groups] == ["returned", "approved"]
    history = services.histories([a.id, b.id])
    assert [e.action for e in history[b.id]] == ["service.logged", "service.returned"]
    assert history[b.id][1].after_data()["reason"] == "请补充地点"
    assert history[b.id][1].actor_id == w.users["community_secretary"].id


def test_overdue_entries_by_community(setup, app):
    w = setup
    record = log(w)
    log_elsewhere(w)
    db.session.execute(
        ServiceRecord.__table__.update()
        .where(ServiceRecord.id == record.id)
        .values(submitted_at=record.submitted_at - timedelta(days=8))
    )
    db.session.commit()
    rows = services.overdue_by_community(w.users["subdistrict_officer"])
    assert [(a.id, n, o) for a, n, o in rows] == [(w.community.id, 1, 1), (w.community2.id, 1, 0)]
    assert services.overdue_by_community(w.users["other_org"]) == []
    assert services.pending_count(w.users["community_secretary"]) == 1
    assert services.overdue_count(w.users["community_secretary"]) == 1
    assert services.pending_count(w.users["subdistrict_officer"]) == 0  # reads, does not decide
    assert services.is_overdue(db.session.get(ServiceRecord, record.id))


# ---------------------------------------------------------------- counters: a randomized property test

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "log",
                "log",
                "log",
                "approve",
                "approve",
                "return",
                "reject",
                "withdraw",
                "revoke",
                "edit",
                "bulk",
                "attend",
            ]
        ),
        st.integers(0, 1),  # which member
        st.integers(0, 420),  # days ago (crosses into last year)
        st.integers(1, 26),  # half-hours (25, 26 are too many)
        st.integers(0, 50),  # which record
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(steps=ACTIONS)
def test_counters_always_equal_a_recount(setup, steps):
    w = setup
    db.session.execute(delete(ServiceRecord))
    db.session.commit()
    keep_years()
    who = ["member", "member2"]
    secretary, org = w.users["community_secretary"], w.users["district_org"]
    need = db.session.scalar(select(services.Need)) or service_need(w.community)
    db.session.commit()
    for action, m, days_ago, half_hours, pick in steps:
        records = db.session.scalars(select(ServiceRecord).order_by(ServiceRecord.id)).all()
        target = records[pick % len(records)] if records else None
        day = TODAY - timedelta(days=days_ago)
        try:
            if action == "log" or target is None:
                services.log_entry(
                    w.members[who[m]],
                    w.users[who[m]],
                    entry(
                        service_date=day,
                        hours=Decimal(half_hours) / 2,
                        content=f"服务{pick}",
                        community_id=w.community.id if pick % 4 else w.community2.id,
                        late_reason="补录",
                    ),
                )
            elif action == "approve":
                services.approve(target, secretary)
            elif action in ("return", "reject"):
                services.DECISIONS[action](target, secretary, "原因")
            elif action == "withdraw":
                services.withdraw(target, target.member.user)
            elif action == "revoke":
                services.revoke(target, org if pick % 2 else secretary, "撤销")
            elif action == "edit":
                services.edit_entry(
                    target,
                    target.member.user,
                    entry(
                        service_date=day,
                        hours=Decimal(half_hours) / 2,
                        content=f"修改{pick}",
                        community_id=w.community.id,
                        late_reason="补录",
                    ),
                )
            elif action == "bulk":
                services.bulk_decide(
                    [r.id for r in records[pick % 3 :: 2]],
                    secretary,
                    "approve" if half_hours % 2 else "return",
                    "批量退回",
                )
            else:
                services.record_attendance(
                    need,
                    min(day, YESTERDAY),
                    secretary,
                    [w.members[name].id for name in who],
                    hours=Decimal(half_hours) / 2,
                    late_reason="补录",
                )
        except ServiceError:
            db.session.rollback()
        else:
            db.session.commit()
        assert_counters_match()


# ---------------------------------------------------------------- races (SQLite and PostgreSQL alike)


def _race(app, workers):
    """Run each worker in its own thread, app context and session, all released at once."""
    barrier = threading.Barrier(len(workers))
    results: list[str] = []
    lock = threading.Lock()

    def run(work):
        with app.app_context():
            try:
                prepared = work()
                barrier.wait(timeout=10)
                prepared()
                db.session.commit()
                outcome = "ok"
            except ServiceError as exc:
                db.session.rollback()
                outcome = exc.message
            finally:
                db.session.remove()
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=run, args=(work,)) for work in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def _second_secretary(world) -> int:
    user = make_user(
        "secretary2", "x", world.district, RoleGrant(role=Role.community_secretary.value, area=world.community)
    )
    db.session.commit()
    return user.id


def _decider(record_id: int, user_id: int, how: str):
    def prepare():
        record = db.session.get(ServiceRecord, record_id)
        user = db.session.get(User, user_id)
        assert record.status == "submitted" and record.member and record.community  # loaded before the race
        if how == "approve":
            return lambda: services.approve(record, user)
        return lambda: services.reject(record, user, "不符合要求")

    return prepare


@pytest.mark.committing
@pytest.mark.parametrize("second", ["approve", "reject"])
def test_two_secretaries_cannot_both_decide_one_entry(app, setup, second):
    w = setup
    other = _second_secretary(w)
    for attempt in range(3):
        record = log(w, content=f"竞争{attempt}")
        results = _race(
            app, [_decider(record.id, w.users["community_secretary"].id, "approve"), _decider(record.id, other, second)]
        )
        assert sorted(results, key=lambda r: r != "ok")[0] == "ok" and results.count("ok") == 1, results
        loser = next(r for r in results if r != "ok")
        assert "Someone else has already changed this entry" in loser
        db.session.expire_all()
        decided = db.session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.object_id == record.id, AuditEntry.action.in_(("service.approved", "service.rejected"))
            )
        ).all()
        assert len(decided) == 1
    assert_counters_match()


@pytest.mark.committing
def test_a_double_clicked_form_logs_once(app, setup):
    w = setup
    member_id, user_id, community_id = w.members["member"].id, w.users["member"].id, w.community.id

    def logger():
        from kmvolunteer.org.models import Member

        member = db.session.get(Member, member_id)
        user = db.session.get(User, user_id)
        assert member.branch.agency.area and member.user
        return lambda: services.log_entry(member, user, entry(community_id=community_id))

    results = _race(app, [logger, logger])
    assert results.count("ok") == 1, results
    assert db.session.scalar(select(func.count(ServiceRecord.id))) == 1
    assert tally(w.members["member"]) == (0, 0, 1)


def test_month_hours_change_with_the_commit_and_not_with_a_rollback(setup):
    w = setup
    record = log(w)
    month = f"month_{YESTERDAY.month}"
    cell = (YESTERDAY.year, w.branch.agency_id, w.community.id)

    def month_hours() -> tuple[int, int]:
        db.session.expire_all()
        fact = db.session.get(MemberFact, (YESTERDAY.year, w.members["member"].id))
        return getattr(fact, month), getattr(db.session.get(TallyCell, cell), month)

    services.approve(record, w.users["community_secretary"])
    db.session.rollback()  # the approval is abandoned: its hours must not reach the month
    assert month_hours() == (0, 0)
    db.session.refresh(record)
    services.approve(record, w.users["community_secretary"])
    db.session.commit()
    assert month_hours() == (4, 4)
    assert_counters_match()
