"""现场签到 without HTTP: the code of the minute, signing in and out, the refusals, hours (rounded down, kept
within the session, across midnight) and closing the sheet into approved records once."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import func, select

from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.onsite import services
from kmvolunteer.onsite.models import Attendance
from kmvolunteer.service.models import ServiceRecord
from tests.factories import service_need, service_report_in

DAY = local_today()


@pytest.fixture
def setup(world, english):
    secretary = world.users["community_secretary"]
    member, member2 = world.members["member"], world.members["member2"]
    service_report_in(member, world.community)
    service_report_in(member2, world.community)
    need = service_need(world.community, title="反诈宣传摊位", headcount=10)
    return world, secretary, need


def _open(need, secretary, start=time(9, 0), end=time(11, 0), capacity=None, day=DAY):
    return services.open_session(need, secretary, day, start, end, capacity, today=day)


def at(session, hour: int, minute: int = 0, next_day: bool = False):
    return services.utc_of(session.day + timedelta(days=1 if next_day else 0), time(hour, minute))


def code_now(session, now):
    return services.code_at(session.id, services.minute_of(now))


def sign_in(session, user, now):
    return services.sign_in(session, user, code_now(session, now), now)


# ---------------------------------------------------------------- the code of the minute


def test_the_code_of_this_minute_and_the_last_is_accepted_and_no_other(setup):
    w, secretary, need = setup
    session = _open(need, secretary)
    now = at(session, 9, 30) + timedelta(seconds=20)
    minute = services.minute_of(now)
    code = services.code_at(session.id, minute)
    assert len(code) == 6 and code.isdigit()
    assert services.current_code(session, now) == (code, 40)
    assert services.code_is_valid(session, code, now)
    assert services.code_is_valid(session, services.code_at(session.id, minute - 1), now)
    assert not services.code_is_valid(session, services.code_at(session.id, minute - 2), now)
    assert not services.code_is_valid(session, services.code_at(session.id, minute + 1), now)
    other = _open(need, secretary, time(14, 0), time(16, 0))
    assert services.code_at(other.id, minute) != code  # each session has codes of its own
    assert not services.code_is_valid(session, "12345", now) and not services.code_is_valid(session, "", now)
    assert services.code_is_valid(session, f" {code[:3]} {code[3:]} ", now)  # typed with spaces


def test_a_code_two_minutes_old_or_still_to_come_is_refused_and_changes_nothing(setup):
    w, secretary, need = setup
    session = _open(need, secretary)
    now = at(session, 9, 30)
    for minutes in (-2, 1):
        old = services.code_at(session.id, services.minute_of(now) + minutes)
        with pytest.raises(ServiceError) as refused:
            services.sign_in(session, w.users["member"], old, now)
        assert refused.value.field == "code" and "changes every minute" in refused.value.message
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0


def test_the_code_from_a_minute_ago_still_signs_in(setup):
    w, secretary, need = setup
    session = _open(need, secretary)
    now = at(session, 9, 30) + timedelta(seconds=5)  # 09:30:05 — the code was read at 09:29:58
    late_scan = services.code_at(session.id, services.minute_of(now) - 1)
    attendance = services.sign_in(session, w.users["member"], late_scan, now)
    assert attendance.signed_in_at == now


# ---------------------------------------------------------------- refusals


def test_a_second_sign_in_of_the_same_member_is_refused(setup):
    w, secretary, need = setup
    session = _open(need, secretary)
    sign_in(session, w.users["member"], at(session, 9, 0))
    with pytest.raises(ServiceError, match="already signed in to this session at 09:00"):
        sign_in(session, w.users["member"], at(session, 9, 5))
    db.session.refresh(session)
    assert session.signed_in == 1


def test_a_member_not_reported_in_to_the_community_is_refused(setup):
    w, secretary, need = setup
    session = _open(need, secretary)
    with pytest.raises(ServiceError, match="Only members reported in to 翠湖社区"):
        sign_in(session, w.users["other_member"], at(session, 9, 0))


def test_a_closed_or_cancelled_session_refuses_sign_ins(setup):
    w, secretary, need = setup
    session = _open(need, secretary)
    services.close(session, secretary, now=at(session, 9, 0), today=DAY)
    with pytest.raises(ServiceError, match="closed"):
        sign_in(session, w.users["member"], at(session, 9, 5))
    cancelled = _open(need, secretary, time(14, 0), time(16, 0))
    with pytest.raises(ServiceError, match="Say why"):
        services.cancel(cancelled, secretary, " ")
    services.cancel(cancelled, secretary, "下雨改期")
    with pytest.raises(ServiceError, match="closed"):
        sign_in(cancelled, w.users["member"], at(cancelled, 14, 5))


def test_signing_in_after_the_end_is_refused(setup):
    w, secretary, need = setup
    session = _open(need, secretary)
    with pytest.raises(ServiceError, match="ended at 11:00"):
        sign_in(session, w.users["member"], at(session, 11, 0))


def test_a_full_activity_refuses_the_next_member(setup):
    w, secretary, need = setup
    session = _open(need, secretary, capacity=1)
    sign_in(session, w.users["member"], at(session, 9, 0))
    with pytest.raises(ServiceError, match="full: all 1 places are taken"):
        sign_in(session, w.users["member2"], at(session, 9, 1))


def test_the_organizer_does_not_sign_in_to_their_own_session(setup):
    from kmvolunteer.auth.models import Role, RoleGrant

    w, secretary, need = setup
    organizer = w.users["member"]  # a member who is also the community's secretary
    organizer.grants.append(RoleGrant(role=Role.community_secretary.value, area=w.community))
    db.session.flush()
    session = _open(need, organizer)
    with pytest.raises(ServiceError, match="another secretary records your own service"):
        sign_in(session, organizer, at(session, 9, 0))
    with pytest.raises(ServiceError, match="your own entry"):
        services.add_member(session, organizer, w.members["member"], at(session, 9, 0))


def test_opening_a_session_checks_scope_and_times(setup):
    w, secretary, need = setup
    with pytest.raises(ServiceError, match="not within your community"):
        _open(need, w.users["other_secretary"])
    with pytest.raises(ServiceError, match="at most 12 hours"):
        _open(need, secretary, time(8, 0), time(21, 0))
    with pytest.raises(ServiceError, match="today or a day to come"):
        services.open_session(need, secretary, DAY - timedelta(days=3), time(9, 0), time(10, 0), today=DAY)
    late_night = _open(need, secretary, time(20, 0), time(2, 0))
    assert late_night.ends_at - late_night.starts_at == timedelta(hours=6)


# ---------------------------------------------------------------- hours


@pytest.mark.parametrize(
    ("came", "left", "half_hours"),
    [
        ((9, 0), (10, 29), 2),  # 1 h 29 min → 1 h
        ((9, 0), (10, 30), 3),  # 1 h 30 min → 1.5 h
        ((9, 10), (9, 39), 0),  # under half an hour
        ((8, 30), (10, 0), 2),  # came before the start: counted from 09:00
        ((9, 0), (12, 40), 4),  # left after the end: counted to 11:00
    ],
)
def test_hours_are_rounded_down_to_the_half_hour_within_the_session(setup, came, left, half_hours):
    w, secretary, need = setup
    session = _open(need, secretary)
    assert services.half_hours_between(session, at(session, *came), at(session, *left)) == half_hours


def test_an_evening_activity_counts_past_midnight(setup):
    w, secretary, need = setup
    session = _open(need, secretary, time(20, 0), time(2, 0))
    user = w.users["member"]
    sign_in(session, user, at(session, 21, 10))
    services.sign_out(session, user, code_now(session, at(session, 1, 5, next_day=True)), at(session, 1, 5, True))
    result = services.close(session, secretary, now=at(session, 3, 0, next_day=True), today=DAY + timedelta(days=1))
    (record,) = result.created
    assert record.half_hours == 7  # 21:10 → 01:05 is 3 h 55 min
    assert (record.start_time, record.end_time) == (time(21, 10), time(1, 5))
    assert record.service_date == DAY


def test_one_still_in_at_closing_is_signed_out_at_the_end(setup):
    w, secretary, need = setup
    session = _open(need, secretary)
    sign_in(session, w.users["member"], at(session, 9, 45))
    result = services.close(session, secretary, now=at(session, 13, 0), today=DAY)
    (record,) = result.created
    assert record.half_hours == 2 and record.end_time == time(11, 0)
    assert session.attendances[0].signed_out_at == at(session, 11, 0)


# ---------------------------------------------------------------- signing out, correcting, closing


def test_signing_out_twice_is_refused(setup):
    w, secretary, need = setup
    session = _open(need, secretary)
    user = w.users["member"]
    sign_in(session, user, at(session, 9, 0))
    services.sign_out(session, user, now=at(session, 10, 0))
    with pytest.raises(ServiceError, match="already signed out at 10:00"):
        services.sign_out(session, user, now=at(session, 10, 5))
    kind, _row = services.scan(session, w.users["member2"], code_now(session, at(session, 9, 1)), at(session, 9, 1))
    assert kind == "in"
    kind, row = services.scan(session, w.users["member2"], code_now(session, at(session, 9, 50)), at(session, 9, 50))
    assert kind == "out" and row.signed_out_at == at(session, 9, 50)


def test_a_correction_needs_a_reason_and_is_audited(setup):
    w, secretary, need = setup
    session = _open(need, secretary)
    attendance = sign_in(session, w.users["member"], at(session, 9, 40))
    with pytest.raises(ServiceError, match="Say why"):
        services.correct(attendance, secretary, time(9, 0), time(10, 30), "")
    with pytest.raises(ServiceError, match="after the time of arrival"):
        services.correct(attendance, secretary, time(10, 0), time(9, 30), "忘记签到")
    services.correct(attendance, secretary, time(9, 0), time(10, 30), "到场后忘记签到")
    assert services.half_hours_between(session, attendance.signed_in_at, attendance.signed_out_at) == 3
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "onsite.corrected"))
    assert entry.before_data()["signed_in_at"] == "09:40" and entry.after_data()["reason"] == "到场后忘记签到"


def test_closing_makes_approved_on_site_records_once(setup):
    w, secretary, need = setup
    session = _open(need, secretary)
    sign_in(session, w.users["member"], at(session, 9, 0))
    services.add_member(session, secretary, w.members["member2"], at(session, 9, 20))
    services.sign_out(session, w.users["member"], now=at(session, 10, 45))
    result = services.close(session, secretary, now=at(session, 11, 30), today=DAY)
    assert session.status == "closed"
    records = db.session.scalars(select(ServiceRecord).order_by(ServiceRecord.member_id)).all()
    assert [(r.member_id, r.half_hours) for r in records] == [
        (w.members["member"].id, 3),
        (w.members["member2"].id, 3),
    ]
    assert all(
        r.status == "approved" and r.on_site and r.recorded_by_organizer and r.decided_by_id == secretary.id
        for r in records
    )
    assert {a.record_id for a in session.attendances} == {r.id for r in result.created}
    with pytest.raises(ServiceError, match="already ended"):
        services.close(session, secretary, now=at(session, 11, 40), today=DAY)
    assert db.session.scalar(select(func.count()).select_from(ServiceRecord)) == 2


def test_closing_skips_too_short_and_repeated_entries_with_a_note(setup):
    w, secretary, need = setup
    from tests.factories import make_record

    earlier = make_record(w.members["member2"], w.community, DAY, status="submitted")
    earlier.need_id = need.id
    session = _open(need, secretary)
    sign_in(session, w.users["member"], at(session, 10, 40))
    sign_in(session, w.users["member2"], at(session, 9, 0))
    result = services.close(session, secretary, now=at(session, 11, 30), today=DAY)
    assert result.created == []
    notes = {a.member_id: a.note for a in result.skipped}
    assert "less than half an hour" in notes[w.members["member"].id]
    assert "already has an entry" in notes[w.members["member2"].id]


def test_a_future_session_cannot_be_closed_into_records(setup):
    w, secretary, need = setup
    session = _open(need, secretary, day=DAY + timedelta(days=2))
    with pytest.raises(ServiceError, match="future"):
        services.close(session, secretary, today=DAY)
    assert session.status == "open"


def test_the_organizer_adds_only_members_reported_in_and_not_themselves(setup):
    w, secretary, need = setup
    session = _open(need, secretary)
    assert {m.id for m in services.addable(session)} == {w.members["member"].id, w.members["member2"].id}
    with pytest.raises(ServiceError, match="Only members reported in"):
        services.add_member(session, secretary, w.members["other_member"], at(session, 9, 0))
    services.add_member(session, secretary, w.members["member"], at(session, 9, 0))
    assert {m.id for m in services.addable(session)} == {w.members["member2"].id}


def test_the_demo_has_a_closed_and_an_open_session_at_cuihu(app, ctx):
    from kmvolunteer import demo
    from kmvolunteer.onsite.models import ActivitySession

    demo.seed(echo=lambda *_: None)
    sessions = db.session.scalars(select(ActivitySession).order_by(ActivitySession.id)).all()
    assert [s.status for s in sessions] == ["closed", "open"]
    assert {s.community.name for s in sessions} == {"翠湖社区"}
    held, under_way = sessions
    made = [a.record for a in held.attendances if a.record is not None]
    assert made and all(r.status == "approved" and r.on_site for r in made)
    assert "张明" in {a.member.name for a in under_way.attendances}
    assert all(a.signed_out_at is None for a in under_way.attendances)
