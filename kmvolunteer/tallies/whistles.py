"""吹哨报到 statistics, like the city's own: for an area and a date range (the day a whistle was blown),
per sub-area, per tier and per department — whistles blown, summonses, signed / contacted / handled on
time, median time to handle, satisfaction, escalations — and the ranking of the departments.

Two grouped queries (whistles by area; summonses by area and department, with the hours each handled summons
took as a list for the medians) and a few thousand groups folded here, so a city's year costs what a
community's does.

How a figure is judged:
* a step is on time when it was taken by its deadline as it stands (an approved extension moves it);
  a step is judged once it was taken or its deadline has passed, so a summons still within its time
  counts neither way;
* a declined summons (not the department's matter) counts in no rate;
* satisfaction is 满意 + 基本满意 over the summonses rated; the time to handle runs from the summons to
  its handling, in calendar hours.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select

from kmvolunteer.core.db import hours_between, number_list, numbers_of
from kmvolunteer.core.ranking import shared_ranks
from kmvolunteer.core.time import local_day_start_utc
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Department
from kmvolunteer.whistles.models import TIERS, Rating, Summons, SummonsStatus, Whistle, WhistleStatus

TIER_LABELS = {
    "community": _l("Community whistles, subdistrict departments report in"),
    "subdistrict": _l("Subdistrict whistles, district departments report in"),
    "district": _l("District whistles, city departments report in"),
}
# The summons figures summed in SQL, each a count of summonses (see the module's notes).
STEPS = (("sign", "signed_at", "sign_due_at"), ("contact", "contacted_at", "contact_due_at"),
         ("handle", "handled_at", "handle_due_at"))  # fmt: skip
COUNTS = ("summonses", "declined", "escalated", "rated", "satisfied") + tuple(
    f"{step}_{kind}" for step, _, _ in STEPS for kind in ("judged", "on_time")
)


@dataclass
class Figures:
    """The figures of one group: a sub-area, a tier, a department or the whole scope."""

    key: Any
    name: str
    kind: str  # "area", "tier", "department" or "total"
    place: str = ""  # a department's area
    whistles: int = 0
    whistles_escalated: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    hours: list[float] = field(default_factory=list)
    rank: int | None = None

    def _rate(self, part: str, whole: str) -> float | None:
        return self.counts[part] / self.counts[whole] if self.counts[whole] else None

    @property
    def summonses(self) -> int:
        return self.counts["summonses"]

    @property
    def signed_rate(self) -> float | None:
        return self._rate("sign_on_time", "sign_judged")

    @property
    def contacted_rate(self) -> float | None:
        return self._rate("contact_on_time", "contact_judged")

    @property
    def handled_rate(self) -> float | None:
        return self._rate("handle_on_time", "handle_judged")

    @property
    def satisfaction_rate(self) -> float | None:
        return self._rate("satisfied", "rated")

    @property
    def median_hours(self) -> float | None:
        return round(statistics.median(self.hours), 1) if self.hours else None


@dataclass
class WhistleStats:
    total: Figures
    areas: list[Figures]
    tiers: list[Figures]
    departments: list[Figures]  # ranked


def period(start: date, end: date) -> tuple[datetime, datetime]:
    """The UTC moments from the start of ``start`` to the end of ``end``, local days."""
    return local_day_start_utc(start), local_day_start_utc(end + timedelta(days=1))


def _summons_sums(now: datetime) -> list:
    live = Summons.status != SummonsStatus.declined.value
    sums = {
        "summonses": func.count(),
        "declined": func.sum(case((~live, 1), else_=0)),
        "escalated": func.sum(case((Whistle.status == WhistleStatus.escalated.value, 1), else_=0)),
        "rated": func.sum(case((live & Summons.rating.is_not(None), 1), else_=0)),
        "satisfied": func.sum(
            case((live & Summons.rating.in_((Rating.satisfied.value, Rating.basic.value)), 1), else_=0)
        ),
    }
    for step, done, due in STEPS:
        done_at, due_at = getattr(Summons, done), getattr(Summons, due)
        sums[f"{step}_judged"] = func.sum(case((live & (done_at.is_not(None) | (due_at < now)), 1), else_=0))
        sums[f"{step}_on_time"] = func.sum(case((live & and_(done_at.is_not(None), done_at <= due_at), 1), else_=0))
    return [sums[name].label(name) for name in COUNTS]


def handled_summons():
    """A summons its department handled (not declined, with a time of handling): what the statistics time, and
    what earns whoever handled it points (kmvolunteer/points)."""
    return (Summons.status != SummonsStatus.declined.value) & Summons.handled_at.is_not(None)


def whistle_stats(area: Area, start: date, end: date, now: datetime) -> WhistleStats:
    """The statistics of the whistles blown in ``area`` (and below it) from ``start`` to ``end``."""
    begin, stop = period(start, end)
    where = (Area.path.startswith(area.path), Whistle.created_at >= begin, Whistle.created_at < stop)
    places = {row.id: row for row in db.session.execute(select(Area.id, Area.path, Area.level).where(where[0]))}
    children = {child.id: child.name for child in area.children}

    def area_key(area_id: int) -> int:
        """The sub-area a whistle's area lies in (the scope itself for its own whistles)."""
        rest = places[area_id].path[len(area.path) :]
        return int(rest.split("/")[0]) if rest else area.id

    total = Figures(None, str(_l("Total")), "total")
    by_area: dict[int, Figures] = {}
    by_tier: dict[str, Figures] = {}
    by_department: dict[int, Figures] = {}

    def groups(area_id: int, department_id: int | None = None) -> Iterable[Figures]:
        """The groups a row counts in; each made (its name translated) the first time only, as a city's
        year has tens of thousands of rows."""
        key = area_key(area_id)
        level = places[area_id].level
        yield total
        if key not in by_area:
            by_area[key] = Figures(key, children.get(key) or _own(area), "area")
        yield by_area[key]
        if level not in by_tier:
            by_tier[level] = Figures(level, str(TIER_LABELS[level]), "tier")
        yield by_tier[level]
        if department_id is not None:
            if department_id not in by_department:
                by_department[department_id] = Figures(department_id, "", "department")
            yield by_department[department_id]

    blown = db.session.execute(
        select(
            Whistle.area_id,
            func.count(),
            func.sum(case((Whistle.status == WhistleStatus.escalated.value, 1), else_=0)),
        )
        .join(Area, Whistle.area_id == Area.id)
        .where(*where)
        .group_by(Whistle.area_id)
    )
    for area_id, count, escalated in blown:
        for figures in groups(area_id):
            figures.whistles += count
            figures.whistles_escalated += escalated or 0

    handled = handled_summons()
    summoned = (
        select(
            Whistle.area_id,
            Summons.department_id,
            *_summons_sums(now),
            number_list(case((handled, hours_between(Summons.summoned_at, Summons.handled_at)))).label("hours"),
        )
        .join(Whistle, Summons.whistle_id == Whistle.id)
        .join(Area, Whistle.area_id == Area.id)
        .where(*where)
        .group_by(Whistle.area_id, Summons.department_id)
    )
    for area_id, department_id, *sums, hours_text in db.session.execute(summoned):
        sums = [(name, value) for name, value in zip(COUNTS, sums, strict=True) if value]
        hours = numbers_of(hours_text)
        for figures in groups(area_id, department_id):
            counts = figures.counts
            for name, value in sums:
                counts[name] += value
            figures.hours.extend(hours)

    if by_department:
        named = select(Department.id, Department.name, Area.name).join(Area).where(Department.id.in_(by_department))
        for department_id, name, place in db.session.execute(named):
            by_department[department_id].name, by_department[department_id].place = name, place
    return WhistleStats(
        total=total,
        areas=sorted(by_area.values(), key=lambda f: (f.key != area.id, f.name)),
        tiers=[by_tier[tier] for tier in TIERS if tier in by_tier],
        departments=ranked(by_department.values()),
    )


def _own(area: Area) -> str:
    return str(_l("%(area)s itself", area=area.name))


def ranked(departments: Iterable[Figures]) -> list[Figures]:
    """Best first: handled on time, then satisfaction, then signed on time; departments with nothing yet
    judged last. Equal figures share a rank."""

    def score(f: Figures) -> tuple:
        return tuple(-1.0 if rate is None else rate for rate in (f.handled_rate, f.satisfaction_rate, f.signed_rate))

    ordered = sorted(departments, key=lambda f: (tuple(-s for s in score(f)), -f.summonses, f.name))
    for figures, rank in zip(ordered, shared_ranks(ordered, score), strict=True):
        figures.rank = rank
    return ordered
