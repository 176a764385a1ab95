"""Tallies at every level, grouped in SQL from the per-member facts of a year.

Two ways of cutting the same members:
* by employer — city → districts and agencies administered there → branches → members
  (headcount, report-in rate: the organization department's own people);
* by place of service — area → sub-areas → communities → members reported in there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.orm import aliased

from kmvolunteer.core.time import local_today, to_local
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area, Branch, Member
from kmvolunteer.reportin.models import Project, ReportIn
from kmvolunteer.reports.models import Rating, UnitRating
from kmvolunteer.reports.services import done_between, reported_in_between
from kmvolunteer.tallies.facts import (
    Columns,
    Scope,
    compliant_expr,
    facts,
    is_kept,
    live_raw,
    scope_filter,
)
from kmvolunteer.tallies.models import MONTHS, TallyCell
from kmvolunteer.years.rules import RuleBook, period_bounds
from kmvolunteer.years.standing import (
    POOR_MEMBER,
    POOR_UNIT,
    MemberYear,
    Standing,
    UnitYear,
    member_standing,
    unit_standing,
)

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
    compliant: int | None = None  # None: no rule applies to anyone in the group
    reports: int = 0
    ratings: dict[str, int] = field(default_factory=lambda: {r: 0 for r in RATINGS})

    def add(self, values) -> None:
        """Add a row of sums (headcount, reported_in, …, rating_<grade>) to this group."""
        self.headcount += values.headcount or 0
        self.reported_in += values.reported_in or 0
        self.half_hours += values.half_hours or 0
        if values.compliant is not None:
            self.compliant = (self.compliant or 0) + values.compliant
        self.reports += values.reports or 0
        for r in RATINGS:
            self.ratings[r] = self.ratings.get(r, 0) + (getattr(values, f"rating_{r}") or 0)

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
    branch_id: int
    agency_area_path: str
    community: str | None
    half_hours: int
    entries: int
    pending: int
    reports_submitted: int
    reports_required: int | None
    rating: str | None
    min_half_hours: int | None
    min_activities: int | None
    standing: Standing | None = None  # where the member stands under the year's rule, and why

    @property
    def hours(self) -> float:
        return self.half_hours / 2

    @property
    def compliant(self) -> bool | None:
        """Meets the year's minimums of service and reports (达标, as the tallies count it; None: no rule is
        set). Whether the member falls short in the year's 考核, and why, is ``standing``'s word."""
        if self.min_half_hours is None:
            return None
        return (
            self.half_hours >= self.min_half_hours
            and self.entries >= (self.min_activities or 0)
            and self.reports_submitted >= (self.reports_required or 0)
        )


def _member_units(year: int, scope: Scope):
    """One unit per member, from the facts."""
    f = facts(year, scope).subquery()
    return select(
        f.c.agency_id,
        f.c.agency_area_id,
        f.c.community_id,
        f.c.branch_id,
        literal(1).label("headcount"),
        _one_if(f.c.community_id.is_not(None)).label("reported_in"),
        f.c.approved_half_hours.label("half_hours"),
        compliant_expr(f).label("compliant"),
        _one_if(f.c.reports_submitted > 0).label("reports"),
        *(_one_if(f.c.rating == r).label(f"rating_{r}") for r in RATINGS),
    ).subquery()


def _cell_units(year: int, scope: Scope):
    """One unit per cell (an agency's members serving in one community), from TallyCell."""
    c = TallyCell
    due = or_(c.report_due.is_(None), c.report_due < local_today())
    community_id = func.nullif(c.community_id, 0)
    where = scope_filter(scope, Columns(None, None, c.agency_id, c.agency_area_id, community_id))
    return (
        select(
            c.agency_id,
            c.agency_area_id,
            community_id.label("community_id"),
            c.headcount,
            case((c.community_id != 0, c.headcount), else_=0).label("reported_in"),
            c.half_hours,
            case((c.ruled.is_(False), None), (due, c.met_all), else_=c.met_service).label("compliant"),
            c.reports,
            *(getattr(c, f"rating_{r}") for r in RATINGS),
        )
        .where(c.year == year, c.headcount != 0, *where)
        .subquery()
    )


def _area_units(year: int, scope: Scope):
    """Units to sum for an area: the kept cells of a kept year (frozen with the snapshot once the year
    is closed), else one per member."""
    if is_kept(year):
        return _cell_units(year, scope)
    return _member_units(year, scope)


def _one_if(condition):
    return case((condition, 1), else_=0)


def _aggregates(u):
    return [
        func.sum(u.c[name]).label(name)
        for name in (
            "headcount",
            "reported_in",
            "half_hours",
            "compliant",
            "reports",
            *(f"rating_{r}" for r in RATINGS),
        )
    ]


def _row(key: int | None, name: str, kind: str, values) -> GroupRow:
    row = GroupRow(key, name, kind)
    row.add(values)
    return row


def _under(column, area: Area):
    return column.startswith(area.path, autoescape=True)


# ---- by employer -------------------------------------------------------------------------


def _child_of(area: Area, path: str) -> int:
    """The id of ``area``'s child that the area with ``path`` lies in (paths are "/1/2/15/")."""
    return int(path[len(area.path) :].split("/", 1)[0])


def _paths(ids: set[int]) -> dict[int, str]:
    return dict(db.session.execute(select(Area.id, Area.path).where(Area.id.in_(ids))).tuples().all()) if ids else {}


def _names(model: type, ids: set[int]) -> dict[int, str]:
    return dict(db.session.execute(select(model.id, model.name).where(model.id.in_(ids))).tuples().all()) if ids else {}


def employer_rows(year: int, area: Area) -> tuple[list[GroupRow], GroupRow]:
    """Agencies administered at ``area`` itself, then each child area's agencies together.

    One query sums by agency; the sums are rolled up to child areas here, by path.
    """
    u = _area_units(year, Scope("employer_area", area.path))
    sums = db.session.execute(
        select(u.c.agency_id, u.c.agency_area_id, *_aggregates(u)).group_by(u.c.agency_id, u.c.agency_area_id)
    ).all()
    own_ids = {r.agency_id for r in sums if r.agency_area_id == area.id}
    agency_names = _names(Agency, own_ids)
    paths = _paths({r.agency_area_id for r in sums if r.agency_area_id != area.id})
    child_ids = {_child_of(area, path) for path in paths.values()}
    child_names = _names(Area, child_ids)
    own = {i: GroupRow(i, agency_names[i], "agency") for i in own_ids}
    children = {i: GroupRow(i, child_names[i], "area") for i in child_ids}
    total = GroupRow(area.id, area.name, "total")
    for r in sums:
        row = own[r.agency_id] if r.agency_area_id == area.id else children[_child_of(area, paths[r.agency_area_id])]
        row.add(r)
        total.add(r)
    rows = sorted(own.values(), key=lambda g: g.name) + [children[i] for i in sorted(children)]
    return rows, total


def agencies_under(year: int, area: Area) -> list[GroupRow]:
    """Each agency administered at ``area`` or below with its own figures, by name (a work committee's list:
    not rolled up to child areas as ``employer_rows`` does). One query sums by agency."""
    u = _area_units(year, Scope("employer_area", area.path))
    sums = db.session.execute(select(u.c.agency_id, *_aggregates(u)).group_by(u.c.agency_id)).all()
    names = _names(Agency, {r.agency_id for r in sums})
    return sorted((_row(r.agency_id, names[r.agency_id], "agency", r) for r in sums), key=lambda g: g.name)


def agency_rows(year: int, agency: Agency) -> tuple[list[GroupRow], GroupRow]:
    f = _member_units(year, Scope("agency", id=agency.id))
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
    f = _member_units(year, Scope("branch", id=branch.id))
    total = db.session.execute(select(*_aggregates(f)).where(f.c.branch_id == branch.id)).one()
    return _row(branch.id, branch.name, "total", total)


# ---- by place of service ------------------------------------------------------------------


def service_rows(year: int, area: Area) -> tuple[list[GroupRow], GroupRow]:
    """Members reported in to communities under ``area``, grouped by the child area they serve in.

    One query sums by community; the sums are rolled up to child areas here, by path.
    """
    u = _area_units(year, Scope("service_area", area.path))
    sums = db.session.execute(select(u.c.community_id, *_aggregates(u)).group_by(u.c.community_id)).all()
    paths = _paths({r.community_id for r in sums})
    children: dict[int, GroupRow] = {}
    total = GroupRow(area.id, area.name, "total")
    for r in sums:
        total.add(r)
        if area.level != "community":
            child = _child_of(area, paths[r.community_id])
            children.setdefault(child, GroupRow(child, "", "area")).add(r)
    for child_id, name in _names(Area, set(children)).items():
        children[child_id].name = name
    return [children[i] for i in sorted(children)], total


# ---- members ----------------------------------------------------------------------------


def member_rows(
    year: int,
    *,
    branch: Branch | None = None,
    agency: Agency | None = None,
    employer_area: Area | None = None,
    service_area: Area | None = None,
    shortfall_only: bool = False,
) -> Iterator[MemberRow]:
    """Members of a branch, an agency, the agencies under an area, or serving under an area."""
    scope = (
        Scope("branch", id=branch.id)
        if branch is not None
        else Scope("agency", id=agency.id)
        if agency is not None
        else Scope("employer_area", employer_area.path)
        if employer_area is not None
        else Scope("service_area", service_area.path)
        if service_area is not None
        else None
    )
    f = facts(year, scope).subquery()
    community = aliased(Area)
    agency_area = aliased(Area)
    book = RuleBook(year)
    # When the member's report-in was sent matters only under a rule with a report-in deadline: read it then,
    # by the member's own index (a join on the community too would walk the community's report-ins instead).
    late_check = any(rule.report_in_days for rule in book.by_area.values())
    reported_in_at = (
        select(ReportIn.submitted_at)
        .where(ReportIn.member_id == f.c.member_id, ReportIn.kind == "member", ReportIn.status == "confirmed")
        .limit(1)
        .scalar_subquery()
        if late_check
        else literal(None)
    )
    stmt = (
        select(
            f,
            Member.name,
            Member.created_at.label("joined_at"),
            Agency.name.label("agency_name"),
            Branch.name.label("branch_name"),
            community.name.label("community_name"),
            agency_area.path.label("agency_area_path"),
            reported_in_at.label("reported_in_at"),
        )
        .join(Member, Member.id == f.c.member_id)
        .join(Branch, Branch.id == f.c.branch_id)
        .join(Agency, Agency.id == f.c.agency_id)
        .join(agency_area, agency_area.id == f.c.agency_area_id)
        .outerjoin(community, community.id == f.c.community_id)
    )
    if branch is not None:
        stmt = stmt.where(f.c.branch_id == branch.id)
    if agency is not None:
        stmt = stmt.where(f.c.agency_id == agency.id)
    if employer_area is not None:
        stmt = stmt.where(_under(agency_area.path, employer_area))
    if service_area is not None:
        stmt = stmt.where(_under(community.path, service_area))
    if shortfall_only and not late_check:
        # Only these can fall short (a late report-in is possible only under a rule with a deadline).
        stmt = stmt.where(or_(compliant_expr(f) == 0, f.c.community_id.is_(None), f.c.rating == POOR_MEMBER))
    stmt = stmt.order_by(Agency.name, Branch.id, Member.name, Member.id)
    for r in db.session.execute(stmt.execution_options(yield_per=2000)):
        standing = member_standing(
            book.for_path(r.agency_area_path),
            MemberYear(
                reported_in=r.community_id is not None,
                reported_in_on=to_local(r.reported_in_at).date() if r.reported_in_at else None,
                joined_on=to_local(r.joined_at).date() if late_check and r.joined_at else None,
                half_hours=r.approved_half_hours,
                entries=r.approved_entries,
                reports_submitted=r.reports_submitted,
                reports_required=r.reports_required or 0,
                rating=r.rating,
            ),
        )
        if shortfall_only and not (standing and standing.short):
            continue
        yield MemberRow(
            standing=standing,
            member_id=r.member_id,
            name=r.name,
            agency=r.agency_name,
            branch=r.branch_name,
            branch_id=r.branch_id,
            agency_area_path=r.agency_area_path,
            community=r.community_name,
            half_hours=r.approved_half_hours,
            entries=r.approved_entries,
            pending=r.pending_entries,
            reports_submitted=r.reports_submitted,
            reports_required=r.reports_required,
            rating=r.rating,
            min_half_hours=r.min_half_hours,
            min_activities=r.min_activities,
        )


@dataclass
class BranchShortRow:
    """A branch of an agency under the area that falls short of the year's unit thresholds, and why."""

    branch_id: int
    agency: str
    branch: str
    members: int
    reported_in: int  # members reported in
    projects_done: int
    standing: Standing


def branch_shortfalls(
    year: int, employer_area: Area | None = None, agency: Agency | None = None
) -> list[BranchShortRow]:
    """Active branches of the agencies administered under ``employer_area`` (or of ``agency``) that fall short
    in ``year``: no branch report-in in force at any moment of it, too few members reported in, too few
    projects done, or rated 较差 by a community (under the rule of each branch's agency)."""
    start, end = period_bounds(year, "Y")
    scope = Scope("agency", id=agency.id) if agency is not None else Scope("employer_area", employer_area.path)
    where = Agency.id == agency.id if agency is not None else _under(Area.path, employer_area)
    f = facts(year, scope).subquery()
    members = {
        branch_id: (headcount, reported_in)
        for branch_id, headcount, reported_in in db.session.execute(
            select(f.c.branch_id, func.count(), func.sum(_one_if(f.c.community_id.is_not(None)))).group_by(
                f.c.branch_id
            )
        )
    }
    reported = set(db.session.scalars(select(ReportIn.branch_id).where(reported_in_between(start, end, kind="branch"))))
    projects = dict(
        db.session.execute(
            select(Project.branch_id, func.count(Project.id))
            .where(done_between(start, end))
            .group_by(Project.branch_id)
        )
        .tuples()
        .all()
    )
    rated_poor = set(
        db.session.scalars(select(UnitRating.branch_id).where(UnitRating.year == year, UnitRating.rating == POOR_UNIT))
    )
    book = RuleBook(year)
    rows = []
    for branch_id, agency, branch, path in db.session.execute(
        select(Branch.id, Agency.name, Branch.name, Area.path)
        .join(Agency, Branch.agency_id == Agency.id)
        .join(Area, Agency.area_id == Area.id)
        .where(Branch.active.is_(True), Agency.active.is_(True), where)
        .order_by(Agency.name, Branch.name, Branch.id)
    ):
        headcount, reported_in = members.get(branch_id, (0, 0))
        figures = UnitYear(
            reported_in=branch_id in reported,
            members=headcount,
            members_reported_in=int(reported_in or 0),
            projects_done=projects.get(branch_id, 0),
            rated_poor=branch_id in rated_poor,
        )
        standing = unit_standing(book.for_path(path), figures)
        if standing is not None and standing.short:
            rows.append(
                BranchShortRow(
                    branch_id, agency, branch, headcount, figures.members_reported_in, figures.projects_done, standing
                )
            )
    return rows


def monthly_half_hours(year: int, area: Area) -> list[int]:
    """Approved half-hours month by month of the members reported in to communities under ``area`` (those
    the area's table counts): summed from the kept cells, else from the records."""
    scope = Scope("service_area", area.path)
    if is_kept(year):
        c = TallyCell
        where = scope_filter(scope, Columns(None, None, c.agency_id, c.agency_area_id, func.nullif(c.community_id, 0)))
        units = select(*(getattr(c, name) for name in MONTHS)).where(c.year == year, *where).subquery()
    else:
        units = live_raw(year, scope).subquery()
    totals = db.session.execute(select(*(func.coalesce(func.sum(units.c[name]), 0) for name in MONTHS))).one()
    return [int(total) for total in totals]
