"""Working days: China's official calendar (with 调休), local overrides, Monday–Friday beyond it.

``chinese_calendar`` knows each year's holidays and adjusted workdays once the State
Council has published them; for a year it does not know it raises NotImplementedError,
and we fall back to Monday–Friday. ``WorkdayOverride`` rows (a city's own exceptions)
win over both.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
from flask_babel import gettext as _
from sqlalchemy import select

from kmvolunteer.core import audit
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.extensions import db
from kmvolunteer.years.models import WorkdayOverride

NOTE_MAX = 100


def official_workday(day: date) -> bool:
    """China's calendar; Monday–Friday for a year the package does not know."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def overrides_between(start: date, end: date) -> dict[date, bool]:
    rows = db.session.execute(
        select(WorkdayOverride.day, WorkdayOverride.is_workday).where(
            WorkdayOverride.day >= start, WorkdayOverride.day <= end
        )
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


def calendar_knows(year: int) -> bool:
    """Has the installed calendar the State Council's holidays of ``year``?"""
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def overrides_in_year(year: int) -> list[WorkdayOverride]:
    return list(
        db.session.scalars(
            select(WorkdayOverride)
            .where(WorkdayOverride.day >= date(year, 1, 1), WorkdayOverride.day <= date(year, 12, 31))
            .order_by(WorkdayOverride.day)
        )
    )


def _describe(is_workday: bool) -> str:
    return _("working day") if is_workday else _("day off")


def set_override(day: date, is_workday: bool, note: str, *, scope_path: str, actor_id: int | None = None) -> bool:
    """Make ``day`` a working day or a day off in Kunming, whatever the national calendar says.
    True when it replaced an exception already set for that day."""
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ServiceError(_("The note can be at most %(num)d characters.", num=NOTE_MAX), "note")
    existing = db.session.get(WorkdayOverride, day)
    if existing is None and official_workday(day) == is_workday:
        raise ServiceError(
            _(
                "%(day)s is already a %(kind)s in the national calendar: nothing to change.",
                day=day.isoformat(),
                kind=_describe(is_workday),
            ),
            "day",
        )
    before = {"is_workday": existing.is_workday, "note": existing.note} if existing else None
    override = existing or WorkdayOverride(day=day)
    override.is_workday, override.note = is_workday, note
    db.session.add(override)
    audit.record(
        "workday.set",
        None,
        scope_path=scope_path,
        before=before,
        after={"day": day, "is_workday": is_workday, "note": note},
        summary=f"{day.isoformat()} {_describe(is_workday)} {note}".strip(),
        actor_id=actor_id,
    )
    return existing is not None


def remove_override(day: date, *, scope_path: str, actor_id: int | None = None) -> None:
    """Back to the national calendar for ``day``."""
    existing = db.session.get(WorkdayOverride, day)
    if existing is None:
        raise ServiceError(_("%(day)s has no local exception.", day=day.isoformat()))
    audit.record(
        "workday.removed",
        None,
        scope_path=scope_path,
        before={"day": day, "is_workday": existing.is_workday, "note": existing.note},
        summary=f"{day.isoformat()} {_describe(existing.is_workday)}",
        actor_id=actor_id,
    )
    db.session.delete(existing)
