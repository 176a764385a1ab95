"""吹哨报到 rules: blow, the department's steps, the blower's rating, closing, reopening and escalation.

Every status change goes through the machines of models.py (policy check → guarded UPDATE → audit entry →
event) in the caller's transaction; nothing here commits. A refusal is a ServiceError and changes nothing.
Photos of a whistle and of a progress note are checked and stored by photos.py, after every other check.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import FileStorage

from kmvolunteer.auth.models import User
from kmvolunteer.auth.policy import can
from kmvolunteer.core import audit
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.db import seed_list
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.text import checked_text, parse_id
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org import spots
from kmvolunteer.org.models import Area, Department
from kmvolunteer.whistles import deadlines, photos
from kmvolunteer.whistles.models import (
    ACTIVE_SUMMONS,
    DONE_SUMMONS,
    EXTENSIONS,
    SUMMONSES,
    WHISTLES,
    EscalationReason,
    Rating,
    Summons,
    SummonsExtension,
    SummonsProgress,
    SummonsStatus,
    Urgency,
    Whistle,
    WhistleCategory,
    WhistleStatus,
)

DEFAULT_CATEGORIES = ("道路交通", "供水排水", "环境卫生", "安全隐患", "住房物业", "市场秩序", "其他")
TEXT_MAX = 2000
MAX_EXTENSION_DAYS = 10  # as the summons_extension CHECK
# Levels whose whistles can be blown one tier up (a district's whistle already summons the city).
ESCALATES = {"community", "subdistrict"}


# --------------------------------------------------------------------------- categories


def ensure_default_categories() -> list[WhistleCategory]:
    """The starting list of problem categories, created when the table is empty."""
    seed_list(WhistleCategory, DEFAULT_CATEGORIES)
    return active_categories()


def active_categories() -> list[WhistleCategory]:
    return list(
        db.session.scalars(
            select(WhistleCategory)
            .where(WhistleCategory.active.is_(True))
            .order_by(WhistleCategory.sort_order, WhistleCategory.id)
        )
    )


def save_category(actor: User, name: str | None, category: WhistleCategory | None = None) -> WhistleCategory:
    """Add a category to the list, or rename ``category``; names are unique."""
    if not can(actor, "category.manage"):
        raise ServiceError(_("Only the city's organization department manages the categories."))
    name = checked_text(name, "name", 32, _("Enter a name for the category."))
    clash = db.session.scalar(select(WhistleCategory.id).where(WhistleCategory.name == name))
    if clash is not None and (category is None or clash != category.id):
        raise ServiceError(_("There is already a category of that name."), "name")
    before = {"name": category.name} if category is not None else None
    if category is None:
        last = db.session.scalar(select(func.max(WhistleCategory.sort_order))) or 0
        category = WhistleCategory(name=name, sort_order=last + 10, active=True)
        db.session.add(category)
    category.name = name
    _record_category(category, actor, before, {"name": name}, code="whistle.category_saved")
    return category


def set_category_active(actor: User, category: WhistleCategory, active: bool) -> None:
    """Take a category off the list (whistles filed under it keep it), or put it back."""
    if not can(actor, "category.manage"):
        raise ServiceError(_("Only the city's organization department manages the categories."))
    before = {"active": category.active}
    category.active = active
    _record_category(category, actor, before, {"active": active}, code="whistle.category_active")


def _record_category(category: WhistleCategory, actor: User, before: dict | None, after: dict, code: str) -> None:
    db.session.flush()
    audit.record(code, category, scope_path="/", summary=category.name, before=before, after=after, actor_id=actor.id)


# --------------------------------------------------------------------------- checks


def _departments_above(area: Area, department_ids: Iterable[Any]) -> list[Department]:
    """The departments summoned from ``area``: each must exist, be active and belong to the tier directly
    above it (the area's parent)."""
    ids: list[int] = []
    for raw in department_ids:
        value = parse_id(raw)  # None for anything but a database id (a huge number overflows PostgreSQL)
        if value is None:
            raise ServiceError(_("There is no such department."), "departments")
        if value not in ids:
            ids.append(value)
    if not ids:
        raise ServiceError(_("Summon at least one department."), "departments")
    found = {d.id: d for d in db.session.scalars(select(Department).where(Department.id.in_(ids)))}
    departments = []
    for department_id in ids:
        department = found.get(department_id)
        if department is None or not department.active:
            raise ServiceError(_("There is no such department."), "departments")
        if department.area_id != area.parent_id:
            raise ServiceError(
                _(
                    "%(department)s is not a department of %(tier)s, the tier directly above %(area)s.",
                    department=department.name,
                    tier=area.parent.name if area.parent else "—",
                    area=area.name,
                ),
                "departments",
            )
        departments.append(department)
    return departments


def _open(whistle: Whistle) -> None:
    if whistle.status != WhistleStatus.open.value:
        raise ServiceError(_("This whistle is %(state)s: nothing was changed.", state=WHISTLES.label(whistle.status)))


def _about(summons: Summons) -> str:
    return f"{summons.whistle.serial} {summons.department.name}"


# --------------------------------------------------------------------------- blowing and routing


@dataclass
class WhistleData:
    title: str
    problem: str
    address: str
    category_id: Any
    urgency: str = Urgency.normal.value
    spot: str = ""  # the community's estate or grid: a key of org.spots.spot_choices


def blow(
    area: Area, actor: User, data: WhistleData, department_ids: Iterable[Any], uploads: Iterable[FileStorage] = ()
) -> Whistle:
    """吹哨: ``area``'s staff summon departments of the tier above about a problem, with photos of it if
    ``uploads`` has any (photos.prepare says which it takes)."""
    if not can(actor, "whistle.blow", area):
        raise ServiceError(_("Only the staff of an area blow its whistles."))
    title = checked_text(data.title, "title", 100, _("Say in a line what the problem is."))
    problem = checked_text(data.problem, "problem", TEXT_MAX, _("Describe the problem."))
    address = checked_text(data.address, "address", 200, _("Say where the problem is."))
    estate, grid = spots.locate(area.id, data.spot) if area.level == "community" else (None, None)
    if data.urgency not in {u.value for u in Urgency}:
        raise ServiceError(_("Choose normal or urgent."), "urgency")
    category = _category(data.category_id)
    departments = _departments_above(area, department_ids)
    prepared = photos.prepare(uploads)
    whistle = Whistle(
        area_id=area.id,
        blower_id=actor.id,
        title=title,
        problem=problem,
        address=address,
        place=(estate or grid).name if (estate or grid) else "",
        estate=estate,
        grid=grid,
        category_id=category.id,
        urgency=data.urgency,
        created_at=utcnow(),
    )
    db.session.add(whistle)
    db.session.flush()
    _record_blown(whistle, actor.id)
    _summon(whistle, departments, actor.id)
    photos.store(prepared, whistle.id, actor.id)
    return whistle


def _category(raw: Any) -> WhistleCategory:
    category_id = parse_id(raw)
    category = db.session.get(WhistleCategory, category_id) if category_id is not None else None
    if category is None or not category.active:
        raise ServiceError(_("Choose a category from the list."), "category_id")
    return category


def _record_blown(whistle: Whistle, actor_id: int | None) -> None:
    audit.record(
        "whistle.blown",
        whistle,
        scope_path=whistle.area.path,
        summary=f"{whistle.serial} {whistle.title}",
        after={"title": whistle.title, "urgency": whistle.urgency, "escalation_reason": whistle.escalation_reason},
        actor_id=actor_id,
    )
    WHISTLES.created(whistle, actor_id=actor_id)


def _summon(whistle: Whistle, departments: list[Department], actor_id: int | None) -> list[Summons]:
    now = utcnow()
    due = deadlines.deadlines_from(now, deadlines.limits_for(whistle.area.level, whistle.urgency))
    summonses = [
        Summons(
            whistle=whistle,
            department=department,
            summoned_at=now,
            sign_due_at=due.sign,
            contact_due_at=due.contact,
            handle_due_at=due.handle,
        )
        for department in departments
    ]
    db.session.add_all(summonses)
    db.session.flush()
    for summons in summonses:
        audit.record(
            "summons.summoned",
            summons,
            scope_path=whistle.area.path,
            summary=_about(summons),
            after={"sign_due_at": due.sign, "contact_due_at": due.contact, "handle_due_at": due.handle},
            actor_id=actor_id,
        )
        SUMMONSES.created(summons, actor_id=actor_id)
    return summonses


def summon(whistle: Whistle, actor: User, department_ids: Iterable[Any]) -> list[Summons]:
    """Summon more departments to an open whistle: after a decline (re-routing), or to route a whistle
    escalated to the actor's area."""
    if not can(actor, "whistle.manage", whistle):
        raise ServiceError(_("Only the staff of the area that blew the whistle can summon departments."))
    _open(whistle)
    departments = _departments_above(whistle.area, department_ids)
    already = {s.department_id for s in whistle.summonses}
    for department in departments:
        if department.id in already:
            raise ServiceError(
                _("%(department)s is already summoned by this whistle.", department=department.name), "departments"
            )
    return _summon(whistle, departments, actor.id)


# --------------------------------------------------------------------------- the department's steps


# The steps whose audit entry says whether it was late, and the deadline each is judged by.
LATE_CHECKS = {
    "summons.signed": "sign_due_at",
    "summons.contacted": "contact_due_at",
    "summons.handled": "handle_due_at",
}


def _step(summons: Summons, action: str, actor: User, values: dict[str, Any] | None = None, **kw: Any) -> None:
    """One transition of the summons; a sign, contact or handle step writes into its audit entry whether it
    was late against the deadline of that moment (the timeline reads it; a deadline moved later by an
    extension or a 不满意 does not make an old step on time)."""
    due_column = LATE_CHECKS.get(SUMMONSES.transitions[action].audit)
    if due_column:
        kw["after"] = {**kw.get("after", {}), "late": utcnow() > getattr(summons, due_column)}
    SUMMONSES.perform(
        summons,
        action,
        actor_id=actor.id,
        scope_path=summons.whistle.area.path,
        summary=_about(summons),
        values=values,
        **kw,
    )


def sign(summons: Summons, actor: User) -> None:
    """签收."""
    _step(summons, "sign", actor, {"signed_at": utcnow(), "signed_by_id": actor.id})


def record_contact(summons: Summons, actor: User, note: str = "") -> None:
    """The department has contacted the blower (电话, 到场): optional note."""
    note = checked_text(note, "note", 255, None)
    _step(summons, "contact", actor, {"contacted_at": utcnow(), "contact_note": note}, after={"note": note})


def record_progress(summons: Summons, actor: User, text: str, uploads: Iterable[FileStorage] = ()) -> SummonsProgress:
    """A step taken, in words and photos, while the summons is the department's to act on."""
    if not can(actor, "summons.act", summons):
        raise ServiceError(_("Only an officer of the summoned department can record its work."))
    if summons.status not in ACTIVE_SUMMONS:
        raise ServiceError(_("This summons is %(state)s: nothing was changed.", state=SUMMONSES.label(summons.status)))
    text = checked_text(text, "text", TEXT_MAX, _("Describe what was done."))
    prepared = photos.prepare(uploads)
    progress = SummonsProgress(summons_id=summons.id, text=text, by_id=actor.id, at=utcnow())
    db.session.add(progress)
    db.session.flush()
    photos.store(prepared, summons.whistle_id, actor.id, progress.id)
    audit.record(
        "summons.progress",
        summons,
        scope_path=summons.whistle.area.path,
        summary=f"{_about(summons)}: {text}",
        after={"progress_id": progress.id},
        actor_id=actor.id,
    )
    return progress


def handle(summons: Summons, actor: User, result: str) -> None:
    """办结, with the result; the whistle is handled once no summons is left to act on."""
    result = checked_text(result, "result", TEXT_MAX, _("Describe how the matter was handled."))
    _step(
        summons,
        "handle",
        actor,
        {"handled_at": utcnow(), "handled_by_id": actor.id, "result": result},
        after={"result": result},
    )
    _settle(summons.whistle)


def decline(summons: Summons, actor: User, reason: str | None) -> None:
    """Not our matter: the blower summons another department."""
    _step(summons, "decline", actor, reason=reason)
    _settle(summons.whistle)


def _settle(whistle: Whistle) -> None:
    """An open whistle with something handled and nothing left to act on is handled (by the system).

    The whistle's row is locked first: of two departments handling the last two summons at once, the second
    waits for the first to commit, then sees both handled (on SQLite writers queue anyway)."""
    status = db.session.scalar(select(Whistle.status).where(Whistle.id == whistle.id).with_for_update())
    if status != WhistleStatus.open.value:
        return
    statuses = set(
        db.session.scalars(
            select(Summons.status)
            .where(Summons.whistle_id == whistle.id, Summons.status != SummonsStatus.declined.value)
            .distinct()
        )
    )
    if statuses and statuses.isdisjoint(ACTIVE_SUMMONS):
        WHISTLES.perform(
            whistle,
            "settle",
            actor_id=None,
            scope_path=whistle.area.path,
            summary=whistle.serial,
            values={"handled_at": utcnow()},
        )


def request_extension(summons: Summons, actor: User, working_days: Any, reason: str | None) -> SummonsExtension:
    """延期: once per summons, with a reason, for the blower to approve or refuse."""
    if not can(actor, "summons.act", summons):
        raise ServiceError(_("Only an officer of the summoned department can ask for an extension."))
    if summons.status not in ACTIVE_SUMMONS:
        raise ServiceError(_("This summons is %(state)s: nothing was changed.", state=SUMMONSES.label(summons.status)))
    if summons.extension is not None:
        raise ServiceError(_("An extension can be asked for only once, and it was already asked for."))
    try:
        days = int(working_days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise ServiceError(_("Ask for 1 to %(num)d working days.", num=MAX_EXTENSION_DAYS), "working_days")
    reason = checked_text(reason, "reason", 255, _("Say why the matter needs more time."))
    extension = SummonsExtension(
        summons=summons, working_days=days, request_reason=reason, requested_by_id=actor.id, requested_at=utcnow()
    )
    db.session.add(extension)
    db.session.flush()
    audit.record(
        "extension.requested",
        extension,
        scope_path=summons.whistle.area.path,
        summary=f"{_about(summons)} +{days}",
        after={"working_days": days, "reason": reason},
        actor_id=actor.id,
    )
    EXTENSIONS.created(extension, actor_id=actor.id)
    return extension


def approve_extension(extension: SummonsExtension, actor: User) -> None:
    """The blower approves: the handling deadline moves by the working days asked for."""
    summons = extension.summons
    if summons.status not in ACTIVE_SUMMONS:
        raise ServiceError(_("This summons is %(state)s: nothing was changed.", state=SUMMONSES.label(summons.status)))
    old = summons.handle_due_at
    new = deadlines.add_working_days(old, extension.working_days)
    EXTENSIONS.perform(
        extension,
        "approve",
        actor_id=actor.id,
        scope_path=summons.whistle.area.path,
        summary=_about(summons),
        values={"decided_at": utcnow(), "decided_by_id": actor.id},
        before={"handle_due_at": old},
        after={"handle_due_at": new},
    )
    summons.handle_due_at = new
    db.session.flush()


def refuse_extension(extension: SummonsExtension, actor: User, reason: str | None) -> None:
    EXTENSIONS.perform(
        extension,
        "refuse",
        actor_id=actor.id,
        scope_path=extension.summons.whistle.area.path,
        summary=_about(extension.summons),
        values={"decided_at": utcnow(), "decided_by_id": actor.id},
        reason=reason,
    )


# --------------------------------------------------------------------------- the blower's side


def rate(summons: Summons, actor: User, rating: str, comment: str = "") -> None:
    """满意 / 基本满意 / 不满意 of a handled summons. 不满意 (a comment required) sends it back to the
    department with a new handling deadline and reopens the whistle; twice, and the pass escalates it."""
    if rating not in {r.value for r in Rating}:
        raise ServiceError(_("Choose satisfied, basically satisfied or unsatisfied."), "rating")
    if summons.status != SummonsStatus.handled.value:
        raise ServiceError(_("Only a handled summons can be rated."))
    now = utcnow()
    values: dict[str, Any] = {"rating": rating, "rated_at": now, "rated_by_id": actor.id}
    if rating != Rating.unsatisfied.value:
        comment = checked_text(comment, "comment", 255, None)
        _step(summons, "rate", actor, {**values, "rating_comment": comment}, after={"rating": rating})
        return
    comment = SUMMONSES.require_reason("rate_unsatisfied", comment)
    values |= {
        "rating_comment": comment,
        "unsatisfied_count": Summons.unsatisfied_count + 1,
        "handle_due_at": _new_handle_due(summons.whistle, now),
        "handled_at": None,
        "handled_by_id": None,
    }
    _step(summons, "rate_unsatisfied", actor, values, reason=comment, after={"rating": rating})
    whistle = summons.whistle
    if whistle.status in (WhistleStatus.handled.value, WhistleStatus.closed.value):
        WHISTLES.perform(
            whistle, "reopen", actor_id=actor.id, scope_path=whistle.area.path, summary=whistle.serial, reason=comment
        )


def _new_handle_due(whistle: Whistle, start: datetime) -> datetime:
    limits = deadlines.limits_for(whistle.area.level, whistle.urgency)
    return deadlines.add_working_days(start, limits.handle_days)


def close(whistle: Whistle, actor: User) -> None:
    """Solved: the blower closes a handled whistle."""
    WHISTLES.perform(
        whistle,
        "close",
        actor_id=actor.id,
        scope_path=whistle.area.path,
        summary=whistle.serial,
        values={"closed_at": utcnow()},
    )


def reopen(whistle: Whistle, actor: User, reason: str | None) -> None:
    """Not solved after all: the whistle is open again and every department that handled it acts again,
    with a new handling deadline."""
    WHISTLES.perform(
        whistle,
        "reopen",
        actor_id=actor.id,
        scope_path=whistle.area.path,
        summary=whistle.serial,
        values={"closed_at": None, "handled_at": None},
        reason=reason,
    )
    due = _new_handle_due(whistle, utcnow())
    for summons in whistle.summonses:
        if summons.status in DONE_SUMMONS:
            _step(summons, "reopen", actor, {"handle_due_at": due, "handled_at": None}, reason=whistle.reason)


# --------------------------------------------------------------------------- escalation


def escalate(whistle: Whistle, actor: User, reason: str | None) -> Whistle:
    """吹哨上一级 by hand: the area above takes the whistle over (a new linked whistle, for it to route)."""
    return _escalate(whistle, EscalationReason.manual, reason, actor)


def _escalate(whistle: Whistle, kind: EscalationReason, reason: str | None, actor: User | None) -> Whistle:
    """The transition first (guarded: of two passes at once, the second finds the whistle escalated and
    raises before writing anything), then the new whistle one tier up, with the same problem."""
    if whistle.area.level not in ESCALATES:
        raise ServiceError(_("A district's whistle already summons the city's departments: there is no tier above."))
    actor_id = actor.id if actor is not None else None
    WHISTLES.perform(
        whistle,
        "escalate",
        actor_id=actor_id,
        scope_path=whistle.area.path,
        summary=whistle.serial,
        reason=reason,
        after={"escalation_reason": kind.value},
    )
    higher = Whistle(
        area_id=whistle.area.parent_id,
        blower_id=actor_id,
        title=whistle.title,
        problem=whistle.problem,
        address=whistle.address,
        place=whistle.place,
        estate_id=whistle.estate_id,
        grid_id=whistle.grid_id,
        category_id=whistle.category_id,
        urgency=whistle.urgency,
        reason=whistle.reason,
        escalated_from_id=whistle.id,
        escalation_reason=kind.value,
        created_at=utcnow(),
    )
    db.session.add(higher)
    db.session.flush()
    _record_blown(higher, actor_id)
    return higher


def _overdue(now: datetime):
    return Summons.status.in_(ACTIVE_SUMMONS) & or_(
        Summons.signed_at.is_(None) & (Summons.sign_due_at < now),
        Summons.contacted_at.is_(None) & (Summons.contact_due_at < now),
        Summons.handle_due_at < now,
    )


def escalation_pass(now: datetime | None = None) -> list[Whistle]:
    """One automatic pass: each open (or handled) whistle of a community or subdistrict with a summons past
    a deadline without its step, or rated 不满意 twice, escalates once. Safe to run twice or on two hosts at
    once: the whistle's guarded transition lets one pass win and the other skip it; the unique
    ``escalated_from_id`` backs it. The caller commits (``flask whistles escalate``)."""
    now = now or utcnow()
    twice = Summons.unsatisfied_count >= 2
    rows = db.session.execute(
        select(Summons.whistle_id, case((twice, EscalationReason.unsatisfied.value), else_="overdue"), Summons.id)
        .join(Whistle, Summons.whistle_id == Whistle.id)
        .join(Area, Whistle.area_id == Area.id)
        .where(
            Whistle.status.in_((WhistleStatus.open.value, WhistleStatus.handled.value)),
            Area.level.in_(ESCALATES),
            or_(_overdue(now), twice),
        )
        .order_by(Summons.whistle_id, Summons.id)
    ).all()
    first: dict[int, tuple[str, int]] = {}
    for whistle_id, kind, summons_id in rows:
        first.setdefault(whistle_id, (kind, summons_id))
    escalated = []
    for whistle_id, (kind, summons_id) in first.items():
        whistle = db.session.get(Whistle, whistle_id)
        summons = db.session.get(Summons, summons_id)
        reason = (
            _("%(department)s was rated unsatisfied twice.", department=summons.department.name)
            if kind == EscalationReason.unsatisfied.value
            else _("%(department)s passed a deadline.", department=summons.department.name)
        )
        try:
            escalated.append(_escalate(whistle, EscalationReason(kind), reason, None))
        except ServiceError:
            continue  # another pass escalated it first; nothing was written for it here
    return escalated


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Step:
    at: datetime
    action: str  # the audit code, e.g. "summons.signed"
    actor: User | None
    summary: str
    summons_id: int | None
    late: bool | None  # for a sign, contact or handle step: after its deadline?
    progress_id: int | None = None  # for a progress note: its photos are WhistlePhoto.progress_id


def timeline(whistle: Whistle) -> list[Step]:
    """Every step of a whistle and its summons, in order: who, when, late or on time. It is the audit log
    (every transition writes an entry in its own transaction), so there is no second record to keep."""
    summonses = {s.id: s for s in whistle.summonses}
    extensions = {s.extension.id: s.id for s in summonses.values() if s.extension is not None}
    objects = [(AuditEntry.object_type == "Whistle") & (AuditEntry.object_id == whistle.id)]
    if summonses:
        objects.append((AuditEntry.object_type == "Summons") & AuditEntry.object_id.in_(summonses))
    if extensions:
        objects.append((AuditEntry.object_type == "SummonsExtension") & AuditEntry.object_id.in_(extensions))
    entries = db.session.scalars(
        select(AuditEntry)
        .where(or_(*objects))
        .options(joinedload(AuditEntry.actor))
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    steps = []
    for entry in entries:
        summons_id = (
            entry.object_id
            if entry.object_type == "Summons"
            else extensions.get(entry.object_id)
            if entry.object_type == "SummonsExtension"
            else None
        )
        after = entry.after_data()
        late = after.get("late") if entry.action in LATE_CHECKS else None
        progress_id = after.get("progress_id") if entry.action == "summons.progress" else None
        steps.append(Step(entry.at, entry.action, entry.actor, entry.summary, summons_id, late, progress_id))
    return steps
