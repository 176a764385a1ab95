"""Tallies at every level, grouped in SQL from the per-member facts of a year.

Two ways of cutting the same members:
* by employer — city → districts and agencies administered there → branches → members
  (headcount, report-in rate: the organization department's own people);
* by place of service — area → sub-areas → communities → members reported in there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Iterator

from sqlalchemy import and_, case, extract, func, select
from sqlalchemy.orm import aliased

from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area, Branch, Member
from kmvolunteer.reports.models import Rating
from kmvolunteer.service.models import RecordStatus, ServiceRecord
from kmvolunteer.tallies.facts import Scope, compliant_expr, facts

RATINGS = [r.value for r in Rating]


@dataclass
class GroupRow:
    """Figures for a group of members (an area, an agency, a branch or a whole scope)."""

    key: int | None
    name: str
    kind: str  # "area", "agency", "branch" or "total"
    headcount: int = 0
    reported_in: int = 0
    half_hours: int = 0
    compliant: int | None = 0
    reports: int = 0
    ratings: dict[str, int] = field(default_factory=dict)

    @property
    def report_in_rate(self) -> float | None:
        return self.reported_in / self.headcount * 100 if self.headcount else None

    @property
    def hours(self) -> float:
        return self.half_hours / 2

    @property
    def average_hours(self) -> float | None:
        return self.half_hours / 2 / self.headcount if self.headcount else None

    @property
    def compliance_rate(self) -> float | None:
        return self.compliant / self.headcount * 100 if self.headcount and self.compliant is not None else None


@dataclass
class MemberRow:
    member_id: int
    name: str
    agency: str
    branch: str
    community: str | None
    half_hours: int
    entries: int
    pending: int
    reports_submitted: int
    reports_required: int | None
    rating: str | None
    min_half_hours: int | None
    min_activities: int | None

    @property
    def hours(self) -> float:
        return self.half_hours / 2

    @property
    def has_rule(self) -> bool:
        return self.min_half_hours is not None

    @property
    def hours_short(self) -> float:
        return max((self.min_half_hours or 0) - self.half_hours, 0) / 2

    @property
    def activities_short(self) -> int:
        return max((self.min_activities or 0) - self.entries, 0)

    @property
    def report_missing(self) -> bool:
        return self.reports_submitted < (self.reports_required or 0)

    @property
    def compliant(self) -> bool | None:
        if not self.has_rule:
            return None
        return not (self.hours_short or self.activities_short or self.report_missing)


def _aggregates(f):  # noqa: ANN001, ANN202
    compliant = compliant_expr(f)
    columns = [
        func.count().label("headcount"),
        func.sum(case((f.c.community_id.is_not(None), 1), else_=0)).label("reported_in"),
        func.coalesce(func.sum(f.c.approved_half_hours), 0).label("half_hours"),
        func.sum(compliant).label("compliant"),
        func.sum(case((f.c.reports_submitted > 0, 1), else_=0)).label("reports"),
    ]
    columns += [func.sum(case((f.c.rating == r, 1), else_=0)).label(f"rating_{r}") for r in RATINGS]
    return columns


def _row(key: int | None, name: str, kind: str, values) -> GroupRow:  # noqa: ANN001
    return GroupRow(
        key=key, name=name, kind=kind,
        headcount=values.headcount or 0,
        reported_in=values.reported_in or 0,
        half_hours=values.half_hours or 0,
        compliant=values.compliant,
        reports=values.reports or 0,
        ratings={r: getattr(values, f"rating_{r}") or 0 for r in RATINGS},
    )


def _under(column, area: Area):  # noqa: ANN001, ANN202
    return column.startswith(area.path, autoescape=True)


# ---- by employer -------------------------------------------------------------------------

def employer_rows(year: int, area: Area) -> tuple[list[GroupRow], GroupRow]:
    """Agencies administered at ``area`` itself, then each child area's agencies together."""
    f = facts(year, Scope("employer_area", area.path)).subquery()
    agency_area = aliased(Area)
    child = aliased(Area)
    own = db.session.execute(
        select(Agency.id, Agency.name, *_aggregates(f))
        .join(Agency, Agency.id == f.c.agency_id)
        .where(f.c.agency_area_id == area.id)
        .group_by(Agency.id, Agency.name)
        .order_by(Agency.name)
    ).all()
    children = db.session.execute(
        select(child.id, child.name, *_aggregates(f))
        .join(agency_area, agency_area.id == f.c.agency_area_id)
        .join(child, and_(child.parent_id == area.id, agency_area.path.startswith(child.path)))
        .group_by(child.id, child.name)
        .order_by(child.id)
    ).all()
    total = db.session.execute(
        select(*_aggregates(f)).join(agency_area, agency_area.id == f.c.agency_area_id)
        .where(_under(agency_area.path, area))
    ).one()
    rows = [_row(r.id, r.name, "agency", r) for r in own] + [_row(r.id, r.name, "area", r) for r in children]
    return rows, _row(area.id, area.name, "total", total)


def agency_rows(year: int, agency: Agency) -> tuple[list[GroupRow], GroupRow]:
    f = facts(year, Scope("agency", id=agency.id)).subquery()
    rows = db.session.execute(
        select(Branch.id, Branch.name, *_aggregates(f))
        .join(Branch, Branch.id == f.c.branch_id)
        .where(f.c.agency_id == agency.id)
        .group_by(Branch.id, Branch.name)
        .order_by(Branch.id)
    ).all()
    total = db.session.execute(select(*_aggregates(f)).where(f.c.agency_id == agency.id)).one()
    return [_row(r.id, r.name, "branch", r) for r in rows], _row(agency.id, agency.name, "total", total)


def branch_total(year: int, branch: Branch) -> GroupRow:
    f = facts(year, Scope("branch", id=branch.id)).subquery()
    total = db.session.execute(select(*_aggregates(f)).where(f.c.branch_id == branch.id)).one()
    return _row(branch.id, branch.name, "total", total)


# ---- by place of service ------------------------------------------------------------------

def service_rows(year: int, area: Area) -> tuple[list[GroupRow], GroupRow]:
    """Members reported in to communities under ``area``, grouped by the child area they serve in."""
    f = facts(year, Scope("service_area", area.path)).subquery()
    community = aliased(Area)
    child = aliased(Area)
    rows = []
    if area.level != "community":
        rows = db.session.execute(
            select(child.id, child.name, *_aggregates(f))
            .join(community, community.id == f.c.community_id)
            .join(child, and_(child.parent_id == area.id, community.path.startswith(child.path)))
            .group_by(child.id, child.name)
            .order_by(child.id)
        ).all()
    total = db.session.execute(
        select(*_aggregates(f)).join(community, community.id == f.c.community_id)
        .where(_under(community.path, area))
    ).one()
    return [_row(r.id, r.name, "area", r) for r in rows], _row(area.id, area.name, "total", total)


# ---- members ----------------------------------------------------------------------------

def member_rows(year: int, *, branch: Branch | None = None, agency: Agency | None = None,
                employer_area: Area | None = None, service_area: Area | None = None,
                shortfall_only: bool = False) -> Iterator[MemberRow]:
    """Members of a branch, an agency, the agencies under an area, or serving under an area."""
    scope = (Scope("branch", id=branch.id) if branch is not None else
             Scope("agency", id=agency.id) if agency is not None else
             Scope("employer_area", employer_area.path) if employer_area is not None else
             Scope("service_area", service_area.path) if service_area is not None else None)
    f = facts(year, scope).subquery()
    community = aliased(Area)
    agency_area = aliased(Area)
    stmt = (
        select(f, Member.name, Agency.name.label("agency_name"), Branch.name.label("branch_name"),
               community.name.label("community_name"))
        .join(Member, Member.id == f.c.member_id)
        .join(Branch, Branch.id == f.c.branch_id)
        .join(Agency, Agency.id == f.c.agency_id)
        .outerjoin(community, community.id == f.c.community_id)
    )
    if branch is not None:
        stmt = stmt.where(f.c.branch_id == branch.id)
    if agency is not None:
        stmt = stmt.where(f.c.agency_id == agency.id)
    if employer_area is not None:
        stmt = stmt.join(agency_area, agency_area.id == f.c.agency_area_id).where(
            _under(agency_area.path, employer_area))
    if service_area is not None:
        stmt = stmt.where(_under(community.path, service_area))
    if shortfall_only:
        stmt = stmt.where(compliant_expr(f) == 0)
    stmt = stmt.order_by(Agency.name, Branch.id, Member.name, Member.id)
    for r in db.session.execute(stmt.execution_options(yield_per=2000)):
        yield MemberRow(
            member_id=r.member_id, name=r.name, agency=r.agency_name, branch=r.branch_name,
            community=r.community_name, half_hours=r.approved_half_hours, entries=r.approved_entries,
            pending=r.pending_entries, reports_submitted=r.reports_submitted,
            reports_required=r.reports_required, rating=r.rating, min_half_hours=r.min_half_hours,
            min_activities=r.min_activities,
        )


def monthly_half_hours(year: int, area: Area) -> list[int]:
    """Approved half-hours served in communities under ``area``, month by month.

    Filtered by community id and date range so the queue index
    (community_id, status, service_date) does the work.
    """
    month = extract("month", ServiceRecord.service_date)
    communities = select(Area.id).where(Area.level == "community", _under(Area.path, area))
    rows = db.session.execute(
        select(month, func.sum(ServiceRecord.half_hours))
        .where(ServiceRecord.community_id.in_(communities),
               ServiceRecord.status == RecordStatus.approved.value,
               ServiceRecord.service_date >= date(year, 1, 1), ServiceRecord.service_date <= date(year, 12, 31))
        .group_by(month)
    ).all()
    by_month = {int(m): int(total or 0) for m, total in rows}
    return [by_month.get(m, 0) for m in range(1, 13)]
