"""现场签到: the rules of an on-site sign-in session, tested without HTTP (nothing here commits or reads
``request``; a ServiceError means nothing was changed).

The sign-in code is derived, never stored: the first six decimal digits of an HMAC (the app's SECRET_KEY)
of the session's id and the minute number. The organizer's screen shows the current minute's; a sign-in is
accepted with the current minute's code or the previous one's (a slow scan, a clock a little behind), and
refused otherwise. Hours are the time between sign-in and sign-out, both kept within the session's start and
end, rounded down to the half hour; times are UTC datetimes, so an activity that goes past midnight counts
right. Closing the session records each attendee through the organizer's one way of recording attendance
(service.services.record_attended): approved records, marked as recorded on site.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import current_app
from flask_babel import format_time
from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from kmvolunteer.auth import throttle
from kmvolunteer.auth.models import User
from kmvolunteer.auth.policy import About, can
from kmvolunteer.core import audit
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.text import format_hours
from kmvolunteer.core.time import LOCAL_TZ, local_today, to_local, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.onsite.models import SESSIONS, ActivitySession, Attendance, SessionStatus
from kmvolunteer.org.models import Branch, Member
from kmvolunteer.reportin import services as reportin
from kmvolunteer.reportin.models import Need, ReportIn
from kmvolunteer.service import services as records
from kmvolunteer.service.models import ServiceRecord

CODE_DIGITS = 6
MAX_SESSION = timedelta(hours=12)  # one record is at most 12 h
EARLIEST_CORRECTION = timedelta(hours=2)  # a corrected time may be this much before the start
CODE_RE = re.compile(rf"\d{{{CODE_DIGITS}}}")
OPEN = SessionStatus.open.value


# ---------------------------------------------------------------- times


def utc_of(day: date, at: time) -> datetime:
    """The naive UTC moment of a local date and time."""
    return datetime.combine(day, at, tzinfo=LOCAL_TZ).astimezone(UTC).replace(tzinfo=None)


def local_time(moment: datetime | None) -> time | None:
    return to_local(moment).time().replace(second=0, microsecond=0) if moment is not None else None


def span(day: date, start: time, end: time) -> tuple[datetime, datetime]:
    """A session's start and end in UTC: an end at or before the start is on the next day."""
    starts_at = utc_of(day, start)
    ends_at = utc_of(day + timedelta(days=1) if end <= start else day, end)
    if ends_at - starts_at > MAX_SESSION:
        raise ServiceError(_("A session can last at most 12 hours."), "end_time")
    return starts_at, ends_at


def half_hours_between(session: ActivitySession, signed_in_at: datetime, signed_out_at: datetime) -> int:
    """Whole half-hours served: sign-in to sign-out, kept within the session's start and end, rounded down."""
    start = max(signed_in_at, session.starts_at)
    end = min(signed_out_at, session.ends_at)
    if end <= start:
        return 0
    return int((end - start).total_seconds() // 1800)


def moment_on(session: ActivitySession, at: time) -> datetime:
    """A local time of day typed for this session, as a UTC moment: on the session's day, or on the next when
    the session goes past midnight and the time is well before its start."""
    moment = utc_of(session.day, at)
    if moment < session.starts_at - EARLIEST_CORRECTION and session.ends_at.date() != session.starts_at.date():
        moment = utc_of(session.day + timedelta(days=1), at)
    return moment


# ---------------------------------------------------------------- the code of the minute


def minute_of(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp() // 60)


def code_at(session_id: int, minute: int) -> str:
    """The session's code for that minute: six digits of an HMAC keyed with the app's SECRET_KEY."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"onsite:{session_id}:{minute}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def current_code(session: ActivitySession, now: datetime | None = None) -> tuple[str, int]:
    """The code to show now, and the seconds until it changes."""
    now = now or utcnow()
    return code_at(session.id, minute_of(now)), 60 - now.second


def normalize_code(raw: Any) -> str:
    """What a person typed, as digits only (spaces, full-width digits and dashes dropped)."""
    text = str(raw or "").translate({ord("０") + i: str(i) for i in range(10)})
    return "".join(c for c in text if c.isascii() and c.isdigit())[: CODE_DIGITS + 1]


def code_is_valid(session: ActivitySession, code: str, now: datetime | None = None) -> bool:
    """The current minute's code or the previous minute's; nothing older, nothing to come."""
    code = normalize_code(code)
    if not CODE_RE.fullmatch(code):
        return False
    minute = minute_of(now or utcnow())
    return any(hmac.compare_digest(code, code_at(session.id, m)) for m in (minute, minute - 1))


WRONG_CODES_FREE = 10  # wrong codes a member may type before the login's growing waits begin


class TooManyCodes(ServiceError):
    """Too many wrong codes from one member: they wait ``wait`` seconds."""

    def __init__(self, wait: int) -> None:
        super().__init__(_("Too many wrong codes. Wait %(n)d seconds and try again.", n=wait), "code")
        self.wait = wait


def code_tries(user: User) -> throttle.Reservation:
    """Take a try on the member's counter of codes typed (committed at once, as the login throttle does); a
    right code is given back, so only wrong ones add up. ``wait`` is set when the member must wait."""
    return throttle.take([throttle.Counter(f"onsite-code:{user.id}", WRONG_CODES_FREE)])


def no_session_error() -> ServiceError:
    return ServiceError(
        _("No activity of your community open now has this code. Type the code shown on the organizer's screen now."),
        "code",
    )


def _check_code(session: ActivitySession, code: str, now: datetime) -> None:
    if not code_is_valid(session, code, now):
        raise ServiceError(
            _(
                "This code is not valid: the code changes every minute. "
                "Type the code shown on the organizer's screen now."
            ),
            "code",
        )


# ---------------------------------------------------------------- opening and reading


def _summary(session: ActivitySession, text: str = "") -> str:
    return f"{session.need.title} {session.day.isoformat()}{' · ' + text if text else ''}"[:255]


def open_session(
    need: Need,
    actor: User,
    day: date,
    start: time,
    end: time,
    capacity: int | None = None,
    *,
    today: date | None = None,
) -> ActivitySession:
    """The organizer opens a session on ``need`` for ``day`` from ``start`` to ``end`` (local times)."""
    if not can(actor, "onsite.run", need):
        raise ServiceError(_("This need is not within your community."))
    today = today or local_today()
    if day < today - timedelta(days=1):
        raise ServiceError(_("A session is opened for today or a day to come."), "day")
    if day > today + timedelta(days=366):
        raise ServiceError(_("Choose a day within the next year."), "day")
    starts_at, ends_at = span(day, start, end)
    if capacity is not None and capacity <= 0:
        raise ServiceError(_("The number of places must be more than 0, or left empty."), "capacity")
    session = ActivitySession(
        need_id=need.id,
        community_id=need.community_id,
        day=day,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=capacity,
        status=OPEN,
        opened_by_id=actor.id,
        opened_at=utcnow(),
    )
    db.session.add(session)
    db.session.flush()
    session.need = need
    SESSIONS.created(session, actor_id=actor.id)
    audit.record(
        "onsite.opened",
        session,
        scope_path=need.community.path,
        summary=_summary(session),
        after={
            "status": OPEN,
            "day": day,
            "start_time": start,
            "end_time": end,
            "capacity": capacity,
        },
        actor_id=actor.id,
    )
    return session


def sessions_of(need: Need) -> list[ActivitySession]:
    return list(
        db.session.scalars(
            select(ActivitySession)
            .where(ActivitySession.need_id == need.id)
            .order_by(ActivitySession.day.desc(), ActivitySession.starts_at.desc(), ActivitySession.id.desc())
        )
    )


def sheet(session: ActivitySession) -> list[Attendance]:
    """Who is on the sheet, in the order they came, with their members and branches."""
    return list(
        db.session.scalars(
            select(Attendance)
            .where(Attendance.session_id == session.id)
            .options(
                joinedload(Attendance.member).joinedload(Member.branch).joinedload(Branch.agency),
                joinedload(Attendance.record),
            )
            .order_by(Attendance.signed_in_at, Attendance.id)
        )
    )


def attendance_of(session: ActivitySession, member: Member) -> Attendance | None:
    return db.session.scalar(
        select(Attendance).where(Attendance.session_id == session.id, Attendance.member_id == member.id)
    )


def addable(session: ActivitySession) -> list[Member]:
    """Members the organizer may put on the sheet: reported in (confirmed) to the community, not on it yet."""
    on_sheet = select(Attendance.member_id).where(Attendance.session_id == session.id)
    reported = select(ReportIn.member_id).where(
        ReportIn.kind == "member", ReportIn.status == "confirmed", ReportIn.community_id == session.community_id
    )
    return list(
        db.session.scalars(
            select(Member)
            .where(Member.active.is_(True), Member.id.in_(reported), Member.id.not_in(on_sheet))
            .order_by(Member.name, Member.id)
        )
    )


def open_sessions_for(member: Member, now: datetime | None = None) -> list[ActivitySession]:
    """The open sessions of the member's community not yet ended: where a typed code may belong."""
    community_id = reportin.confirmed_community_id(member)
    if community_id is None:
        return []
    return list(
        db.session.scalars(
            select(ActivitySession)
            .where(
                ActivitySession.community_id == community_id,
                ActivitySession.status == OPEN,
                ActivitySession.ends_at > (now or utcnow()),
            )
            .options(joinedload(ActivitySession.need))
            .order_by(ActivitySession.starts_at, ActivitySession.id)
        )
    )


def session_for_code(member: Member, code: str, now: datetime | None = None) -> ActivitySession | None:
    """The open session of the member's community whose code this is (now or a minute ago), if any."""
    now = now or utcnow()
    return next((s for s in open_sessions_for(member, now) if code_is_valid(s, code, now)), None)


# ---------------------------------------------------------------- signing in and out


def hhmm(moment: datetime) -> str:
    return format_time(to_local(moment), "HH:mm")


def _check_admission(session: ActivitySession, member: Member, now: datetime) -> None:
    """May ``member`` be put on the sheet now? The session is open and not over, they are reported in to its
    community and not on the sheet yet."""
    if session.status != OPEN:
        raise ServiceError(_("This sign-in session is closed; ask the organizer."))
    if now >= session.ends_at:
        raise ServiceError(_("The activity ended at %(time)s; signing in is over.", time=hhmm(session.ends_at)))
    if reportin.confirmed_community_id(member) != session.community_id:
        raise ServiceError(
            _(
                "Only members reported in to %(community)s can sign in here. Report in to the community first.",
                community=session.community.name,
            )
        )
    found = attendance_of(session, member)
    if found is not None:
        raise ServiceError(
            _(
                "%(name)s already signed in to this session at %(time)s.",
                name=member.name,
                time=hhmm(found.signed_in_at),
            )
        )


def _take_place(session: ActivitySession) -> None:
    """One more attendee, guarded in SQL: of sign-ins arriving together, those beyond the capacity are refused."""
    taken = db.session.execute(
        update(ActivitySession)
        .where(
            ActivitySession.id == session.id,
            ActivitySession.status == OPEN,
            or_(ActivitySession.capacity.is_(None), ActivitySession.signed_in < ActivitySession.capacity),
        )
        .values(signed_in=ActivitySession.signed_in + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        status = db.session.scalar(select(ActivitySession.status).where(ActivitySession.id == session.id))
        if status != OPEN:
            raise ServiceError(_("This sign-in session is closed; ask the organizer."))
        raise ServiceError(
            _("This activity is full: all %(n)d places are taken.", n=session.capacity or 0),
        )
    db.session.expire(session, ["signed_in"])


def _admit(session: ActivitySession, member: Member, at: datetime, actor: User, added: bool) -> Attendance:
    _take_place(session)
    attendance = Attendance(
        session_id=session.id, member_id=member.id, signed_in_at=at, added_by_id=actor.id if added else None
    )
    try:
        with db.session.begin_nested():
            db.session.add(attendance)
            db.session.flush()
    except IntegrityError as exc:  # the same member's other sign-in won the race
        raise ServiceError(_("%(name)s already signed in to this session.", name=member.name)) from exc
    attendance.member = member
    audit.record(
        "onsite.added" if added else "onsite.signed_in",
        attendance,
        scope_path=session.community.path,
        summary=_summary(session, member.name),
        after={"member": member.name, "signed_in_at": hhmm(at)},
        actor_id=actor.id,
    )
    return attendance


def sign_in(session: ActivitySession, user: User, code: str, now: datetime | None = None) -> Attendance:
    """A member signs in with the code of the minute."""
    now = now or utcnow()
    if not can(user, "onsite.sign"):
        raise ServiceError(_("Only party members sign in to activities."))
    member = user.member
    _check_code(session, code, now)
    if session.opened_by_id == user.id:
        raise ServiceError(_("You run this session: another secretary records your own service."))
    _check_admission(session, member, now)
    return _admit(session, member, now, user, added=False)


def add_member(session: ActivitySession, actor: User, member: Member, now: datetime | None = None) -> Attendance:
    """The organizer puts a member on the sheet who has no phone with them (signed in now)."""
    now = now or utcnow()
    if not can(actor, "onsite.run", session):
        raise ServiceError(_("This session is not within your community."))
    if not can(actor, "onsite.mark", About(session.community, member=member)):
        raise ServiceError(_("your own entry needs another secretary"))
    _check_admission(session, member, now)
    return _admit(session, member, now, actor, added=True)


def sign_out(session: ActivitySession, user: User, code: str | None = None, now: datetime | None = None) -> Attendance:
    """A member signs out: with the code again, or with the button on their own page of the session."""
    now = now or utcnow()
    member = user.member
    attendance = attendance_of(session, member) if member is not None else None
    if attendance is None:
        raise ServiceError(_("You have not signed in to this session."))
    if session.status != OPEN:
        raise ServiceError(_("This sign-in session is closed; ask the organizer."))
    if code is not None:
        _check_code(session, code, now)
    if attendance.signed_out_at is not None:
        raise ServiceError(_("You already signed out at %(time)s.", time=hhmm(attendance.signed_out_at)))
    out = max(now, attendance.signed_in_at)
    done = db.session.execute(
        update(Attendance)
        .where(Attendance.id == attendance.id, Attendance.signed_out_at.is_(None))
        .values(signed_out_at=out)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise ServiceError(_("You already signed out."))
    attendance.signed_out_at = out
    db.session.flush()
    audit.record(
        "onsite.signed_out",
        attendance,
        scope_path=session.community.path,
        summary=_summary(session, member.name),
        after={
            "signed_out_at": hhmm(out),
            "hours": format_hours(half_hours_between(session, attendance.signed_in_at, out)),
        },
        actor_id=user.id,
    )
    return attendance


def scan(session: ActivitySession, user: User, code: str, now: datetime | None = None) -> tuple[str, Attendance]:
    """The code scanned or typed: signs the member in, or out when they are in (("in" or "out", their row))."""
    member = user.member
    found = attendance_of(session, member) if member is not None else None
    if found is not None and found.signed_out_at is None and session.status == OPEN:
        return "out", sign_out(session, user, code, now)
    return "in", sign_in(session, user, code, now)


def correct(
    attendance: Attendance, actor: User, signed_in: time, signed_out: time | None, reason: str | None
) -> Attendance:
    """The organizer corrects a member's times (local times of day), with a reason kept in the audit log."""
    session = attendance.session
    if not can(actor, "onsite.mark", attendance):
        raise ServiceError(_("your own entry needs another secretary"))
    if session.status != OPEN:
        raise ServiceError(_("This sign-in session is closed; ask the organizer."))
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Say why the time is corrected."), "reason")
    if len(reason) > 255:
        raise ServiceError(_("Keep the reason under 255 characters."), "reason")
    came = moment_on(session, signed_in)
    left = moment_on(session, signed_out) if signed_out is not None else None
    if came > session.ends_at:
        raise ServiceError(_("The time of arrival must be before the end of the activity."), "signed_in")
    if left is not None and left < came:
        raise ServiceError(_("The time of leaving must be after the time of arrival."), "signed_out")
    before = {"signed_in_at": hhmm(attendance.signed_in_at)}
    before["signed_out_at"] = hhmm(attendance.signed_out_at) if attendance.signed_out_at else ""
    attendance.signed_in_at = came
    attendance.signed_out_at = left
    db.session.flush()
    audit.record(
        "onsite.corrected",
        attendance,
        scope_path=session.community.path,
        summary=_summary(session, attendance.member.name),
        before=before,
        after={"signed_in_at": hhmm(came), "signed_out_at": hhmm(left) if left else "", "reason": reason},
        actor_id=actor.id,
    )
    return attendance


# ---------------------------------------------------------------- closing


@dataclass
class Closing:
    created: list[ServiceRecord] = field(default_factory=list)
    skipped: list[Attendance] = field(default_factory=list)  # each with its ``note``


def close(
    session: ActivitySession,
    actor: User,
    late_reason: str = "",
    *,
    now: datetime | None = None,
    today: date | None = None,
) -> Closing:
    """The organizer closes the session: every attendee still in is signed out (at the end at the latest),
    and each gets an approved record of their hours, recorded on site. Closing twice is refused."""
    now = now or utcnow()
    today = today or local_today()
    if not can(actor, "onsite.run", session):
        raise ServiceError(_("This session is not within your community."))
    need = session.need
    records.check_date(session.day, today)
    late, late_reason = records.attendance_late(session.day, today, late_reason)
    SESSIONS.perform(
        session,
        "close",
        actor_id=actor.id,
        scope_path=session.community.path,
        summary=_summary(session),
        values={"closed_at": now, "closed_by_id": actor.id},
    )
    result = Closing()
    for attendance in sorted(sheet(session), key=lambda a: a.member_id):  # one lock order for everyone
        if attendance.signed_out_at is None:
            attendance.signed_out_at = max(min(now, session.ends_at), attendance.signed_in_at)
        half_hours = half_hours_between(session, attendance.signed_in_at, attendance.signed_out_at)
        if half_hours == 0:
            attendance.note = _("less than half an hour within the activity")
            result.skipped.append(attendance)
            continue
        served = records.Attended(
            half_hours,
            local_time(max(attendance.signed_in_at, session.starts_at)),
            local_time(min(attendance.signed_out_at, session.ends_at)),
            on_site=True,
        )
        try:
            record = records.record_attended(
                need,
                session.day,
                actor,
                attendance.member,
                served,
                content=need.title,
                place=need.place,
                late=late,
                late_reason=late_reason,
            )
        except ServiceError as exc:
            attendance.note = exc.message[:255]
            result.skipped.append(attendance)
            continue
        attendance.record_id = record.id
        result.created.append(record)
    db.session.flush()
    return result


def cancel(session: ActivitySession, actor: User, reason: str | None) -> None:
    """The organizer calls a session off (nobody came, a wrong day): no records are made."""
    if not can(actor, "onsite.run", session):
        raise ServiceError(_("This session is not within your community."))
    SESSIONS.perform(
        session,
        "cancel",
        actor_id=actor.id,
        scope_path=session.community.path,
        summary=_summary(session),
        values={"closed_at": utcnow(), "closed_by_id": actor.id},
        reason=reason,
    )


def hours_of(session: ActivitySession, attendance: Attendance, now: datetime | None = None) -> int:
    """Half-hours so far (to now, for one still in) — what the sheet shows."""
    out = attendance.signed_out_at or max(now or utcnow(), attendance.signed_in_at)
    return half_hours_between(session, attendance.signed_in_at, out)
