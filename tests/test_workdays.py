"""Working days: China's official calendar with 调休, local overrides, and Monday–Friday beyond the package."""
from __future__ import annotations

from datetime import date

from kmvolunteer.extensions import db
from kmvolunteer.service import workdays
from kmvolunteer.service.models import WorkdayOverride


def test_official_calendar_knows_holidays_and_adjusted_workdays(ctx):
    assert not workdays.is_workday(date(2025, 10, 1))  # National Day
    assert not workdays.is_workday(date(2025, 10, 3))
    assert workdays.is_workday(date(2025, 9, 28))  # a Sunday worked instead (调休)
    assert workdays.is_workday(date(2025, 10, 11))  # a Saturday worked instead
    assert not workdays.is_workday(date(2025, 10, 12))  # an ordinary Sunday
    assert workdays.is_workday(date(2025, 10, 9))


def test_years_the_package_does_not_know_fall_back_to_monday_to_friday(ctx):
    assert workdays.official_workday(date(2031, 3, 3))  # Monday
    assert workdays.official_workday(date(2031, 3, 7))  # Friday
    assert not workdays.official_workday(date(2031, 3, 8))  # Saturday
    assert not workdays.official_workday(date(2031, 3, 9))  # Sunday
    assert workdays.working_days_after(date(2031, 3, 2), date(2031, 3, 16)) == 10


def test_local_overrides_win(app, ctx):
    day = date(2025, 10, 9)
    assert workdays.is_workday(day)
    db.session.add(WorkdayOverride(day=day, is_workday=False, note="城市运动会放假"))
    db.session.add(WorkdayOverride(day=date(2025, 10, 12), is_workday=True, note="补班"))
    db.session.commit()
    assert not workdays.is_workday(day)
    assert workdays.is_workday(date(2025, 10, 12))
    # Mon 6 Oct..Sun 12 Oct 2025: the 6th–8th are holidays, the 9th is overridden off, the 10th works,
    # the 11th is an adjusted workday, the 12th is overridden on.
    assert workdays.working_days_after(date(2025, 10, 5), date(2025, 10, 12)) == 3


def test_counting_working_days_across_the_national_day_holiday(ctx):
    # 30 Sep 2025 → 15 Oct 2025: 1–8 Oct off, 11 Oct (Sat) worked; 9, 10, 11, 13, 14, 15 = 6.
    assert workdays.working_days_after(date(2025, 9, 30), date(2025, 10, 15)) == 6
    assert workdays.working_days_after(date(2025, 10, 15), date(2025, 10, 15)) == 0
    assert workdays.working_days_after(date(2025, 10, 15), date(2025, 10, 1)) == 0


def test_late_means_more_than_the_limit_of_working_days(ctx):
    service = date(2025, 9, 1)  # Monday
    # 10 working days later is Mon 15 Sep: not late; Tue 16 Sep is the 11th: late.
    assert not workdays.is_late(service, date(2025, 9, 15), 10)
    assert workdays.is_late(service, date(2025, 9, 16), 10)
    # Over the National Day holiday the same calendar distance is not late.
    assert not workdays.is_late(date(2025, 9, 30), date(2025, 10, 15), 10)
    assert workdays.is_late(date(2025, 9, 30), date(2025, 10, 15), 5)
