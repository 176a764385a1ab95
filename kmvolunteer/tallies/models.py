from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db


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


class KeptYear(db.Model):
    """A year whose per-member facts and tally cells are kept current (see tallies.rollup)."""

    __tablename__ = "kept_year"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)


MONTHS = tuple(f"month_{month}" for month in range(1, 13))


class ByMonth:
    """Approved half-hours by the month the service was given (``month_1`` … ``month_12``)."""

    month_1: Mapped[int] = mapped_column(default=0, server_default="0")
    month_2: Mapped[int] = mapped_column(default=0, server_default="0")
    month_3: Mapped[int] = mapped_column(default=0, server_default="0")
    month_4: Mapped[int] = mapped_column(default=0, server_default="0")
    month_5: Mapped[int] = mapped_column(default=0, server_default="0")
    month_6: Mapped[int] = mapped_column(default=0, server_default="0")
    month_7: Mapped[int] = mapped_column(default=0, server_default="0")
    month_8: Mapped[int] = mapped_column(default=0, server_default="0")
    month_9: Mapped[int] = mapped_column(default=0, server_default="0")
    month_10: Mapped[int] = mapped_column(default=0, server_default="0")
    month_11: Mapped[int] = mapped_column(default=0, server_default="0")
    month_12: Mapped[int] = mapped_column(default=0, server_default="0")


class MemberFact(ByMonth, db.Model):
    """One active member's figures for a kept year: the only counters of service records.

    A change of one of the member's records adds its difference here (and to the member's
    cell) in the same transaction; anything else recomputes the row from the records
    (tallies.rollup).

    ``reports_needed`` is what the rule asks for (NULL: no rule for the year, 0: no report
    required); whether it is due yet is decided when the tally is read, from ``report_due``.
    """

    __tablename__ = "member_fact"
    __table_args__ = tuple(
        Index(f"ix_member_fact_year_{name}", "year", name)
        for name in ("branch_id", "agency_id", "agency_area_id", "community_id")
    )

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    branch_id: Mapped[int]
    agency_id: Mapped[int]
    agency_area_id: Mapped[int]
    community_id: Mapped[int | None]
    approved_half_hours: Mapped[int]
    approved_entries: Mapped[int]
    pending_entries: Mapped[int]
    reports_submitted: Mapped[int]
    rating: Mapped[str | None] = mapped_column(String(16))
    min_half_hours: Mapped[int | None]
    min_activities: Mapped[int | None]
    reports_needed: Mapped[int | None]
    report_due: Mapped[date | None]


class TallyCell(ByMonth, db.Model):
    """The members of one agency serving in one community (0: not reported in), summed for a kept year;
    the hours by month are what the area's hours-by-month line adds up.

    Every member of a cell falls under the same year rule (their agency's), so the
    number meeting it can be kept both with and without the report (``met_all`` and
    ``met_service``) and the right one picked when read, once the report is due.
    """

    __tablename__ = "tally_cell"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    agency_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    community_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    agency_area_id: Mapped[int]
    ruled: Mapped[bool]
    report_due: Mapped[date | None]
    headcount: Mapped[int] = mapped_column(default=0)
    half_hours: Mapped[int] = mapped_column(default=0)
    reports: Mapped[int] = mapped_column(default=0)
    met_service: Mapped[int] = mapped_column(default=0)
    met_all: Mapped[int] = mapped_column(default=0)
    rating_excellent: Mapped[int] = mapped_column(default=0)
    rating_good: Mapped[int] = mapped_column(default=0)
    rating_fair: Mapped[int] = mapped_column(default=0)
    rating_poor: Mapped[int] = mapped_column(default=0)
