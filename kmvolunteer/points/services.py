"""积分与星级: a member's points are a pure function of the tallies' facts of a year and the year's scheme.

Nothing is counted or stored here: the figures are those every tally is grouped from (tallies.facts — the
kept MemberFact of an open year, the snapshot of a closed one, else the records), so points can never drift
from the tallies. What earns points in one year:

* each approved hour of service and each approved activity (``approved_half_hours``, ``approved_entries``);
* each member report handed in (``reports_submitted``);
* the community's published rating (``rating``): 优秀, 合格, 基本合格 and 不合格 each worth its own;
* each summons a department officer handled: the summonses the whistle statistics count as handled
  (tallies.whistles.handled_summons), by the account that handled them, in the local year of handling —
  they count for the member that account belongs to.

Stars: the scheme names the points each of five stars needs. In SQL, points are whole half points (an hour
is worth ``per_hour``, half an hour half of it), so a ranking is ordered exactly; pages show points with at
most one decimal. The city's organization department sets a scheme per year; a year without one uses DEFAULT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import case, distinct, func, literal, select

from kmvolunteer.auth.models import User
from kmvolunteer.auth.policy import can
from kmvolunteer.core import audit
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.ranking import shared_ranks
from kmvolunteer.core.time import local_today, to_local, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area, Branch, Member
from kmvolunteer.points.models import MAX_VALUE, RATES, STARS, PointScheme
from kmvolunteer.reports.models import Evaluation, Rating, Report
from kmvolunteer.service.models import RecordStatus, ServiceRecord
from kmvolunteer.tallies.facts import Scope, city_id, facts
from kmvolunteer.tallies.whistles import handled_summons, period
from kmvolunteer.whistles.models import Summons, Whistle
from kmvolunteer.years.models import year_is_closed
from kmvolunteer.years.rules import YEAR_MAX, YEAR_MIN

GRADES = tuple(rating.value for rating in Rating)  # excellent, good, fair, poor
REPORTED = ("submitted", "acknowledged")  # the member reports the tallies count as handed in
DEFAULT_VALUES = {
    "per_hour": 10,
    "per_activity": 5,
    "per_report": 20,
    "grade_excellent": 50,
    "grade_good": 30,
    "grade_fair": 10,
    "grade_poor": 0,
    "per_whistle": 10,
    "star_1": 100,
    "star_2": 200,
    "star_3": 400,
    "star_4": 600,
    "star_5": 800,
}


@dataclass(frozen=True)
class Scheme:
    """The values of a year's scheme (``is_default``: nobody set one, DEFAULT_VALUES apply)."""

    year: int
    values: dict[str, int]
    is_default: bool = False
    updated_at: datetime | None = None

    def __getattr__(self, name: str) -> int:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(name)

    @property
    def stars(self) -> tuple[int, ...]:
        return tuple(self.values[name] for name in STARS)

    def grade(self, rating: str | None) -> int:
        return self.values[f"grade_{rating}"] if rating in GRADES else 0


def scheme_for(year: int) -> Scheme:
    row = db.session.scalar(select(PointScheme).where(PointScheme.year == year))
    if row is None:
        return Scheme(year, dict(DEFAULT_VALUES), is_default=True)
    return Scheme(year, {name: getattr(row, name) for name in RATES + STARS}, updated_at=row.updated_at)


# ---------------------------------------------------------------- the one formula


def half_points(scheme: Scheme, half_hours: Any, entries: Any, reports: Any, grade: Any, whistles: Any) -> Any:
    """Twice the points of these counters (``grade``: the points of the rating). The same expression adds up
    Python numbers for one member and SQL columns for a ranking."""
    return half_hours * scheme.per_hour + 2 * (
        entries * scheme.per_activity + reports * scheme.per_report + grade + whistles * scheme.per_whistle
    )


def grade_sql(scheme: Scheme, rating: Any) -> Any:
    """The points of the rating column ``rating``, in SQL."""
    return case(*((rating == grade, literal(scheme.grade(grade))) for grade in GRADES), else_=literal(0))


def stars_of(scheme: Scheme, half: int) -> int:
    """How many stars ``half`` half points reach (each threshold reached is a star)."""
    return sum(1 for threshold in scheme.stars if half >= 2 * threshold)


def shown(half: int) -> Decimal:
    """Points as shown: whole, or with .5."""
    return Decimal(half) / 2 if half % 2 else Decimal(half // 2)


@dataclass(frozen=True)
class Counts:
    """A member's counters of one year, as the tallies keep them (and the whistles they handled)."""

    half_hours: int = 0
    entries: int = 0
    reports: int = 0
    rating: str | None = None
    whistles: int = 0
    community_id: int | None = None


@dataclass(frozen=True)
class Part:
    """One kind of work in a member's points: how much of it, what one is worth, the half points it earns."""

    key: str  # hours, activities, reports, rating, whistles
    amount: Any
    rate: int
    half: int

    @property
    def points(self) -> Decimal:
        return shown(self.half)


@dataclass(frozen=True)
class Points:
    year: int
    scheme: Scheme
    counts: Counts

    @property
    def half(self) -> int:
        c = self.counts
        return half_points(self.scheme, c.half_hours, c.entries, c.reports, self.scheme.grade(c.rating), c.whistles)

    @property
    def points(self) -> Decimal:
        return shown(self.half)

    @property
    def stars(self) -> int:
        return stars_of(self.scheme, self.half)

    @property
    def to_next_star(self) -> Decimal | None:
        """The points still missing for the next star (None: five stars)."""
        for threshold in self.scheme.stars:
            if self.half < 2 * threshold:
                return shown(2 * threshold - self.half)
        return None

    @property
    def parts(self) -> list[Part]:
        s, c = self.scheme, self.counts
        return [
            Part("hours", shown(c.half_hours), s.per_hour, c.half_hours * s.per_hour),
            Part("activities", c.entries, s.per_activity, 2 * c.entries * s.per_activity),
            Part("reports", c.reports, s.per_report, 2 * c.reports * s.per_report),
            Part("rating", c.rating, s.grade(c.rating), 2 * s.grade(c.rating)),
            Part("whistles", c.whistles, s.per_whistle, 2 * c.whistles * s.per_whistle),
        ]


# ---------------------------------------------------------------- reading the facts


def _year_span(year: int) -> tuple[datetime, datetime]:
    return period(date(year, 1, 1), date(year, 12, 31))


def whistle_counts(year: int, user_id: int | None = None):
    """Summonses handled in the local ``year``, by the account that handled them: (user_id, whistles)."""
    begin, stop = _year_span(year)
    stmt = select(Summons.handled_by_id.label("user_id"), func.count().label("whistles")).where(
        handled_summons(), Summons.handled_by_id.is_not(None), Summons.handled_at >= begin, Summons.handled_at < stop
    )
    if user_id is not None:
        stmt = stmt.where(Summons.handled_by_id == user_id)
    return stmt.group_by(Summons.handled_by_id)


def member_counts(member: Member, year: int) -> Counts:
    """The member's counters of ``year``: their row of the tallies' facts, and the whistles they handled."""
    fact = db.session.execute(facts(year, Scope("members", ids=(member.id,)))).one_or_none()
    whistles = 0
    if member.user_id is not None:
        whistles = db.session.execute(whistle_counts(year, member.user_id)).one_or_none()
        whistles = whistles.whistles if whistles is not None else 0
    if fact is None:  # an inactive member is counted nowhere
        return Counts(whistles=whistles)
    return Counts(
        half_hours=fact.approved_half_hours,
        entries=fact.approved_entries,
        reports=fact.reports_submitted,
        rating=fact.rating,
        whistles=whistles,
        community_id=fact.community_id,
    )


def member_points(member: Member, year: int) -> Points:
    return Points(year, scheme_for(year), member_counts(member, year))


def member_years(member: Member, this_year: int | None = None) -> list[int]:
    """This year, and every earlier year the member has anything counted in; latest first."""
    this_year = this_year or local_today().year
    years = {this_year}
    years |= set(db.session.scalars(select(distinct(ServiceRecord.year)).where(ServiceRecord.member_id == member.id)))
    years |= set(db.session.scalars(select(distinct(Report.year)).where(Report.member_id == member.id)))
    years |= set(db.session.scalars(select(distinct(Evaluation.year)).where(Evaluation.member_id == member.id)))
    if member.user_id is not None:
        handled = select(Summons.handled_at).where(handled_summons(), Summons.handled_by_id == member.user_id)
        years |= {to_local(moment).year for moment in db.session.scalars(handled)}
    return sorted((year for year in years if year <= this_year), reverse=True)


@dataclass
class History:
    """What earned a member's points in a year, read from the records the counters count."""

    records: list[ServiceRecord] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    evaluation: Evaluation | None = None
    summonses: list[Summons] = field(default_factory=list)


def history(member: Member, year: int, counts: Counts) -> History:
    """The approved entries, reports handed in, the published rating of the member's report-in community and
    the summonses handled: the records behind ``counts`` (their sums are the counters)."""
    records = db.session.scalars(
        select(ServiceRecord)
        .where(
            ServiceRecord.member_id == member.id,
            ServiceRecord.year == year,
            ServiceRecord.status == RecordStatus.approved.value,
        )
        .order_by(ServiceRecord.service_date, ServiceRecord.id)
    ).all()
    reports = db.session.scalars(
        select(Report)
        .where(Report.kind == "member", Report.member_id == member.id, Report.year == year, Report.status.in_(REPORTED))
        .order_by(Report.period)
    ).all()
    evaluation = None
    if counts.community_id is not None:
        evaluation = db.session.scalar(
            select(Evaluation).where(
                Evaluation.member_id == member.id,
                Evaluation.year == year,
                Evaluation.community_id == counts.community_id,
                Evaluation.published.is_(True),
            )
        )
    summonses = []
    if member.user_id is not None:
        begin, stop = _year_span(year)
        summonses = db.session.scalars(
            select(Summons)
            .join(Whistle, Summons.whistle_id == Whistle.id)
            .where(
                handled_summons(),
                Summons.handled_by_id == member.user_id,
                Summons.handled_at >= begin,
                Summons.handled_at < stop,
            )
            .order_by(Summons.handled_at)
        ).all()
    return History(list(records), list(reports), evaluation, list(summonses))


# ---------------------------------------------------------------- rankings


@dataclass
class RankRow:
    member_id: int
    name: str
    agency: str
    branch: str
    community: str | None
    half_hours: int
    entries: int
    reports: int
    rating: str | None
    whistles: int
    half: int
    stars: int = 0
    rank: int = 0

    @property
    def hours(self) -> Decimal:
        return shown(self.half_hours)

    @property
    def points(self) -> Decimal:
        return shown(self.half)


def ranking(year: int, scope: Scope, limit: int | None = None) -> list[RankRow]:
    """The members of ``scope`` by points, best first (equal points share a rank): one query, the tallies'
    facts with the whistles handled grouped beside them, ordered by the points computed in SQL."""
    scheme = scheme_for(year)
    f = facts(year, scope).subquery()
    w = whistle_counts(year).subquery()
    community = Area.__table__.alias("community")
    whistles = func.coalesce(w.c.whistles, 0)
    grade = grade_sql(scheme, f.c.rating)
    total = half_points(scheme, f.c.approved_half_hours, f.c.approved_entries, f.c.reports_submitted, grade, whistles)
    stmt = (
        select(
            f.c.member_id,
            Member.name,
            Agency.name.label("agency"),
            Branch.name.label("branch"),
            community.c.name.label("community"),
            f.c.approved_half_hours,
            f.c.approved_entries,
            f.c.reports_submitted,
            f.c.rating,
            whistles.label("whistles"),
            total.label("half"),
        )
        .join(Member, Member.id == f.c.member_id)
        .join(Branch, Branch.id == f.c.branch_id)
        .join(Agency, Agency.id == f.c.agency_id)
        .outerjoin(community, community.c.id == f.c.community_id)
        .outerjoin(w, w.c.user_id == Member.user_id)
        .order_by(total.desc(), Member.name, Member.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = [
        RankRow(
            r.member_id,
            r.name,
            r.agency,
            r.branch,
            r.community,
            r.approved_half_hours,
            r.approved_entries,
            r.reports_submitted,
            r.rating,
            r.whistles,
            int(r.half),
        )
        for r in db.session.execute(stmt)
    ]
    for row, rank in zip(rows, shared_ranks(rows, lambda row: row.half), strict=True):
        row.rank, row.stars = rank, stars_of(scheme, row.half)
    return rows


# ---------------------------------------------------------------- setting the scheme


def _city_path() -> str:
    area = db.session.get(Area, city_id() or 0)
    return area.path if area is not None else "/"


def set_scheme(year: int, values: dict[str, Any], actor: User) -> PointScheme:
    """The city's organization department sets the scheme of ``year`` (audited). Refused, with nothing
    changed: another user, a year out of range or closed (its points are frozen with its tallies), a value
    that is not a whole number from 0 to MAX_VALUE, or stars that do not each need more than the one before."""
    if not can(actor, "points.scheme"):
        raise ServiceError(_("Only the city's organization department sets the points scheme."))
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise ServiceError(_("Choose a year between %(a)d and %(b)d.", a=YEAR_MIN, b=YEAR_MAX))
    if year_is_closed(year):
        raise ServiceError(_("Year %(year)d is closed: its points no longer change.", year=year))
    for name in RATES + STARS:
        value = values.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_VALUE:
            raise ServiceError(_("Enter a whole number from 0 to %(max)d.", max=MAX_VALUE), name)
    for lower, higher in pairwise(STARS):
        if values[higher] <= values[lower]:
            raise ServiceError(_("Each star must need more points than the one before."), higher)
    row = db.session.scalar(select(PointScheme).where(PointScheme.year == year))
    before = None if row is None else {name: getattr(row, name) for name in RATES + STARS}
    if row is None:
        row = PointScheme(year=year)
        db.session.add(row)
    for name in RATES + STARS:
        setattr(row, name, values[name])
    row.updated_at, row.updated_by_id = utcnow(), actor.id
    db.session.flush()
    audit.record(
        "point_scheme.set",
        row,
        scope_path=_city_path(),
        summary=str(year),
        before=before,
        after={name: values[name] for name in RATES + STARS},
        actor_id=actor.id,
    )
    return row
