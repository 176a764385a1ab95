"""What the 吹哨报到 pages read: the blower's list, the department's queue, the next deadline of a summons
and the time left to it. Reading only; every change is in services.py."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.orm import selectinload

from kmvolunteer.auth.models import Role, User
from kmvolunteer.auth.policy import can, scoped
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Department
from kmvolunteer.whistles.models import (
    ACTIVE_SUMMONS,
    DONE_SUMMONS,
    ExtensionStatus,
    Summons,
    SummonsExtension,
    SummonsStatus,
    Whistle,
    WhistlePhoto,
    WhistleStatus,
)

# The department queue's filters: name → the summons statuses it shows (None: every status).
QUEUE_FILTERS: dict[str, tuple[str, ...] | None] = {
    "active": ACTIVE_SUMMONS,
    "overdue": ACTIVE_SUMMONS,
    "done": DONE_SUMMONS,
    "declined": (SummonsStatus.declined.value,),
    "all": None,
}
# The blower's list's filters: what waits for the blower, then by whistle status.
LIST_FILTERS = ("attention", "open", "handled", "closed", "escalated", "all")

# The deadline a summons is working to, by its status.
next_due_at = case(
    (Summons.status == SummonsStatus.summoned.value, Summons.sign_due_at),
    (Summons.status == SummonsStatus.signed.value, Summons.contact_due_at),
    else_=Summons.handle_due_at,
)


@dataclass(frozen=True)
class Due:
    step: str  # what is due: sign, contact, handle
    at: datetime
    overdue: bool
    text: str  # "2 h 15 min left" / "overdue by 1 d 3 h"


def next_due(summons: Summons, now: datetime | None = None) -> Due | None:
    """The step a summons still owes and its deadline; None once it is handled, rated or declined."""
    if summons.status not in ACTIVE_SUMMONS:
        return None
    now = now or utcnow()
    step, at = {
        SummonsStatus.summoned.value: ("sign", summons.sign_due_at),
        SummonsStatus.signed.value: ("contact", summons.contact_due_at),
    }.get(summons.status, ("handle", summons.handle_due_at))
    if at < now:
        return Due(step, at, True, _("overdue by %(span)s", span=span(now - at)))
    return Due(step, at, False, _("%(span)s left", span=span(at - now)))


def span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h", days=days, hours=hours)
    if hours:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    return _("%(minutes)d min", minutes=minutes)


# --------------------------------------------------------------------------- the blower's side


def blowing_areas(user: User) -> list[Area]:
    """The areas the user blows whistles for."""
    return [g.area for g in user.grants if g.area is not None and can(user, "whistle.blow", g.area)]


def departments_above(area: Area) -> list[Department]:
    return list(
        db.session.scalars(
            select(Department)
            .where(Department.area_id == area.parent_id, Department.active.is_(True))
            .order_by(Department.name)
        )
    )


def photos_by_note(whistle: Whistle) -> defaultdict[int | None, list[WhistlePhoto]]:
    """A whistle's photos by the progress note they were taken for (None: of the problem itself)."""
    found: defaultdict[int | None, list[WhistlePhoto]] = defaultdict(list)
    for photo in whistle.photos:
        found[photo.progress_id].append(photo)
    return found


def _waiting() -> dict[str, ColumnElement[bool]]:
    """What a whistle may be waiting for its blower to do, each a condition on the whistle."""
    of_whistle = Summons.whistle_id == Whistle.id
    return {
        # No department left on it: just escalated up to this area, or every department declined.
        "route": (Whistle.status == WhistleStatus.open.value)
        & ~select(Summons.id).where(of_whistle, Summons.status != SummonsStatus.declined.value).exists(),
        "rate": select(Summons.id).where(of_whistle, Summons.status == SummonsStatus.handled.value).exists(),
        "decide": select(SummonsExtension.id)
        .join(Summons, SummonsExtension.summons_id == Summons.id)
        .where(of_whistle, SummonsExtension.status == ExtensionStatus.requested.value)
        .exists(),
    }


def waiting_for(whistle: Whistle) -> list[str]:
    """What of _waiting() a loaded whistle waits for (its summonses and their extensions loaded)."""
    summonses = whistle.summonses
    found = []
    if whistle.status == WhistleStatus.open.value and all(s.status == SummonsStatus.declined.value for s in summonses):
        found.append("route")
    if any(s.status == SummonsStatus.handled.value for s in summonses):
        found.append("rate")
    if any(s.extension is not None and s.extension.status == ExtensionStatus.requested.value for s in summonses):
        found.append("decide")
    return found


def _blown_by(user: User) -> ColumnElement[bool]:
    return Whistle.area_id.in_([area.id for area in blowing_areas(user)])


def waiting_counts(user: User, now: datetime | None = None) -> dict[str, int]:
    """For the blower's home: whistles of the user's areas to route, to rate, with an extension to decide,
    and with a department past a deadline."""
    late = select(Summons.id).where(
        Summons.whistle_id == Whistle.id, Summons.status.in_(ACTIVE_SUMMONS), next_due_at < (now or utcnow())
    )
    conditions = _waiting() | {"overdue": late.exists()}
    row = db.session.execute(
        select(*(func.sum(case((condition, 1), else_=0)).label(name) for name, condition in conditions.items())).where(
            _blown_by(user), Whistle.status.in_((WhistleStatus.open.value, WhistleStatus.handled.value))
        )
    ).one()
    return {name: getattr(row, name) or 0 for name in conditions}


def whistle_list(user: User, status: str) -> Select:
    stmt = scoped(select(Whistle), user, "whistle.list")
    if status == "attention":
        stmt = stmt.where(_blown_by(user), or_(*_waiting().values()))
    elif status != "all":
        stmt = stmt.where(Whistle.status == status)
    summonses = selectinload(Whistle.summonses)
    loaded = (
        selectinload(Whistle.area),
        summonses.selectinload(Summons.department),
        summonses.selectinload(Summons.extension),
    )
    return stmt.options(*loaded).order_by(Whistle.created_at.desc(), Whistle.id.desc())


def whistle_counts(user: User) -> dict[str, int]:
    rows = db.session.execute(
        scoped(select(Whistle.status, func.count(Whistle.id)), user, "whistle.list").group_by(Whistle.status)
    ).all()
    counts = {status.value: 0 for status in WhistleStatus} | dict(rows)
    attention = db.session.scalar(select(func.count(Whistle.id)).where(_blown_by(user), or_(*_waiting().values())))
    return counts | {"all": sum(counts.values()), "attention": attention}


# --------------------------------------------------------------------------- the department's side


def is_department_officer(user: User) -> bool:
    return bool(user.grants_for(Role.department_officer))


def _ours(user: User) -> Select:
    return scoped(select(Summons), user, "summons.act")


def queue(user: User, name: str, now: datetime | None = None) -> Select:
    """The department's summons under the filter ``name``, overdue (the earliest deadline) first."""
    statuses = QUEUE_FILTERS[name]
    stmt = _ours(user)
    if statuses is not None:
        stmt = stmt.where(Summons.status.in_(statuses))
    if name == "overdue":
        stmt = stmt.where(next_due_at < (now or utcnow()))
    active_first = case((Summons.status.in_(ACTIVE_SUMMONS), 0), else_=1)
    whistle = selectinload(Summons.whistle)
    return stmt.options(
        whistle.selectinload(Whistle.area), whistle.selectinload(Whistle.photos), selectinload(Summons.extension)
    ).order_by(active_first, next_due_at, Summons.id)


def queue_counts(user: User, now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    active = Summons.status.in_(ACTIVE_SUMMONS)
    row = db.session.execute(
        _ours(user).with_only_columns(
            func.count(Summons.id),
            func.count(case((active, 1))),
            func.count(case((active & (next_due_at < now), 1))),
            func.count(case((Summons.status.in_(DONE_SUMMONS), 1))),
            func.count(case((Summons.status == SummonsStatus.declined.value, 1))),
        )
    ).one()
    return dict(zip(("all", "active", "overdue", "done", "declined"), row, strict=True))
