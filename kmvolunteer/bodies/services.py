"""Joint bodies' rules: a body per community (大党委) or subdistrict (党建联盟), its units, part-time members,
the alliance's monthly rotating chair, and its joint meetings (联席会议), whose decision may publish a need
on the three lists in one step — so this package composes the report-in feature's lists and sits above it
(reportin never imports it). Never touches ``request``; refusals change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kmvolunteer.bodies.models import (
    ATTENDANCE_LABELS,
    BODY_LEVELS,
    UNIT_LABELS,
    Attendance,
    BodyKind,
    BodyMember,
    BodyUnit,
    ChairMonth,
    JointBody,
    JointMeeting,
    MeetingAttendance,
)
from kmvolunteer.core import audit
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.text import checked_text, parse_id
from kmvolunteer.core.time import local_day_start_utc, local_today
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area, Branch, Member
from kmvolunteer.reportin.models import Claim, Need, Project
from kmvolunteer.reportin.services import NeedData, publish_need
from kmvolunteer.reports.services import done_between
from kmvolunteer.service.models import ServiceRecord

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


# ---------------------------------------------------------------- joint meetings (联席会议)

TOPICS_MAX, DECISIONS_MAX = 2000, 4000


def communities_of(body: JointBody) -> list[Area]:
    """Where a body's decision may publish a need: its community, or an alliance's communities."""
    if body.kind == BodyKind.committee.value:
        return [body.area]
    return list(
        db.session.scalars(
            select(Area)
            .where(Area.parent_id == body.area_id, Area.level == "community", Area.active.is_(True))
            .order_by(Area.name)
        )
    )


def record_meeting(
    body: JointBody,
    held_on: date | None,
    place: str,
    topics: str,
    decisions: str,
    attendance: dict,
    need: tuple[Area | None, NeedData] | None = None,
    *,
    actor_id: int | None,
) -> JointMeeting:
    """Record a meeting held (today or before) with every active unit's attendance; with ``need`` (a community
    of the body and the need's data), its decision publishes that need on the community's lists in one step."""
    if held_on is None:
        raise ServiceError(_("Enter the day of the meeting."), "held_on")
    if held_on > local_today():
        raise ServiceError(_("Record a meeting once it has been held."), "held_on")
    place = checked_text(place, "place", 100, None)
    topics = checked_text(topics, "topics", TOPICS_MAX, _("Write down the topics."))
    decisions = checked_text(decisions, "decisions", DECISIONS_MAX, None)
    units = [u for u in db.session.scalars(select(BodyUnit).where(BodyUnit.body_id == body.id)) if u.active]
    statuses = {}
    for unit in units:
        status = attendance.get(unit.id, Attendance.absent.value)
        if status not in ATTENDANCE_LABELS:
            raise ServiceError(_("Say whether each unit was present, excused or absent."), "attendance")
        statuses[unit.id] = status
    published = None
    if need is not None:
        community, data = need
        if community is None or community.id not in {c.id for c in communities_of(body)}:
            raise ServiceError(_("Choose a community of this body for the need."), "need_community")
        if not decisions:
            raise ServiceError(_("Write down the decision the need comes from."), "decisions")
        published = publish_need(community, data, actor_id=actor_id)
    meeting = JointMeeting(
        body_id=body.id,
        held_on=held_on,
        place=place,
        topics=topics,
        decisions=decisions,
        need_id=published.id if published else None,
        recorded_by_id=actor_id,
    )
    db.session.add(meeting)
    db.session.flush()
    db.session.add_all(MeetingAttendance(meeting_id=meeting.id, unit_id=u, status=s) for u, s in statuses.items())
    db.session.flush()
    audit.record(
        "body.meeting_recorded",
        meeting,
        scope_path=body.area.path,
        summary=f"{body.name} {held_on.isoformat()}",
        after={"present": sum(1 for s in statuses.values() if s == "present"), "need_id": meeting.need_id},
        actor_id=actor_id,
    )
    return meeting


def meetings(body: JointBody, year: int) -> list[JointMeeting]:
    return list(
        db.session.scalars(
            select(JointMeeting)
            .where(
                JointMeeting.body_id == body.id,
                JointMeeting.held_on >= date(year, 1, 1),
                JointMeeting.held_on <= date(year, 12, 31),
            )
            .order_by(JointMeeting.held_on.desc(), JointMeeting.id.desc())
        )
    )


def attendance_counts(body: JointBody, year: int) -> dict[int, dict[str, int]]:
    """unit id → {status: meetings} for the body's meetings of ``year`` (the unit's record)."""
    counts: dict[int, dict[str, int]] = {}
    for unit_id, status, n in db.session.execute(
        select(MeetingAttendance.unit_id, MeetingAttendance.status, func.count())
        .join(JointMeeting, MeetingAttendance.meeting_id == JointMeeting.id)
        .where(
            JointMeeting.body_id == body.id,
            JointMeeting.held_on >= date(year, 1, 1),
            JointMeeting.held_on <= date(year, 12, 31),
        )
        .group_by(MeetingAttendance.unit_id, MeetingAttendance.status)
    ):
        counts.setdefault(unit_id, {})[status] = n
    return counts


# ---------------------------------------------------------------- the body's tally


@dataclass
class UnitTally:
    """A member unit's part in the body's year: meetings attended and, for an agency of the site, what its
    branches and members did in the body's area."""

    unit: BodyUnit
    meetings: int = 0
    claims: int = 0
    projects_done: int = 0
    half_hours: int = 0


def tally(body: JointBody, year: int) -> list[UnitTally]:
    """Each unit's meetings attended in ``year``; for agencies, the needs their branches and members claimed,
    the projects their branches finished and their members' approved hours, in the body's area (its community,
    or the alliance's communities) — one grouped query each."""
    units = list(db.session.scalars(select(BodyUnit).where(BodyUnit.body_id == body.id).order_by(BodyUnit.id)))
    rows = {u.id: UnitTally(u) for u in units}
    for unit_id, counts in attendance_counts(body, year).items():
        if unit_id in rows:
            rows[unit_id].meetings = counts.get(Attendance.present.value, 0)
    by_agency = {u.agency_id: rows[u.id] for u in units if u.agency_id is not None}
    if not by_agency:
        return list(rows.values())
    communities = select(Area.id).where(
        Area.path.startswith(body.area.path, autoescape=True), Area.level == "community"
    )
    start, end = date(year, 1, 1), date(year, 12, 31)
    member_agency = select(Member.id, Branch.agency_id).join(Branch, Member.branch_id == Branch.id).subquery()
    claim_agency = func.coalesce(member_agency.c.agency_id, Branch.agency_id)
    claims = (
        select(claim_agency, func.count(Claim.id))
        .join(Need, Claim.need_id == Need.id)
        .outerjoin(member_agency, Claim.member_id == member_agency.c.id)
        .outerjoin(Branch, Claim.branch_id == Branch.id)
        .where(
            Need.community_id.in_(communities),
            Claim.created_at >= local_day_start_utc(start),
            Claim.created_at < local_day_start_utc(end + timedelta(days=1)),
            claim_agency.in_(by_agency),
        )
        .group_by(claim_agency)
    )
    projects = (
        select(Branch.agency_id, func.count(Project.id))
        .join(Branch, Project.branch_id == Branch.id)
        .where(Project.community_id.in_(communities), done_between(start, end), Branch.agency_id.in_(by_agency))
        .group_by(Branch.agency_id)
    )
    hours = (
        select(Branch.agency_id, func.sum(ServiceRecord.half_hours))
        .join(Member, ServiceRecord.member_id == Member.id)
        .join(Branch, Member.branch_id == Branch.id)
        .where(
            ServiceRecord.community_id.in_(communities),
            ServiceRecord.status == "approved",
            ServiceRecord.year == year,
            Branch.agency_id.in_(by_agency),
        )
        .group_by(Branch.agency_id)
    )
    for name, stmt in (("claims", claims), ("projects_done", projects), ("half_hours", hours)):
        for agency_id, value in db.session.execute(stmt):
            setattr(by_agency[agency_id], name, int(value or 0))
    return list(rows.values())
