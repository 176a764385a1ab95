from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

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
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    area: Mapped[Area] = relationship()


class Year(db.Model):
    """A service year: open, or closed (locked, tallies snapshotted) by the city."""

    __tablename__ = "service_year"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open / closed
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    serial: Mapped[str | None] = mapped_column(String(32), unique=True)
    reopen_reason: Mapped[str] = mapped_column(Text, default="")


def year_is_closed(year: int) -> bool:
    """Is ``year`` closed (its records locked, its tallies frozen)?"""
    from sqlalchemy import select

    return db.session.scalar(select(Year.status).where(Year.year == year)) == "closed"


class TallySnapshot(db.Model):
    """One member's figures for a closed year, frozen when the year was closed.

    The tallies of a closed year at every level are grouped from these rows, so
    printing them later gives the same numbers whatever happens afterwards.
    """

    __tablename__ = "tally_snapshot"

    year: Mapped[int] = mapped_column(ForeignKey("service_year.year"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    branch_id: Mapped[int] = mapped_column(index=True)
    agency_id: Mapped[int] = mapped_column(index=True)
    agency_area_id: Mapped[int]
    community_id: Mapped[int | None] = mapped_column(index=True)
    approved_half_hours: Mapped[int]
    approved_entries: Mapped[int]
    pending_entries: Mapped[int]
    reports_submitted: Mapped[int]
    rating: Mapped[str | None] = mapped_column(String(16))
    min_half_hours: Mapped[int | None]
    min_activities: Mapped[int | None]
    reports_required: Mapped[int | None]
