"""Joint bodies' rules: a body per community (大党委) or subdistrict (党建联盟), its units, part-time members
and the alliance's monthly rotating chair. Never touches ``request``; refusals change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kmvolunteer.bodies.models import BODY_LEVELS, UNIT_LABELS, BodyKind, BodyMember, BodyUnit, ChairMonth, JointBody
from kmvolunteer.core import audit
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.text import checked_text, parse_id
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area

NAME_MAX, POST_MAX = 100, 100
ROTATION_MONTHS = 12


def kind_for(area: Area) -> str | None:
    """The kind of body an area has: a community's 大党委, a subdistrict's 党建联盟, none elsewhere."""
    return next((kind for kind, level in BODY_LEVELS.items() if level == area.level), None)


def body_of(area: Area) -> JointBody | None:
    return db.session.scalar(select(JointBody).where(JointBody.area_id == area.id))


def open_body(area: Area, *, actor_id: int | None) -> JointBody:
    """The area's body, set up the first time it is asked for (named after the area)."""
    kind = kind_for(area)
    if kind is None:
        raise ServiceError(_("Only a community or a subdistrict has a joint body."))
    body = body_of(area)
    if body is not None:
        return body
    suffix = "大党委" if kind == BodyKind.committee.value else "党建联盟"
    body = JointBody(kind=kind, area_id=area.id, name=f"{area.name}{suffix}")
    db.session.add(body)
    db.session.flush()
    audit.record("body.opened", body, scope_path=area.path, summary=body.name, actor_id=actor_id)
    return body


def _flush_unique(message: str, field: str) -> None:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ServiceError(message, field) from None


def add_unit(body: JointBody, kind: str, name: str, agency_id, *, actor_id: int | None) -> BodyUnit:
    """A member unit: an agency of the site (by id; its name is the agency's) or another organization by name."""
    if kind not in UNIT_LABELS:
        raise ServiceError(_("Choose what kind of unit it is."), "kind")
    agency = None
    if kind == "agency":
        agency = db.session.get(Agency, parse_id(agency_id) or 0)
        if agency is None or not agency.active:
            raise ServiceError(_("Choose the agency."), "agency_id")
        name = agency.name
    name = checked_text(name, "name", NAME_MAX, _("Name the unit."))
    unit = BodyUnit(body_id=body.id, kind=kind, agency_id=agency.id if agency else None, name=name)
    db.session.add(unit)
    _flush_unique(_("%(name)s is already a member unit.", name=name), "name")
    audit.record("body.unit_added", unit, scope_path=body.area.path, summary=f"{body.name}: {name}", actor_id=actor_id)
    return unit


def _unit_of(body: JointBody, raw) -> BodyUnit:
    unit = db.session.get(BodyUnit, parse_id(raw) or 0)
    if unit is None or unit.body_id != body.id or not unit.active:
        raise ServiceError(_("Choose one of the body's member units."), "unit_id")
    return unit


def add_member(
    body: JointBody, unit_id, name: str, post: str, term_start: date | None, term_end: date | None, *, actor_id
) -> BodyMember:
    """A part-time member (兼职委员) for one of the body's units, for a term."""
    unit = _unit_of(body, unit_id)
    name = checked_text(name, "name", 50, _("Enter the member's name."))
    post = checked_text(post, "post", POST_MAX, None)
    if term_start is None or term_end is None:
        raise ServiceError(_("Enter the term's first and last day."), "term_start")
    if term_end < term_start:
        raise ServiceError(_("A term ends after it starts."), "term_end")
    member = BodyMember(
        body_id=body.id, unit_id=unit.id, name=name, post=post, term_start=term_start, term_end=term_end
    )
    db.session.add(member)
    db.session.flush()
    audit.record(
        "body.member_added",
        member,
        scope_path=body.area.path,
        summary=f"{body.name}: {name} ({unit.name})",
        after={"term_start": term_start, "term_end": term_end},
        actor_id=actor_id,
    )
    return member


def _first_of(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def set_rotation(body: JointBody, start: date, unit_ids: list, *, actor_id: int | None) -> list[ChairMonth]:
    """The alliance's chairs for 12 months from ``start``'s month, the units taking turns in the order given."""
    if body.kind != BodyKind.alliance.value:
        raise ServiceError(_("Only a party alliance has a rotating chair."))
    units = [_unit_of(body, raw) for raw in unit_ids if str(raw).strip()]
    if not units:
        raise ServiceError(_("Choose the units that take turns to chair, in order."), "unit_ids")
    first = _first_of(start)
    if first < _first_of(local_today()):
        raise ServiceError(_("A rotation starts this month or later."), "start")
    months = [_add_months(first, n) for n in range(ROTATION_MONTHS)]
    existing = {
        c.month: c
        for c in db.session.scalars(
            select(ChairMonth).where(ChairMonth.body_id == body.id, ChairMonth.month.in_(months))
        )
    }
    chairs = []
    for n, month in enumerate(months):
        chair = existing.get(month) or ChairMonth(body_id=body.id, month=month)
        chair.unit_id = units[n % len(units)].id
        chairs.append(chair)
    db.session.add_all(chairs)
    db.session.flush()
    audit.record(
        "body.rotation_set",
        body,
        scope_path=body.area.path,
        summary=f"{body.name}: {months[0]:%Y-%m}–{months[-1]:%Y-%m}",
        after={"units": [u.name for u in units]},
        actor_id=actor_id,
    )
    return chairs


@dataclass
class BodyPage:
    body: JointBody
    units: list[BodyUnit]
    members: list[BodyMember]  # in their term today
    chair: BodyUnit | None  # this month's (an alliance)
    schedule: list[ChairMonth]  # this month and the next ones set


def page(body: JointBody, today: date | None = None) -> BodyPage:
    today = today or local_today()
    units = list(db.session.scalars(select(BodyUnit).where(BodyUnit.body_id == body.id).order_by(BodyUnit.id)))
    members = list(
        db.session.scalars(
            select(BodyMember)
            .where(BodyMember.body_id == body.id, BodyMember.term_end >= today, BodyMember.term_start <= today)
            .order_by(BodyMember.unit_id, BodyMember.id)
        )
    )
    schedule = list(
        db.session.scalars(
            select(ChairMonth)
            .where(ChairMonth.body_id == body.id, ChairMonth.month >= _first_of(today))
            .order_by(ChairMonth.month)
        )
    )
    chair = schedule[0].unit if schedule and schedule[0].month == _first_of(today) else None
    return BodyPage(body, units, members, chair, schedule)
