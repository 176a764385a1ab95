"""Per-member facts for a year — the one source every tally is grouped from.

For a closed year they are read from the frozen TallySnapshot rows; for a kept year
from MemberFact (kept current by tallies.rollup); otherwise live (counters, report-ins,
reports, evaluations, year rules). All give the same columns, so the grouping code
never knows the difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, extract, func, or_, select
from sqlalchemy.orm import aliased

from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area, Branch, Member
from kmvolunteer.reportin.models import ReportIn
from kmvolunteer.reports.models import Evaluation, Report
from kmvolunteer.service.models import RecordStatus, ServiceRecord
from kmvolunteer.tallies.models import MONTHS, KeptYear, MemberFact, TallySnapshot
from kmvolunteer.years.models import YearRule, year_is_closed

# What a member's records add up to in a year (with MONTHS): the counters a change of a record moves.
COUNTERS = ("approved_half_hours", "approved_entries", "pending_entries")
FACT_COLUMNS = (
    "member_id",
    "branch_id",
    "agency_id",
    "agency_area_id",
    "community_id",
    *COUNTERS,
    "reports_submitted",
    "rating",
    "min_half_hours",
    "min_activities",
    "reports_required",
)


def city_id() -> int | None:
    return db.session.scalar(select(Area.id).where(Area.level == "city").order_by(Area.id).limit(1))


@dataclass(frozen=True)
class Scope:
    """Which members to take, pushed into the facts query so indexes do the narrowing.

    kind: "service_area" (reported in to a community under area_path), "employer_area"
    (of an agency administered under area_path), "agency" or "branch" (by id), or
    "members" (by ids).
    """

    kind: str
    area_path: str = ""
    id: int = 0
    ids: tuple[int, ...] = ()


RAW_COLUMNS = FACT_COLUMNS[:-1] + ("reports_needed", "report_due", *MONTHS)


def _required(needed, due):
    """The reports a member must have handed in by today: a report counts against the rule
    only once it is due — in November nobody falls short for a report due in January."""
    return case(
        (needed.is_(None), None),
        (and_(needed > 0, or_(due.is_(None), due < local_today())), needed),
        else_=0,
    )


def live_raw(year: int, scope: Scope | None = None) -> Select:
    """RAW_COLUMNS computed from the records: one row per active member with this year's
    figures and the rule that applies to them (their agency's district's rule, else the
    city's; the rule columns are NULL when no rule is set for the year)."""
    by_members = scope is not None and scope.kind == "members"
    return _raw(
        year,
        city_id() or 0,
        scope_filter(scope, _LIVE),
        [Report.member_id.in_(scope.ids)] if by_members else [],
        [ServiceRecord.member_id.in_(scope.ids)] if by_members else [],
    )


@lru_cache(maxsize=1)
def members_raw() -> Select:
    """live_raw for a few members, built once with bound parameters ``year``, ``member_ids``,
    ``report_member_ids`` and ``record_member_ids`` (the same ids): recomputing one member should not
    spend its time building this statement again (nor a query for the city's id)."""
    city = select(Area.id).where(Area.level == "city").order_by(Area.id).limit(1).scalar_subquery()
    return _raw(
        bindparam("year"),
        city,
        [Member.id.in_(bindparam("member_ids", expanding=True))],
        [Report.member_id.in_(bindparam("report_member_ids", expanding=True))],
        [ServiceRecord.member_id.in_(bindparam("record_member_ids", expanding=True))],
    )


def _counted(year: Any, record_where: list):
    """Each member's approved half-hours (in all and by month), approved and pending entries of the
    year, from their records."""
    approved = ServiceRecord.status == RecordStatus.approved.value
    month = extract("month", ServiceRecord.service_date)

    def total(condition, value: Any = 1):
        return func.sum(case((condition, value), else_=0))

    return (
        select(
            ServiceRecord.member_id,
            total(approved, ServiceRecord.half_hours).label("approved_half_hours"),
            total(approved).label("approved_entries"),
            total(ServiceRecord.status == RecordStatus.submitted.value).label("pending_entries"),
            *(
                total(and_(approved, month == number), ServiceRecord.half_hours).label(name)
                for number, name in enumerate(MONTHS, start=1)
            ),
        )
        .where(ServiceRecord.year == year, *record_where)
        .group_by(ServiceRecord.member_id)
        .subquery()
    )


def _raw(year: Any, city: Any, where: list, report_where: list, record_where: list) -> Select:
    own_rule, city_rule = aliased(YearRule), aliased(YearRule)
    rule = case((own_rule.id.is_not(None), 1), else_=0)

    def pick(column: str):
        return case((rule == 1, getattr(own_rule, column)), else_=getattr(city_rule, column))

    reports = (
        select(Report.member_id, func.count(Report.id).label("n"))
        .where(
            Report.kind == "member",
            Report.year == year,
            Report.status.in_(("submitted", "acknowledged")),
            *report_where,
        )
        .group_by(Report.member_id)
        .subquery()
    )
    counted = _counted(year, record_where)
    confirmed = and_(ReportIn.member_id == Member.id, ReportIn.kind == "member", ReportIn.status == "confirmed")
    needed = case(
        (pick("report_required").is_(None), None),
        (pick("report_required") == True, case((pick("report_period") == "half", 2), else_=1)),  # noqa: E712
        else_=0,
    )
    columns = [
        Member.id.label("member_id"),
        Member.branch_id.label("branch_id"),
        Branch.agency_id.label("agency_id"),
        Agency.area_id.label("agency_area_id"),
        ReportIn.community_id.label("community_id"),
        *(func.coalesce(counted.c[name], 0).label(name) for name in COUNTERS),
        func.coalesce(reports.c.n, 0).label("reports_submitted"),
        Evaluation.rating.label("rating"),
        pick("min_half_hours").label("min_half_hours"),
        pick("min_activities").label("min_activities"),
        needed.label("reports_needed"),
        pick("report_due").label("report_due"),
        *(func.coalesce(counted.c[name], 0).label(name) for name in MONTHS),
    ]
    return (
        select(*columns)
        .select_from(Member)
        .join(Branch, Member.branch_id == Branch.id)
        .join(Agency, Branch.agency_id == Agency.id)
        .outerjoin(ReportIn, confirmed)
        .outerjoin(counted, counted.c.member_id == Member.id)
        .outerjoin(reports, reports.c.member_id == Member.id)
        .outerjoin(
            Evaluation,
            and_(
                Evaluation.member_id == Member.id,
                Evaluation.year == year,
                Evaluation.community_id == ReportIn.community_id,
                Evaluation.published.is_(True),
            ),
        )
        .outerjoin(own_rule, and_(own_rule.year == year, own_rule.area_id == Agency.area_id))
        .outerjoin(city_rule, and_(city_rule.year == year, city_rule.area_id == city))
        .where(Member.active.is_(True), *where)
    )


def live_facts(year: int, scope: Scope | None = None) -> Select:
    """FACT_COLUMNS computed from the records."""
    raw = live_raw(year, scope)
    columns = raw.selected_columns
    return raw.with_only_columns(
        *(columns[name] for name in FACT_COLUMNS[:-1]),
        _required(columns.reports_needed, columns.report_due).label("reports_required"),
        maintain_column_froms=True,
    )


def kept_facts(year: int, scope: Scope | None = None) -> Select:
    """FACT_COLUMNS of a kept year, read from MemberFact."""
    columns = [getattr(MemberFact, name).label(name) for name in FACT_COLUMNS[:-1]]
    return select(
        *columns, _required(MemberFact.reports_needed, MemberFact.report_due).label("reports_required")
    ).where(MemberFact.year == year, *scope_filter(scope, _KEPT))


def _areas_under(path: str, level: str | None = None):
    stmt = select(Area.id).where(Area.path.startswith(path, autoescape=True))
    return stmt.where(Area.level == level) if level else stmt


@dataclass(frozen=True)
class Columns:
    """The columns a Scope filters on, in one source of facts."""

    member_id: Any
    branch_id: Any
    agency_id: Any
    agency_area_id: Any
    community_id: Any


_LIVE = Columns(Member.id, Member.branch_id, Branch.agency_id, Agency.area_id, ReportIn.community_id)
_KEPT = Columns(
    MemberFact.member_id, MemberFact.branch_id, MemberFact.agency_id, MemberFact.agency_area_id, MemberFact.community_id
)
_SNAPSHOT = Columns(
    TallySnapshot.member_id,
    TallySnapshot.branch_id,
    TallySnapshot.agency_id,
    TallySnapshot.agency_area_id,
    TallySnapshot.community_id,
)


def scope_filter(scope: Scope | None, c: Columns) -> list:
    if scope is None:
        return []
    whole_city = scope.area_path.count("/") == 2
    if scope.kind == "service_area":
        return [
            c.community_id.is_not(None)
            if whole_city
            else c.community_id.in_(_areas_under(scope.area_path, "community"))
        ]
    if scope.kind == "employer_area":
        return [] if whole_city else [c.agency_area_id.in_(_areas_under(scope.area_path))]
    if scope.kind == "agency":
        return [c.agency_id == scope.id]
    if scope.kind == "members":
        return [c.member_id.in_(scope.ids)]
    return [c.branch_id == scope.id]


def snapshot_facts(year: int, scope: Scope | None = None) -> Select:
    return select(*(getattr(TallySnapshot, name).label(name) for name in FACT_COLUMNS)).where(
        TallySnapshot.year == year, *scope_filter(scope, _SNAPSHOT)
    )


def is_kept(year: int) -> bool:
    return db.session.get(KeptYear, year) is not None


def facts(year: int, scope: Scope | None = None) -> Select:
    """FACT_COLUMNS: from the snapshot of a closed year, the kept facts of a kept year, else live."""
    if year_is_closed(year):
        return snapshot_facts(year, scope)
    return kept_facts(year, scope) if is_kept(year) else live_facts(year, scope)


def compliant_expr(f):
    """1 when the member meets the year's rule, 0 when not, NULL when no rule is set."""
    return case(
        (f.c.min_half_hours.is_(None), None),
        (
            and_(
                f.c.approved_half_hours >= f.c.min_half_hours,
                f.c.approved_entries >= f.c.min_activities,
                f.c.reports_submitted >= f.c.reports_required,
            ),
            1,
        ),
        else_=0,
    )


def has_rule(year: int) -> bool:
    return db.session.scalar(select(func.count(YearRule.id)).where(YearRule.year == year)) > 0
