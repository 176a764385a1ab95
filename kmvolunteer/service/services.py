"""服务记录: the rules for logging service hours and for every state change of a record.

Every transition follows one order: policy check → rule checks → a guarded UPDATE
(``WHERE status = :expected``, so of two people clicking at once only one wins) →
one audit entry with before/after → the ``machine.transitioned`` event, which the
tallies' counters follow in the same transaction. Nothing here commits or touches
``request``; a ServiceError means nothing was changed (the caller rolls back and shows
the message).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, NamedTuple

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, func, or_, select, update
from sqlalchemy.orm import aliased, joinedload

from kmvolunteer.auth.models import User
from kmvolunteer.auth.policy import About, about_self, can, member_search, scoped
from kmvolunteer.core import audit
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.db import unique_serial
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.text import format_hours
from kmvolunteer.core.time import local_today, to_local, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area, Branch, Member
from kmvolunteer.reportin.models import Claim, Need, ReportIn
from kmvolunteer.service.models import RECORDS, Certificate, RecordStatus, ServiceRecord
from kmvolunteer.years import workdays
from kmvolunteer.years.models import YearRule, year_is_closed
from kmvolunteer.years.rules import effective_rule

S = RecordStatus
MAX_ENTRY_HALF_HOURS = 24  # 12 h per entry
MAX_DAY_HALF_HOURS = 32  # 16 h per member per day, across submitted and approved entries
LIVE_STATUSES = (S.submitted.value, S.approved.value, S.returned.value)  # for duplicates
DAY_STATUSES = (S.submitted.value, S.approved.value)  # for the daily limit
BULK_LIMIT = 200

STATUS_LABELS = RECORDS.labels
ACTION_LABELS = {
    "service.logged": _l("logged"),
    "service.edited": _l("changed"),
    "service.resubmitted": _l("changed and sent again"),
    "service.approved": _l("approved"),
    "service.returned": _l("returned"),
    "service.rejected": _l("rejected"),
    "service.withdrawn": _l("withdrawn"),
    "service.revoked": _l("revoked"),
    "service.recorded": _l("recorded by the organizer"),
}
FIELD_LABELS = {
    "service_date": _l("Date"),
    "community_id": _l("Community"),
    "need_id": _l("Need or post"),
    "start_time": _l("Start time"),
    "end_time": _l("End time"),
    "hours": _l("Hours"),
    "place": _l("Place"),
    "content": _l("What you did"),
    "organizer": _l("Organizer"),
    "person_in_charge": _l("Person in charge"),
    "late": _l("Late"),
    "late_reason": _l("Why late"),
    "reason": _l("Reason"),
}


class DuplicateEntry(ServiceError):
    """A likely duplicate; ``existing`` is the entry it repeats (its page is linked in the message)."""

    def __init__(self, message: str, existing: ServiceRecord) -> None:
        super().__init__(message)
        self.existing_id = existing.id


# ---------------------------------------------------------------- small queries


def report_in_community(member: Member) -> Area | None:
    """The community the member has a confirmed report-in to (at most one is active)."""
    return db.session.scalar(
        select(Area)
        .join(ReportIn, ReportIn.community_id == Area.id)
        .where(ReportIn.kind == "member", ReportIn.status == "confirmed", ReportIn.member_id == member.id)
        .order_by(ReportIn.id.desc())
        .limit(1)
    )


def rule_for(member: Member, year: int) -> YearRule | None:
    """The year's requirement for the member: the rule of their agency's place (district, else city)."""
    return effective_rule(year, member.branch.agency.area)


def late_limit() -> int:
    return int(current_app.config.get("LATE_WORKING_DAYS", 10))


def pending_warn_days() -> int:
    return int(current_app.config.get("PENDING_WARN_DAYS", 7))


def overdue_cutoff(now: datetime | None = None) -> datetime:
    """Entries submitted before this moment have waited too long (to the minute)."""
    return ((now or utcnow()) - timedelta(days=pending_warn_days())).replace(second=0, microsecond=0)


def is_overdue(record: ServiceRecord, now: datetime | None = None) -> bool:
    return record.status == S.submitted.value and record.submitted_at < overdue_cutoff(now)


def days_waited(record: ServiceRecord, now: datetime | None = None) -> int:
    """Whole days since the entry was sent: what a highlighted entry says instead of a bare 'overdue'."""
    return ((now or utcnow()) - record.submitted_at).days


def _waited_too_long():
    """is_overdue, in SQL."""
    return and_(ServiceRecord.status == S.submitted.value, ServiceRecord.submitted_at < overdue_cutoff())


def parse_hours(raw: Any) -> Decimal | None:
    """Text from a form → Decimal, or None when empty. Raises ServiceError when not a number."""
    if raw is None:
        return None
    if isinstance(raw, Decimal):
        value = raw
    else:
        text = str(raw).strip().replace("，", ".").replace(",", ".")
        if not text:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation as exc:
            raise ServiceError(_("Enter the hours as a number, such as 2 or 1.5."), "hours") from exc
    if not value.is_finite():
        raise ServiceError(_("Enter the hours as a number, such as 2 or 1.5."), "hours")
    return value


# ---------------------------------------------------------------- counting


def _lock_member(member_id: int) -> None:
    """Take the member row's write lock first, so one member's concurrent entries (a double-clicked
    form) are checked one after the other: an UPDATE that changes nothing locks the row on PostgreSQL
    and takes SQLite's write lock before the checks read."""
    db.session.execute(
        update(Member)
        .where(Member.id == member_id)
        .values(active=Member.active)
        .execution_options(synchronize_session=False)
    )


def _year_counts(member_id: int, year: int) -> Select:
    """(approved half-hours, approved entries, pending entries, returned entries) of a member's year,
    counted from their records (at most a few hundred, found by ix_service_record_member_year)."""

    def count(status: RecordStatus, value: Any = 1):
        return func.coalesce(func.sum(case((ServiceRecord.status == status.value, value), else_=0)), 0)

    return select(
        count(S.approved, ServiceRecord.half_hours), count(S.approved), count(S.submitted), count(S.returned)
    ).where(ServiceRecord.member_id == member_id, ServiceRecord.year == year)


# ---------------------------------------------------------------- entries


@dataclass
class EntryData:
    """What a member types in for one entry (already parsed from the form)."""

    service_date: date
    content: str
    community_id: int | None = None
    need_id: int | None = None
    start_time: time | None = None
    end_time: time | None = None
    hours: Decimal | None = None
    place: str = ""
    organizer: str = ""
    person_in_charge: str = ""
    late_reason: str = ""


def half_hours_from(start: time | None, end: time | None, hours: Decimal | None) -> int:
    """Start and end time (rounded to the nearest half hour) or hours in steps of 0.5: whole half-hours."""
    if (start is None) != (end is None):
        raise ServiceError(
            _("Enter both the start and the end time, or neither."), "end_time" if end is None else "start_time"
        )
    if start is not None and end is not None:
        minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
        if minutes <= 0:
            raise ServiceError(_("The end time must be after the start time."), "end_time")
        half_hours = (minutes + 15) // 30
        if hours is not None and hours * 2 != half_hours:
            raise ServiceError(
                _("The hours do not match the start and end time. Leave the hours empty to count them from the times."),
                "hours",
            )
    else:
        if hours is None:
            raise ServiceError(_("Enter the hours, or the start and end time."), "hours")
        doubled = hours * 2
        if doubled != doubled.to_integral_value(rounding=ROUND_HALF_UP):
            raise ServiceError(_("Hours go in steps of half an hour, such as 1, 1.5 or 2."), "hours")
        half_hours = int(doubled)
    if half_hours <= 0:
        raise ServiceError(_("The hours must be more than 0."), "hours")
    if half_hours > MAX_ENTRY_HALF_HOURS:
        raise ServiceError(_("One entry can be at most 12 hours; log a longer service as several entries."), "hours")
    return half_hours


def check_date(day: date, today: date) -> None:
    if day > today:
        raise ServiceError(_("The service date cannot be in the future."), "service_date")
    if day < date(today.year - 1, 1, 1):
        raise ServiceError(
            _("The service date is too far in the past: only this year and last year can be logged."), "service_date"
        )
    if year_is_closed(day.year):
        raise ServiceError(
            _("The year %(year)d is closed; its records can no longer change.", year=day.year), "service_date"
        )


def _overlaps(a_start: time | None, a_end: time | None, b_start: time | None, b_end: time | None) -> bool:
    if None in (a_start, a_end, b_start, b_end):
        return False
    return a_start < b_end and b_start < a_end  # type: ignore[operator]


def _check_duplicates_and_day(
    member_id: int,
    day: date,
    *,
    need_id: int | None,
    community_id: int,
    start: time | None,
    end: time | None,
    half_hours: int,
    content: str,
    exclude_id: int | None = None,
) -> None:
    stmt = select(ServiceRecord).where(
        ServiceRecord.member_id == member_id, ServiceRecord.service_date == day, ServiceRecord.status.in_(LIVE_STATUSES)
    )
    if exclude_id is not None:
        stmt = stmt.where(ServiceRecord.id != exclude_id)
    same_day = list(db.session.scalars(stmt.order_by(ServiceRecord.id)))
    for other in same_day:
        same_need = need_id is not None and other.need_id == need_id
        same_text = (
            other.community_id == community_id
            and other.half_hours == half_hours
            and other.content.strip() == content.strip()
        )
        if same_need or same_text or _overlaps(start, end, other.start_time, other.end_time):
            raise DuplicateEntry(
                _(
                    "This looks like a repeat of your entry no. %(id)d of %(date)s (%(hours)s h, %(state)s). "
                    "Change that entry instead.",
                    id=other.id,
                    date=other.service_date.isoformat(),
                    hours=format_hours(other.half_hours),
                    state=STATUS_LABELS[other.status],
                ),
                other,
            )
    day_total = sum(r.half_hours for r in same_day if r.status in DAY_STATUSES)
    if day_total + half_hours > MAX_DAY_HALF_HOURS:
        raise ServiceError(
            _(
                "At most 16 hours can be logged for one day; %(date)s already has %(hours)s h.",
                date=day.isoformat(),
                hours=format_hours(day_total),
            ),
            "hours",
        )


def _resolve_place(
    data: EntryData, actor: User, keep: tuple[int, int | None] | None = None
) -> tuple[Area, Need | None]:
    """The community and need of an entry, where the policy lets the member log service (``service.place``);
    ``keep`` is an edited entry's own place, which stays allowed after the member moved."""
    need = None
    if data.need_id is not None:
        need = db.session.get(Need, data.need_id)
        if need is None:
            raise ServiceError(_("Choose a need or post from the list."), "need_id")
    community_id = data.community_id if data.community_id is not None else (need.community_id if need else None)
    if community_id is None:
        raise ServiceError(_("Choose the community where you served."), "community_id")
    community = db.session.get(Area, community_id)
    if community is None or community.level != "community" or not community.active:
        raise ServiceError(_("Choose the community where you served."), "community_id")
    if need is not None and need.community_id != community.id:
        raise ServiceError(
            _(
                "That need or post belongs to %(community)s; choose that community or another need.",
                community=need.community.name,
            ),
            "need_id",
        )
    if keep != (community.id, need.id if need else None) and not can(actor, "service.place", (community, need)):
        if need is not None:
            raise ServiceError(_("Choose a need or post from the list."), "need_id")
        raise ServiceError(
            _("You can log service only at the community you have reported in to, or on a need you have claimed."),
            "community_id",
        )
    return community, need


def _clean_text(data: EntryData) -> None:
    data.content = (data.content or "").strip()
    if not data.content:
        raise ServiceError(_("Describe the service you gave."), "content")
    if len(data.content) > 2000:
        raise ServiceError(_("Keep the description under 2000 characters."), "content")
    for name, limit in (("place", 100), ("organizer", 100), ("person_in_charge", 50), ("late_reason", 255)):
        value = (getattr(data, name) or "").strip()
        if len(value) > limit:
            raise ServiceError(_("This is too long (at most %(n)d characters).", n=limit), name)
        setattr(data, name, value)


SNAPSHOT_KEYS = (
    "status",
    "service_date",
    "community_id",
    "need_id",
    "start_time",
    "end_time",
    "place",
    "content",
    "organizer",
    "person_in_charge",
    "late",
    "late_reason",
)


def _snapshot(record: ServiceRecord) -> dict[str, Any]:
    return {
        "status": record.status,
        "service_date": record.service_date,
        "community_id": record.community_id,
        "need_id": record.need_id,
        "start_time": record.start_time,
        "end_time": record.end_time,
        "hours": format_hours(record.half_hours),
        "place": record.place,
        "content": record.content,
        "organizer": record.organizer,
        "person_in_charge": record.person_in_charge,
        "late": record.late,
        "late_reason": record.late_reason,
    }


def _snapshot_of(values: dict[str, Any]) -> dict[str, Any]:
    """The part of a snapshot that these new column values change."""
    changed = {key: value for key, value in values.items() if key in SNAPSHOT_KEYS}
    if "half_hours" in values:
        changed["hours"] = format_hours(values["half_hours"])
    return changed


def _summary(record: ServiceRecord, service_date: date | None = None, half_hours: int | None = None) -> str:
    day = service_date or record.service_date
    return f"{record.member.name} {day.isoformat()} {format_hours(half_hours or record.half_hours)} h"


def log_entry(member: Member, actor: User, data: EntryData, *, today: date | None = None) -> ServiceRecord:
    """A member logs their own service: it is submitted for the community secretary to decide."""
    if not can(actor, "service.log", member):
        raise ServiceError(_("Only the member can log their own service."))
    today = today or local_today()
    _clean_text(data)
    half_hours = half_hours_from(data.start_time, data.end_time, data.hours)
    check_date(data.service_date, today)
    community, need = _resolve_place(data, actor)
    late = workdays.is_late(data.service_date, today, late_limit())
    if late and not data.late_reason:
        raise ServiceError(
            _(
                "This service was more than %(n)d working days ago, so the entry is late: "
                "say why it is recorded only now.",
                n=late_limit(),
            ),
            "late_reason",
        )
    _lock_member(member.id)
    _check_duplicates_and_day(
        member.id,
        data.service_date,
        need_id=need.id if need else None,
        community_id=community.id,
        start=data.start_time,
        end=data.end_time,
        half_hours=half_hours,
        content=data.content,
    )
    now = utcnow()
    record = ServiceRecord(
        member_id=member.id,
        community_id=community.id,
        need_id=need.id if need else None,
        service_date=data.service_date,
        year=data.service_date.year,
        start_time=data.start_time,
        end_time=data.end_time,
        half_hours=half_hours,
        place=data.place,
        content=data.content,
        organizer=data.organizer,
        person_in_charge=data.person_in_charge,
        status=S.submitted.value,
        late=late,
        late_reason=data.late_reason if late else "",
        created_at=now,
        created_by_id=actor.id,
        submitted_at=now,
    )
    db.session.add(record)
    db.session.flush()
    RECORDS.created(record, actor_id=actor.id)
    audit.record(
        "service.logged",
        record,
        scope_path=community.path,
        summary=f"{member.name} {record.service_date.isoformat()} {format_hours(half_hours)} h",
        after=_snapshot(record),
        actor_id=actor.id,
    )
    return record


def edit_entry(record: ServiceRecord, actor: User, data: EntryData, *, today: date | None = None) -> ServiceRecord:
    """The owner changes a submitted entry, or a returned one, which sends it again."""
    if not can(actor, "service.edit", record):
        raise ServiceError(_("Only the member who logged an entry can change it."))
    expected = record.status
    if expected not in (S.submitted.value, S.returned.value):
        raise ServiceError(_("This entry is %(state)s and can no longer be changed.", state=STATUS_LABELS[expected]))
    today = today or local_today()
    _clean_text(data)
    half_hours = half_hours_from(data.start_time, data.end_time, data.hours)
    check_date(data.service_date, today)
    if year_is_closed(record.year):
        raise ServiceError(_("The year %(year)d is closed; its records can no longer change.", year=record.year))
    community, need = _resolve_place(data, actor, keep=(record.community_id, record.need_id))
    recorded_on = to_local(record.created_at).date() if record.created_at else today
    late = workdays.is_late(data.service_date, max(recorded_on, data.service_date), late_limit())
    if late and not data.late_reason:
        raise ServiceError(
            _(
                "This service was more than %(n)d working days before it was logged, so the entry "
                "is late: say why it was recorded late.",
                n=late_limit(),
            ),
            "late_reason",
        )
    _lock_member(record.member_id)
    _check_duplicates_and_day(
        record.member_id,
        data.service_date,
        need_id=need.id if need else None,
        community_id=community.id,
        start=data.start_time,
        end=data.end_time,
        half_hours=half_hours,
        content=data.content,
        exclude_id=record.id,
    )
    before = _snapshot(record)
    values: dict[str, Any] = dict(
        community_id=community.id,
        need_id=need.id if need else None,
        service_date=data.service_date,
        year=data.service_date.year,
        start_time=data.start_time,
        end_time=data.end_time,
        half_hours=half_hours,
        place=data.place,
        content=data.content,
        organizer=data.organizer,
        person_in_charge=data.person_in_charge,
        late=late,
        late_reason=data.late_reason if late else "",
    )
    if expected == S.returned.value:
        values.update(submitted_at=utcnow(), reason="")
    after = {**before, **_snapshot_of(values)}
    changed = {k for k in after if k != "status" and after[k] != before[k]}
    RECORDS.perform(
        record,
        "resubmit" if expected == S.returned.value else "edit",
        actor_id=actor.id,
        scope_path=community.path,
        summary=_summary(record, data.service_date, half_hours),
        values=values,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
    )
    db.session.expire(record, ["community", "need"])
    return record


def _decide(record: ServiceRecord, actor: User, action: str, reason: str | None = None) -> ServiceRecord:
    if year_is_closed(record.year):
        raise ServiceError(_("The year %(year)d is closed; its records can no longer change.", year=record.year))
    values: dict[str, Any] = {}
    if action != "withdraw":
        values.update(decided_at=utcnow(), decided_by_id=actor.id, reason="")
    RECORDS.perform(
        record,
        action,
        actor_id=actor.id,
        scope_path=record.community.path,
        summary=_summary(record),
        values=values,
        reason=reason,
    )
    return record


def approve(record: ServiceRecord, actor: User) -> ServiceRecord:
    return _decide(record, actor, "approve")


def return_entry(record: ServiceRecord, actor: User, reason: str | None) -> ServiceRecord:
    return _decide(record, actor, "return", reason)


def reject(record: ServiceRecord, actor: User, reason: str | None) -> ServiceRecord:
    return _decide(record, actor, "reject", reason)


def revoke(record: ServiceRecord, actor: User, reason: str | None) -> ServiceRecord:
    """An approved record is never changed in place: it is revoked (with a reason) and logged anew."""
    return _decide(record, actor, "revoke", reason)


def withdraw(record: ServiceRecord, actor: User) -> ServiceRecord:
    return _decide(record, actor, "withdraw")


DECISIONS = {"approve": approve, "return": return_entry, "reject": reject}


@dataclass
class BulkResult:
    action: str
    done: list[ServiceRecord] = field(default_factory=list)
    skipped: list[tuple[int, ServiceRecord | None, str]] = field(default_factory=list)


def bulk_decide(ids: Iterable[Any], actor: User, action: str, reason: str | None = None) -> BulkResult:
    """Approve, return or reject many entries at once. Entries outside the actor's community, already
    decided or otherwise refused are skipped and reported; the rest are processed."""
    if action not in DECISIONS:
        raise ServiceError(_("Choose approve, return or reject."))
    if action != "approve":
        reason = RECORDS.require_reason(action, reason)
    wanted: list[int] = []
    for raw in ids:
        try:
            value = int(raw)
        except (TypeError, ValueError):
            continue
        if value not in wanted:
            wanted.append(value)
    if not wanted:
        raise ServiceError(_("Tick at least one entry."))
    if len(wanted) > BULK_LIMIT:
        raise ServiceError(_("At most %(n)d entries at a time.", n=BULK_LIMIT))
    wanted.sort()  # one lock order for everyone
    records = {
        r.id: r
        for r in db.session.scalars(
            select(ServiceRecord)
            .where(ServiceRecord.id.in_(wanted))
            .options(joinedload(ServiceRecord.member), joinedload(ServiceRecord.community))
        )
    }
    result = BulkResult(action)
    for record_id in wanted:
        record = records.get(record_id)
        if (
            record is None
            or not can(actor, "service.view", record)
            or not (can(actor, "service.decide", record) or about_self(actor, "service.decide", record))
        ):
            result.skipped.append((record_id, None, _("not within your community")))
            continue
        try:
            if action == "approve":
                approve(record, actor)
            else:
                DECISIONS[action](record, actor, reason)
        except ServiceError as exc:
            result.skipped.append((record_id, record, exc.message))
        else:
            result.done.append(record)
    return result


# ---------------------------------------------------------------- attendance sheet (谁组织谁记录)


def attendee_candidates(need: Need) -> list[Member]:
    """Who may be ticked: members with an active claim on the need, then members reported in to its community."""
    claimed = select(Claim.member_id).where(
        Claim.need_id == need.id, Claim.status == "active", Claim.member_id.is_not(None)
    )
    reported = select(ReportIn.member_id).where(
        ReportIn.kind == "member", ReportIn.status == "confirmed", ReportIn.community_id == need.community_id
    )
    members = list(
        db.session.scalars(
            select(Member)
            .where(Member.active.is_(True), or_(Member.id.in_(claimed), Member.id.in_(reported)))
            .options(joinedload(Member.branch).joinedload(Branch.agency))
        )
    )
    claimed_ids = set(db.session.scalars(claimed))
    members.sort(key=lambda m: (m.id not in claimed_ids, m.name, m.id))
    return members


def claimed_member_ids(need: Need) -> set[int]:
    return set(
        db.session.scalars(
            select(Claim.member_id).where(
                Claim.need_id == need.id, Claim.status == "active", Claim.member_id.is_not(None)
            )
        )
    )


@dataclass
class AttendanceResult:
    created: list[ServiceRecord] = field(default_factory=list)
    skipped: list[tuple[int, Member | None, str]] = field(default_factory=list)


def attendance_late(day: date, today: date, late_reason: str) -> tuple[bool, str]:
    """Whether records of an activity on ``day`` are late (more than the limit of working days ago), and the
    reason kept for it; ServiceError when they are late and no reason is given."""
    late = workdays.is_late(day, today, late_limit())
    late_reason = (late_reason or "").strip()
    if late and not late_reason:
        raise ServiceError(
            _(
                "This activity was more than %(n)d working days ago, so the records are late: "
                "say why they are recorded only now.",
                n=late_limit(),
            ),
            "late_reason",
        )
    if len(late_reason) > 255:
        raise ServiceError(_("This is too long (at most %(n)d characters).", n=255), "late_reason")
    return late, late_reason if late else ""


@dataclass
class Attended:
    """How one attendee served, for the organizer's record of it."""

    half_hours: int
    start_time: time | None = None
    end_time: time | None = None
    on_site: bool = False  # 现场签到记录: from an on-site sign-in sheet


def record_attended(
    need: Need,
    day: date,
    actor: User,
    member: Member,
    served: Attended,
    *,
    content: str,
    place: str,
    late: bool,
    late_reason: str,
) -> ServiceRecord:
    """One attendee's approved record, recorded by the organizer (谁组织谁记录); ServiceError, with a short
    reason, when it cannot be made (the organizer's own entry, a repeat, the day's limit). The caller has
    checked the actor may record attendance on ``need``, the day and the hours."""
    if not can(actor, "service.decide", About(need.community, member=member)):
        raise ServiceError(_("your own entry needs another secretary"))
    _lock_member(member.id)
    try:
        _check_duplicates_and_day(
            member.id,
            day,
            need_id=need.id,
            community_id=need.community_id,
            start=served.start_time,
            end=served.end_time,
            half_hours=served.half_hours,
            content=content,
        )
    except DuplicateEntry as exc:
        raise ServiceError(_("already has an entry for this on that day")) from exc
    now = utcnow()
    record = ServiceRecord(
        member_id=member.id,
        community_id=need.community_id,
        need_id=need.id,
        service_date=day,
        year=day.year,
        start_time=served.start_time,
        end_time=served.end_time,
        half_hours=served.half_hours,
        place=place[:100],
        content=content,
        organizer=need.community.name,
        person_in_charge=actor.display_name[:50],
        status=S.approved.value,
        late=late,
        late_reason=late_reason if late else "",
        recorded_by_organizer=True,
        on_site=served.on_site,
        created_at=now,
        created_by_id=actor.id,
        submitted_at=now,
        decided_at=now,
        decided_by_id=actor.id,
    )
    db.session.add(record)
    db.session.flush()
    RECORDS.created(record, actor_id=actor.id)
    audit.record(
        "service.recorded",
        record,
        scope_path=need.community.path,
        summary=f"{member.name} {day.isoformat()} {format_hours(served.half_hours)} h · {need.title}"[:255],
        after={**_snapshot(record), **({"on_site": True} if served.on_site else {})},
        actor_id=actor.id,
    )
    return record


def record_attendance(
    need: Need,
    day: date,
    actor: User,
    member_ids: Iterable[Any],
    *,
    hours: Decimal | None = None,
    start_time: time | None = None,
    end_time: time | None = None,
    content: str = "",
    place: str = "",
    late_reason: str = "",
    today: date | None = None,
) -> AttendanceResult:
    """The organizer ticks who attended: one approved record per attendee, marked as recorded by the organizer."""
    if not can(actor, "service.attendance", need):
        raise ServiceError(_("This need is not within your community."))
    today = today or local_today()
    half_hours = half_hours_from(start_time, end_time, hours)
    check_date(day, today)
    content = (content or "").strip() or need.title
    place = (place or "").strip() or need.place
    late, late_reason = attendance_late(day, today, late_reason)
    wanted = sorted({int(v) for v in member_ids if str(v).isdigit()})
    if not wanted:
        raise ServiceError(_("Tick at least one attendee."), "member_ids")
    candidates = {m.id: m for m in attendee_candidates(need)}
    result = AttendanceResult()
    for member_id in wanted:
        member = candidates.get(member_id)
        if member is None:
            result.skipped.append((member_id, None, _("not on this attendance sheet")))
            continue
        try:
            record = record_attended(
                need,
                day,
                actor,
                member,
                Attended(half_hours, start_time, end_time),
                content=content,
                place=place,
                late=late,
                late_reason=late_reason,
            )
        except ServiceError as exc:
            result.skipped.append((member_id, member, exc.message))
            continue
        result.created.append(record)
    return result


# ---------------------------------------------------------------- certificate


def approved_entries(member: Member, year: int, issued_before: datetime | None = None) -> list[ServiceRecord]:
    stmt = (
        select(ServiceRecord)
        .where(
            ServiceRecord.member_id == member.id, ServiceRecord.year == year, ServiceRecord.status == S.approved.value
        )
        .options(joinedload(ServiceRecord.community))
        .order_by(ServiceRecord.service_date, ServiceRecord.id)
    )
    if issued_before is not None:
        stmt = stmt.where(or_(ServiceRecord.decided_at.is_(None), ServiceRecord.decided_at <= issued_before))
    return list(db.session.scalars(stmt))


def issue_certificate(member: Member, year: int, actor: User) -> Certificate:
    """服务记录证明: a platform record of the member's approved service in ``year``."""
    if not can(actor, "certificate.issue", member):
        raise ServiceError(_("Only the member can print their own service record."))
    entries = approved_entries(member, year)
    if not entries:
        raise ServiceError(_("There is no approved service in %(year)d to certify.", year=year), "year")
    community = report_in_community(member)
    if community is None:
        by_community: dict[int, int] = {}
        for entry in entries:
            by_community[entry.community_id] = by_community.get(entry.community_id, 0) + entry.half_hours
        community = db.session.get(Area, max(by_community, key=lambda k: (by_community[k], -k)))
    serial = unique_serial(Certificate.serial, f"KMV-{year}-")
    certificate = Certificate(
        serial=serial,
        member_id=member.id,
        year=year,
        community_id=community.id,
        approved_half_hours=sum(e.half_hours for e in entries),
        approved_entries=len(entries),
        issued_at=utcnow(),
    )
    db.session.add(certificate)
    db.session.flush()
    audit.record(
        "certificate.issued",
        certificate,
        scope_path=community.path,
        summary=f"{member.name} {year} {serial}",
        after={
            "serial": serial,
            "year": year,
            "hours": format_hours(certificate.approved_half_hours),
            "entries": certificate.approved_entries,
        },
        actor_id=actor.id,
    )
    return certificate


def certificate_outdated(certificate: Certificate) -> bool:
    """Has the member's approved service in the certificate's year changed since it was issued
    (an entry revoked, or more approved)? The certificate itself keeps the totals as issued."""
    half_hours, entries, _pending, _returned = db.session.execute(
        _year_counts(certificate.member_id, certificate.year)
    ).one()
    return (half_hours, entries) != (certificate.approved_half_hours, certificate.approved_entries)


def find_certificate(serial: str) -> Certificate | None:
    serial = (serial or "").strip().upper()
    if not serial or len(serial) > 32:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.serial == serial))


# ---------------------------------------------------------------- pages


@dataclass
class Filters:
    status: str = S.submitted.value
    date_from: date | None = None
    date_to: date | None = None
    member: str = ""
    branch_id: int | None = None
    need_id: int | None = None
    community_id: int | None = None
    sort: str = "submitted"


SORTS = {
    "submitted": (ServiceRecord.submitted_at.asc(), ServiceRecord.id.asc()),
    "-submitted": (ServiceRecord.submitted_at.desc(), ServiceRecord.id.desc()),
    "date": (ServiceRecord.service_date.asc(), ServiceRecord.id.asc()),
    "-date": (ServiceRecord.service_date.desc(), ServiceRecord.id.desc()),
    "hours": (ServiceRecord.half_hours.desc(), ServiceRecord.id.asc()),
    "member": (Member.name.asc(), ServiceRecord.service_date.asc(), ServiceRecord.id.asc()),
}


# What a row of the queue shows of an entry, loaded with it.
RECORD_ROW = (
    joinedload(ServiceRecord.member).joinedload(Member.branch).joinedload(Branch.agency),
    joinedload(ServiceRecord.community),
    joinedload(ServiceRecord.need),
)


def _queue_rows(user: User, filters: Filters, stmt: Select | None = None) -> Select:
    """The entries the filters find in the user's queue: ``stmt`` (service records joined to their members)
    narrowed."""
    if stmt is None:
        stmt = select(ServiceRecord).join(Member, ServiceRecord.member_id == Member.id)
    stmt = scoped(stmt, user, "service.queue")
    if filters.status and filters.status != "all":
        stmt = stmt.where(ServiceRecord.status == filters.status)
    if filters.date_from:
        stmt = stmt.where(ServiceRecord.service_date >= filters.date_from)
    if filters.date_to:
        stmt = stmt.where(ServiceRecord.service_date <= filters.date_to)
    if filters.member:
        q = filters.member.strip()
        stmt = stmt.where(member_search(user, q))
    if filters.branch_id:
        stmt = stmt.where(Member.branch_id == filters.branch_id)
    if filters.need_id:
        stmt = stmt.where(ServiceRecord.need_id == filters.need_id)
    if filters.community_id:
        stmt = stmt.where(ServiceRecord.community_id == filters.community_id)
    return stmt


def queue_counts(user: User, filters: Filters) -> tuple[int, int, int]:
    """How many entries the filters find, how many of those have waited too long, and how many wait for
    this community secretary in all (``pending_count``): one statement."""
    rows = _queue_rows(user, filters).with_only_columns(
        func.count(ServiceRecord.id),
        func.coalesce(func.sum(case((_waited_too_long(), 1), else_=0)), 0),
        _pending_statement(user).scalar_subquery(),
    )
    total, overdue, pending = db.session.execute(rows).one()
    return int(total), int(overdue), int(pending or 0)


class QueueRow(NamedTuple):
    """What a row of the queue shows, as plain values (a page of 50 entries would load 300 objects), with
    what the policy reads to say whether the user decides the entry: its community's path and its
    member's account. A tuple: a template reads its fields ten times faster than a database row's."""

    id: int
    status: str
    service_date: date
    start_time: time | None
    end_time: time | None
    half_hours: int
    content: str
    late: bool
    late_reason: str
    reason: str
    submitted_at: datetime
    member_name: str
    member_user_id: int | None
    branch_name: str
    agency_name: str
    community_name: str
    community_path: str
    need_title: str | None

    @classmethod
    def of(cls, record: ServiceRecord) -> QueueRow:
        """The row of an entry loaded with RECORD_ROW (the one just decided in place), without a query."""
        member, community = record.member, record.community
        return cls(
            record.id,
            record.status,
            record.service_date,
            record.start_time,
            record.end_time,
            record.half_hours,
            record.content,
            record.late,
            record.late_reason,
            record.reason,
            record.submitted_at,
            member.name,
            member.user_id,
            member.branch.name,
            member.branch.agency.name,
            community.name,
            community.path,
            record.need.title if record.need else None,
        )


_COMMUNITY = aliased(Area, name="community")
# A QueueRow's fields and where they come from: built once, the same for every page.
_SHOWN = (
    select(
        ServiceRecord.id,
        ServiceRecord.status,
        ServiceRecord.service_date,
        ServiceRecord.start_time,
        ServiceRecord.end_time,
        ServiceRecord.half_hours,
        ServiceRecord.content,
        ServiceRecord.late,
        ServiceRecord.late_reason,
        ServiceRecord.reason,
        ServiceRecord.submitted_at,
        Member.name,
        Member.user_id,
        Branch.name,
        Agency.name,
        _COMMUNITY.name,
        _COMMUNITY.path,
        Need.title,
    )
    .select_from(ServiceRecord)
    .join(Member, ServiceRecord.member_id == Member.id)
    .join(Branch, Member.branch_id == Branch.id)
    .join(Agency, Branch.agency_id == Agency.id)
    .join(_COMMUNITY, ServiceRecord.community_id == _COMMUNITY.id)
    .outerjoin(Need, ServiceRecord.need_id == Need.id)
)


def queue_query(user: User, filters: Filters) -> Select:
    """The queue's entries (QueueRow's fields) in the chosen order."""
    return _queue_rows(user, filters, _SHOWN).order_by(*SORTS.get(filters.sort, SORTS["submitted"]))


def queue_branches(user: User, status: str) -> list[tuple[int, str]]:
    """The branches whose members have entries (of this status) in the user's area, for the filter:
    (id, agency and branch name)."""
    ids = scoped(
        select(Member.branch_id).join(ServiceRecord, ServiceRecord.member_id == Member.id), user, "service.queue"
    )
    if status and status != "all":
        ids = ids.where(ServiceRecord.status == status)
    rows = db.session.execute(
        select(Branch.id, Agency.name, Branch.name)
        .join(Agency, Branch.agency_id == Agency.id)
        .where(Branch.id.in_(ids.distinct()))
        .order_by(Branch.agency_id, Branch.id)
        .limit(300)
    )
    return [(branch_id, f"{agency} {branch}") for branch_id, agency, branch in rows]


def _needs(stmt: Select, user: User, action: str) -> Select:
    return scoped(stmt, user, action).order_by(Need.on_date.desc().nulls_last(), Need.id.desc()).limit(200)


def _pending_statement(user: User) -> Select:
    return scoped(select(func.count(ServiceRecord.id)), user, "service.decide").where(
        ServiceRecord.status == S.submitted.value
    )


def queue_needs(user: User) -> list[tuple[int, str]]:
    """The needs of the communities whose entries the user reads, for the queue's filter: (id, title and
    date)."""
    rows = db.session.execute(_needs(select(Need.id, Need.title, Need.on_date), user, "need.list"))
    return [(need_id, title + (f" · {on_date.isoformat()}" if on_date else "")) for need_id, title, on_date in rows]


def pending_count(user: User) -> int:
    """Entries waiting for this community secretary."""
    if not can(user, "service.decide_any"):
        return 0
    return db.session.scalar(_pending_statement(user)) or 0


def overdue_count(user: User) -> int:
    """Entries waiting too long for this community secretary."""
    stmt = scoped(select(func.count(ServiceRecord.id)), user, "service.decide").where(_waited_too_long())
    return db.session.scalar(stmt) or 0


def overdue_by_community(user: User) -> list[tuple[Area, int, int]]:
    """For a subdistrict (or wider) officer: per community, (community, pending, overdue)."""
    rows = db.session.execute(
        scoped(
            select(
                ServiceRecord.community_id,
                func.count(ServiceRecord.id),
                func.sum(case((_waited_too_long(), 1), else_=0)),
            ),
            user,
            "service.queue",
        )
        .where(ServiceRecord.status == S.submitted.value)
        .group_by(ServiceRecord.community_id)
    ).all()
    areas = {a.id: a for a in db.session.scalars(select(Area).where(Area.id.in_([r[0] for r in rows])))}
    found = [(areas[c], int(n), int(o or 0)) for c, n, o in rows if c in areas]
    found.sort(key=lambda t: (-t[2], -t[1], t[0].path))
    return found


@dataclass
class Progress:
    year: int
    half_hours: int
    entries: int
    pending: int
    returned: int  # entries returned to the member, waiting for them to change them
    rule: YearRule | None

    @property
    def hours(self) -> str:
        return format_hours(self.half_hours)

    @property
    def required_hours(self) -> str | None:
        return format_hours(self.rule.min_half_hours) if self.rule and self.rule.min_half_hours else None

    def percent(self, which: str) -> int:
        if not self.rule:
            return 0
        have, need = (
            (self.half_hours, self.rule.min_half_hours)
            if which == "hours"
            else (self.entries, self.rule.min_activities)
        )
        if not need:
            return 100
        return min(100, round(100 * have / need))

    @property
    def met(self) -> bool:
        return bool(self.rule) and self.percent("hours") >= 100 and self.percent("entries") >= 100


def progress(member: Member, year: int) -> Progress:
    """The member's approved and pending entries of the year and their returned ones, in one statement."""
    half_hours, entries, pending, returned = db.session.execute(_year_counts(member.id, year)).one()
    return Progress(year, half_hours, entries, pending, returned, rule_for(member, year))


STATE_ORDER = [
    S.returned.value,
    S.submitted.value,
    S.approved.value,
    S.rejected.value,
    S.revoked.value,
    S.withdrawn.value,
]


def member_entries(member: Member, year: int) -> list[tuple[str, list[ServiceRecord]]]:
    """The member's entries of a year by state, returned ones first (they need the member's action)."""
    records = db.session.scalars(
        select(ServiceRecord)
        .where(ServiceRecord.member_id == member.id, ServiceRecord.year == year)
        .options(joinedload(ServiceRecord.community), joinedload(ServiceRecord.need))
        .order_by(ServiceRecord.service_date.desc(), ServiceRecord.id.desc())
    )
    groups: dict[str, list[ServiceRecord]] = {state: [] for state in STATE_ORDER}
    for record in records:
        groups.setdefault(record.status, []).append(record)
    return [(state, groups[state]) for state in STATE_ORDER if groups.get(state)]


def histories(record_ids: list[int]) -> dict[int, list[AuditEntry]]:
    """Each record's history: its audit entries, oldest first, in one query."""
    found: dict[int, list[AuditEntry]] = {i: [] for i in record_ids}
    if not record_ids:
        return found
    for start in range(0, len(record_ids), 500):
        chunk = record_ids[start : start + 500]
        for entry in db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.object_type == "ServiceRecord", AuditEntry.object_id.in_(chunk))
            .options(joinedload(AuditEntry.actor))
            .order_by(AuditEntry.at, AuditEntry.id)
        ):
            found[entry.object_id].append(entry)
    return found


def entry_choices(member: Member) -> tuple[list[Area], list[Need]]:
    """Where the member may log service (the policy's ``service.place``): the community they are confirmed in,
    and the needs open to them — those they claimed and the open needs of that community — with their
    communities. A member not reported in who claimed nothing gets none: they are asked to report in first."""
    communities: list[Area] = []
    home = report_in_community(member)
    if home is not None:
        communities.append(home)
    needs = list(
        db.session.scalars(
            scoped(select(Need), member.user, "service.needs")
            .options(joinedload(Need.community))
            .order_by(Need.on_date.desc().nulls_last(), Need.id.desc())
            .limit(60)
        )
    )
    for area in [n.community for n in needs]:
        if area not in communities:
            communities.append(area)
    return communities, needs


def secretary_needs(user: User) -> list[Need]:
    """The needs of the secretary's communities, whose attendance they record."""
    return list(db.session.scalars(_needs(select(Need).options(joinedload(Need.community)), user, "need.manage")))


def entries_on(need: Need, day: date) -> dict[int, ServiceRecord]:
    """Live entries already recorded for this need on this day, by member."""
    return {
        r.member_id: r
        for r in db.session.scalars(
            select(ServiceRecord).where(
                ServiceRecord.need_id == need.id,
                ServiceRecord.service_date == day,
                ServiceRecord.status.in_(LIVE_STATUSES),
            )
        )
    }


def served(need: Need) -> tuple[int, date | None]:
    """How many approved entries of service were given on the need, and the last day one was given."""
    count, last = db.session.execute(
        select(func.count(ServiceRecord.id), func.max(ServiceRecord.service_date)).where(
            ServiceRecord.need_id == need.id, ServiceRecord.status == RecordStatus.approved.value
        )
    ).one()
    return count, last
