"""吹哨报到 deadlines on working time: office hours, nights, weekends, holidays, 调休, fallback years, rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import LOCAL_TZ, to_local
from kmvolunteer.extensions import db
from kmvolunteer.whistles import deadlines
from kmvolunteer.whistles.deadlines import Limits
from kmvolunteer.whistles.models import DeadlineRule
from kmvolunteer.years.models import WorkdayOverride
from kmvolunteer.years.workdays import calendar_knows


def at(day: str, clock: str) -> datetime:
    """A Kunming wall-clock time as the naive UTC the columns store."""
    local = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=LOCAL_TZ)
    return local.astimezone(UTC).replace(tzinfo=None)


def local(moment: datetime) -> str:
    return to_local(moment).strftime("%Y-%m-%d %a %H:%M")


def test_office_hours_default_to_kunming_government_hours(app, ctx):
    assert deadlines.working_periods() == (
        (datetime(1, 1, 1, 9).time(), datetime(1, 1, 1, 12).time()),
        (datetime(1, 1, 1, 14).time(), datetime(1, 1, 1, 18).time()),
    )
    assert deadlines.minutes_per_day() == 7 * 60


@pytest.mark.parametrize("spec", ["14:00-18:00,09:00-12:00", "09:00-09:00", "09:00-12:00,11:00-13:00", "nine-five"])
def test_a_wrong_office_hours_setting_is_refused(app, ctx, spec):
    with pytest.raises(ValueError):
        deadlines.working_periods(spec)


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        (("2025-11-19", "10:00"), 60, "2025-11-19 Wed 11:00"),  # inside the morning
        (("2025-11-19", "11:00"), 60, "2025-11-19 Wed 12:00"),  # exactly to the end of the morning
        (("2025-11-19", "11:30"), 60, "2025-11-19 Wed 14:30"),  # across lunch
        (("2025-11-19", "12:30"), 30, "2025-11-19 Wed 14:30"),  # summoned at lunch: counts from 14:00
        (("2025-11-19", "17:30"), 60, "2025-11-20 Thu 09:30"),  # across the night
        (("2025-11-19", "22:00"), 60, "2025-11-20 Thu 10:00"),  # summoned at night
        (("2025-11-21", "17:30"), 60, "2025-11-24 Mon 09:30"),  # across a weekend
        (("2025-11-22", "10:00"), 30, "2025-11-24 Mon 09:30"),  # summoned on a Saturday
        (("2025-09-30", "17:30"), 60, "2025-10-09 Thu 09:30"),  # across National Day (1–8 Oct off)
        (("2025-10-10", "17:30"), 60, "2025-10-11 Sat 09:30"),  # into a 调休 Saturday, which is worked
        (("2025-09-27", "16:00"), 60, "2025-09-28 Sun 10:00"),  # a 调休 Sunday is worked too
    ],
)
def test_working_minutes_skip_nights_weekends_and_holidays_and_count_adjusted_workdays(ctx, start, minutes, due):
    assert local(deadlines.add_working_minutes(at(*start), minutes)) == due


def test_working_days_are_whole_days_of_office_hours(ctx):
    assert local(deadlines.add_working_days(at("2025-11-17", "10:00"), 3)) == "2025-11-20 Thu 10:00"
    assert local(deadlines.add_working_days(at("2025-11-17", "20:00"), 3)) == "2025-11-20 Thu 18:00"
    # 6 hours left on 30 Sep, the 7th on the first working day after the holiday.
    assert local(deadlines.add_working_days(at("2025-09-30", "10:00"), 1)) == "2025-10-09 Thu 10:00"
    # Across the Spring Festival of 2026 (15–23 Feb off, Sat 14 and Sat 28 Feb worked).
    assert local(deadlines.add_working_days(at("2026-02-13", "10:00"), 2)) == "2026-02-24 Tue 10:00"


def test_a_city_day_off_and_a_city_working_day_count_as_the_city_says(ctx):
    db.session.add(WorkdayOverride(day=date(2025, 11, 20), is_workday=False, note="城市运动会"))
    db.session.add(WorkdayOverride(day=date(2025, 11, 22), is_workday=True, note="补班"))
    db.session.flush()
    assert local(deadlines.add_working_minutes(at("2025-11-19", "17:30"), 60)) == "2025-11-21 Fri 09:30"
    assert local(deadlines.add_working_minutes(at("2025-11-21", "17:30"), 60)) == "2025-11-22 Sat 09:30"


def test_a_year_the_calendar_does_not_know_runs_monday_to_friday(ctx):
    assert not calendar_knows(2027)
    # 1 Oct 2027 is a Friday: without the State Council's calendar it is an ordinary working day.
    assert local(deadlines.add_working_minutes(at("2027-10-01", "10:00"), 60)) == "2027-10-01 Fri 11:00"
    assert local(deadlines.add_working_minutes(at("2027-10-01", "17:30"), 60)) == "2027-10-04 Mon 09:30"
    # Until the city enters the holidays as its own exceptions.
    db.session.add(WorkdayOverride(day=date(2027, 10, 4), is_workday=False, note="国庆节"))
    db.session.flush()
    assert local(deadlines.add_working_minutes(at("2027-10-01", "17:30"), 60)) == "2027-10-05 Tue 09:30"


def test_the_years_on_fallback_are_reported_until_their_holidays_are_entered(ctx):
    assert deadlines.years_on_fallback(date(2025, 6, 1)) == []
    assert deadlines.years_on_fallback(date(2026, 12, 2)) == [2027]
    assert deadlines.years_on_fallback(date(2027, 3, 1)) == [2027, 2028]
    db.session.add(WorkdayOverride(day=date(2027, 1, 1), is_workday=False, note="元旦"))
    db.session.flush()
    assert deadlines.years_on_fallback(date(2026, 12, 2)) == []


def test_deadlines_from_the_default_rules(ctx):
    start = at("2025-11-19", "11:30")
    normal = deadlines.deadlines_from(start, deadlines.limits_for("community", "normal"))
    assert local(normal.sign) == "2025-11-19 Wed 14:30"
    assert normal.contact == start + timedelta(hours=24)  # calendar time
    assert local(normal.handle) == "2025-11-24 Mon 11:30"  # 3 working days
    urgent = deadlines.deadlines_from(start, deadlines.limits_for("community", "urgent"))
    assert local(urgent.sign) == "2025-11-19 Wed 12:00"  # to the end of the morning
    assert local(urgent.handle) == "2025-11-20 Thu 11:30"


def test_the_city_sets_a_tier_s_rule_and_it_is_used(world):
    city = world.users["city_org"]
    deadlines.set_rule("subdistrict", "normal", Limits(sign_minutes=120, contact_hours=48, handle_days=5), city)
    assert deadlines.limits_for("subdistrict", "normal") == Limits(120, 48, 5)
    assert deadlines.limits_for("community", "normal") == deadlines.DEFAULTS["normal"]
    deadlines.set_rule("subdistrict", "normal", Limits(sign_minutes=90, contact_hours=48, handle_days=5), city)
    assert db.session.scalar(select(DeadlineRule.sign_minutes)) == 90
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "whistle.deadline_rule")).all()[-1]
    assert entry.before_data()["sign_minutes"] == 120 and entry.after_data()["sign_minutes"] == 90


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        (Limits(sign_minutes=5, contact_hours=24, handle_days=3), "sign_minutes"),
        (Limits(sign_minutes=60, contact_hours=0, handle_days=3), "contact_hours"),
        (Limits(sign_minutes=60, contact_hours=24, handle_days=31), "handle_days"),
    ],
)
def test_a_rule_out_of_range_is_refused(world, limits, field):
    with pytest.raises(ServiceError) as refused:
        deadlines.set_rule("community", "normal", limits, world.users["city_org"])
    assert refused.value.field == field
    assert db.session.scalar(select(DeadlineRule.id)) is None


def test_only_the_city_sets_rules_and_only_for_known_tiers(world):
    limits = deadlines.DEFAULTS["normal"]
    with pytest.raises(ServiceError):
        deadlines.set_rule("community", "normal", limits, world.users["district_org"])
    with pytest.raises(ServiceError):
        deadlines.set_rule("city", "normal", limits, world.users["city_org"])
    assert db.session.scalar(select(DeadlineRule.id)) is None
