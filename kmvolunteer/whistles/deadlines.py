"""Deadlines of a summons, counted on working time.

Working time is the working days of years/workdays.py (China's official calendar with 调休, the city's
WorkdayOverride exceptions, Monday–Friday for a year the calendar package does not know) times the office
hours of the ``WORKING_HOURS`` setting (default 09:00–12:00 and 14:00–18:00, Kunming's government office
hours: 7 working hours a day). Times are stored in UTC and counted in Asia/Shanghai.

* sign: N working minutes (default 60, urgent 30);
* contact: N calendar hours (default 24), as the practice says "24 小时内联系";
* handle: N working days, i.e. N × the working minutes of a day (a summons at 10:00 on Monday with 3
  working days is due at 10:00 on Thursday; one summoned at night counts from the next morning).

Every deadline runs from the moment of the summons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from kmvolunteer.auth.models import User
from kmvolunteer.auth.policy import can
from kmvolunteer.core import audit
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import LOCAL_TZ, local_today, to_local, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.whistles.models import TIERS, DeadlineRule, Urgency
from kmvolunteer.years.models import WorkdayOverride
from kmvolunteer.years.workdays import calendar_knows, is_workday, overrides_between

# How far ahead a deadline may fall: 30 working days plus a 10-day extension, with a Spring Festival between.
HORIZON_DAYS = 120


@dataclass(frozen=True)
class Limits:
    sign_minutes: int  # working minutes
    contact_hours: int  # calendar hours
    handle_days: int  # working days


DEFAULTS = {
    Urgency.normal.value: Limits(sign_minutes=60, contact_hours=24, handle_days=3),
    Urgency.urgent.value: Limits(sign_minutes=30, contact_hours=24, handle_days=1),
}
RANGES = {"sign_minutes": (10, 480), "contact_hours": (1, 72), "handle_days": (1, 30)}  # as the table's CHECKs


Periods = tuple[tuple[time, time], ...]  # office hours of a day: (begin, end), in order


@dataclass(frozen=True)
class Deadlines:
    sign: datetime
    contact: datetime
    handle: datetime


def working_periods(spec: str | None = None) -> Periods:
    """The office hours of a day, from ``WORKING_HOURS`` ("09:00-12:00,14:00-18:00"): ordered, not
    overlapping, each at least a minute long. A wrong setting is a ValueError at the first deadline."""
    spec = spec if spec is not None else current_app.config["WORKING_HOURS"]
    periods: list[tuple[time, time]] = []
    for part in spec.split(","):
        begin, end = (time.fromisoformat(t.strip()) for t in part.split("-"))
        if end <= begin or (periods and begin < periods[-1][1]):
            raise ValueError(f"WORKING_HOURS: {spec!r} is not a list of ordered periods")
        periods.append((begin, end))
    if not periods:
        raise ValueError("WORKING_HOURS is empty")
    return tuple(periods)


def minutes_per_day(periods: Periods | None = None) -> int:
    periods = periods or working_periods()
    return sum((_minutes(end) - _minutes(begin)) for begin, end in periods)


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _utc(local: datetime) -> datetime:
    return local.replace(tzinfo=LOCAL_TZ).astimezone(UTC).replace(tzinfo=None)


def add_working_minutes(
    start: datetime, minutes: int, periods: Periods | None = None, overrides: dict[date, bool] | None = None
) -> datetime:
    """The UTC moment ``minutes`` of working time after the UTC moment ``start``: nights, weekends,
    holidays and local days off do not count; 调休 Saturdays and Sundays do. ``overrides``: the city's
    exceptions (years.workdays.overrides_between) of at least the HORIZON_DAYS from ``start``, when the
    caller has them already (the demo city's thousands of deadlines); read here otherwise."""
    periods = periods or working_periods()
    now = to_local(start).replace(tzinfo=None)
    if overrides is None:
        overrides = overrides_between(now.date(), now.date() + timedelta(days=HORIZON_DAYS))
    remaining = timedelta(minutes=minutes)
    day = now.date()
    for _day in range(HORIZON_DAYS):
        if is_workday(day, overrides):
            for begin, end in periods:
                opens, shuts = max(datetime.combine(day, begin), now), datetime.combine(day, end)
                if opens >= shuts:
                    continue
                if remaining <= shuts - opens:
                    return _utc(opens + remaining)
                remaining -= shuts - opens
        day += timedelta(days=1)
    raise ServiceError(_("There is not enough working time in the calendar for this deadline."))


def add_working_days(
    start: datetime, days: int, periods: Periods | None = None, overrides: dict[date, bool] | None = None
) -> datetime:
    periods = periods or working_periods()
    return add_working_minutes(start, days * minutes_per_day(periods), periods, overrides)


def limits_for(tier: str, urgency: str) -> Limits:
    """The rule of a tier and urgency: the organization department's, else the default."""
    row = db.session.scalar(select(DeadlineRule).where(DeadlineRule.tier == tier, DeadlineRule.urgency == urgency))
    if row is None:
        return DEFAULTS[urgency]
    return Limits(row.sign_minutes, row.contact_hours, row.handle_days)


def deadlines_from(start: datetime, limits: Limits, overrides: dict[date, bool] | None = None) -> Deadlines:
    periods = working_periods()
    if overrides is None:
        day = to_local(start).date()
        overrides = overrides_between(day, day + timedelta(days=HORIZON_DAYS))
    return Deadlines(
        sign=add_working_minutes(start, limits.sign_minutes, periods, overrides),
        contact=start + timedelta(hours=limits.contact_hours),
        handle=add_working_days(start, limits.handle_days, periods, overrides),
    )


def set_rule(tier: str, urgency: str, limits: Limits, actor: User) -> DeadlineRule:
    """The city's organization department sets a tier's deadlines (checked against RANGES); audited."""
    if not can(actor, "deadline.manage"):
        raise ServiceError(_("Only the city's organization department sets the deadlines."))
    if tier not in TIERS or urgency not in DEFAULTS:
        raise ServiceError(_("There is no such tier or urgency."))
    for field, (low, high) in RANGES.items():
        value = getattr(limits, field)
        if not isinstance(value, int) or not low <= value <= high:
            raise ServiceError(_("Enter a whole number from %(low)d to %(high)d.", low=low, high=high), field)
    row = db.session.scalar(select(DeadlineRule).where(DeadlineRule.tier == tier, DeadlineRule.urgency == urgency))
    before = limits_for(tier, urgency)
    if row is None:
        row = DeadlineRule(tier=tier, urgency=urgency)
        db.session.add(row)
    row.sign_minutes, row.contact_hours, row.handle_days = limits.sign_minutes, limits.contact_hours, limits.handle_days
    row.updated_at, row.updated_by_id = utcnow(), actor.id
    db.session.flush()
    audit.record(
        "whistle.deadline_rule",
        row,
        scope_path="/",
        summary=f"{tier} {urgency}",
        before=before.__dict__,
        after=limits.__dict__,
        actor_id=actor.id,
    )
    return row


def years_on_fallback(today: date | None = None) -> list[int]:
    """This year and the next, where deadlines run on Monday–Friday because the calendar package does not
    know the year's holidays and the city has entered no exception for it yet: for a warning to the
    organization department until the year's holidays are entered as local exceptions."""
    today = today or local_today()
    years = []
    for year in (today.year, today.year + 1):
        entered = db.session.scalar(
            select(WorkdayOverride.day)
            .where(WorkdayOverride.day >= date(year, 1, 1), WorkdayOverride.day <= date(year, 12, 31))
            .limit(1)
        )
        if not calendar_knows(year) and entered is None:
            years.append(year)
    return years
