"""Working days: China's official calendar (with 调休), local overrides, Monday–Friday beyond it.

``chinese_calendar`` knows each year's holidays and adjusted workdays once the State
Council has published them; for a year it does not know it raises NotImplementedError,
and we fall back to Monday–Friday. ``WorkdayOverride`` rows (a city's own exceptions)
win over both.
"""
from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
from sqlalchemy import select

from kmvolunteer.extensions import db
from kmvolunteer.service.models import WorkdayOverride


def official_workday(day: date) -> bool:
    """China's calendar; Monday–Friday for a year the package does not know."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def overrides_between(start: date, end: date) -> dict[date, bool]:
    rows = db.session.execute(
        select(WorkdayOverride.day, WorkdayOverride.is_workday)
        .where(WorkdayOverride.day >= start, WorkdayOverride.day <= end)
    )
    return {day: is_workday for day, is_workday in rows}


def is_workday(day: date, overrides: dict[date, bool] | None = None) -> bool:
    if overrides is None:
        overrides = overrides_between(day, day)
    if day in overrides:
        return overrides[day]
    return official_workday(day)


def working_days_after(start: date, end: date) -> int:
    """How many working days lie after ``start`` up to and including ``end`` (0 if end <= start)."""
    if end <= start:
        return 0
    overrides = overrides_between(start + timedelta(days=1), end)
    count = 0
    day = start + timedelta(days=1)
    while day <= end:
        if is_workday(day, overrides):
            count += 1
        day += timedelta(days=1)
    return count


def is_late(service_date: date, recorded_on: date, limit: int) -> bool:
    """Recorded more than ``limit`` working days after the service (民政部令第67号: within 10)."""
    if (recorded_on - service_date).days <= limit:  # cannot be more than `limit` working days
        return False
    return working_days_after(service_date, recorded_on) > limit
