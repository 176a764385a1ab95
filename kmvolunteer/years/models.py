"""The service year: its rules (年度要求), whether it is open or closed, and the working-day calendar.

Below every feature: features import these; this package imports no feature.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, select, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kmvolunteer.core.db import known_statuses
from kmvolunteer.core.machine import Machine, Transition
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area


class YearRule(db.Model):
    """年度要求: the year's minimums, set by the city; a district may tighten them for its area."""

    __tablename__ = "year_rule"
    __table_args__ = (UniqueConstraint("year", "area_id", name="uq_year_rule_year_area"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    min_half_hours: Mapped[int] = mapped_column(default=0)
    min_activities: Mapped[int] = mapped_column(default=0)
    report_required: Mapped[bool] = mapped_column(default=True)
    report_period: Mapped[str] = mapped_column(String(8), default="year")  # "year" or "half"
    report_due: Mapped[date | None]
    evaluation_due: Mapped[date | None]
    feedback_frequency: Mapped[str] = mapped_column(String(8), default="quarter")  # quarter / half / year
    # Report in within this many days of the year's start, or of joining the roster later (None: no deadline).
    report_in_days: Mapped[int | None]
    # A branch falls short below this share (%) of its members reported in, or with fewer projects done.
    unit_report_in_rate: Mapped[int | None]
    unit_min_projects: Mapped[int] = mapped_column(default=0, server_default="0")
    # What follows from falling short (考核结果运用).
    mark_review: Mapped[bool] = mapped_column(default=True, server_default=true())  # marked in 民主评议
    bar_honours: Mapped[bool] = mapped_column(default=True, server_default=true())  # not eligible for 评先评优
    name_in_bulletin: Mapped[bool] = mapped_column(default=True, server_default=true())  # named in the 通报
    # 红色物业: the average rating (of 30: six criteria of 1–5) a property company needs to be a city-level or a
    # district-level brand that year (None: no such tier).
    brand_city_min: Mapped[int | None]
    brand_district_min: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    area: Mapped[Area] = relationship()


class YearStatus(str, enum.Enum):
    open = "open"
    closed = "closed"  # locked, tallies snapshotted


class Year(db.Model):
    """A service year: open, or closed (locked, tallies snapshotted) by the city."""

    __tablename__ = "service_year"
    __table_args__ = (known_statuses(YearStatus),)

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(8), default=YearStatus.open.value)
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    serial: Mapped[str | None] = mapped_column(String(32), unique=True)
    reopen_reason: Mapped[str] = mapped_column(Text, default="")


YEARS = Machine(
    Year,
    YearStatus,
    [
        Transition("close", ("open",), "closed", "year.manage", "year.closed"),
        Transition(
            "reopen",
            ("closed",),
            "open",
            "year.manage",
            "year.reopened",
            reason=_l("Give the reason for reopening the year."),
        ),
    ],
    labels={"open": _l("open"), "closed": _l("closed")},
    noun=_l("year"),
    reason_column="reopen_reason",
)


def year_is_closed(year: int) -> bool:
    """Is ``year`` closed (its records locked, its tallies frozen)?"""
    return db.session.scalar(select(Year.status).where(Year.year == year)) == "closed"


class WorkdayOverride(db.Model):
    """A local exception to China's official calendar (e.g. a city holiday), set by the city."""

    __tablename__ = "workday_override"

    day: Mapped[date] = mapped_column(primary_key=True)
    is_workday: Mapped[bool]
    note: Mapped[str] = mapped_column(String(100), default="")
