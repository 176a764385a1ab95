"""现场签到: an activity session on a need, and who signed in and out of it.

The organizer (the need's community secretary) opens a session for a day, from a start to an end time (an
end before the start is the next day: an evening activity may end after midnight). Members sign in with a
code that changes every minute (never stored: services.code_at derives it), and sign out the same way or
with a button. Closing the session turns the sheet into approved service records, recorded on site.

``signed_in`` counts the session's attendees; when the session has a ``capacity``, the sign-in's guarded
``UPDATE … WHERE signed_in < capacity`` keeps concurrent sign-ins from overfilling it, and the unique
(session, member) index keeps one member from signing in twice.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kmvolunteer.core.db import known_statuses
from kmvolunteer.core.machine import Machine, Transition
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Member
from kmvolunteer.reportin.models import Need
from kmvolunteer.service.models import ServiceRecord


class SessionStatus(str, enum.Enum):
    open = "open"
    closed = "closed"
    cancelled = "cancelled"


class ActivitySession(db.Model):
    """签到活动: one day's on-site sign-in for a need, with its times in UTC (``ends_at`` may be the next day)."""

    __tablename__ = "activity_session"
    __table_args__ = (
        known_statuses(SessionStatus),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint("capacity IS NULL OR signed_in <= capacity", name="within_capacity"),
        Index("ix_activity_session_need", "need_id", "day"),
        Index("ix_activity_session_community", "community_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("need.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("area.id"))  # the need's, kept for scope
    day: Mapped[date]  # the local date it starts: the records' service date
    starts_at: Mapped[datetime]  # UTC
    ends_at: Mapped[datetime]  # UTC
    capacity: Mapped[int | None]  # at most this many attendees (None: no limit)
    signed_in: Mapped[int] = mapped_column(default=0)  # attendees so far
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.open.value)
    reason: Mapped[str] = mapped_column(String(255), default="")  # why it was cancelled
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closed_at: Mapped[datetime | None]

    need: Mapped[Need] = relationship()
    community: Mapped[Area] = relationship()
    attendances: Mapped[list[Attendance]] = relationship(
        back_populates="session", order_by="Attendance.signed_in_at, Attendance.id"
    )


class Attendance(db.Model):
    """One member on a session's sheet: when they came and left (UTC), how, and the record it became."""

    __tablename__ = "activity_attendance"
    __table_args__ = (
        UniqueConstraint("session_id", "member_id", name="uq_activity_attendance_member"),
        CheckConstraint("signed_out_at IS NULL OR signed_out_at >= signed_in_at", name="out_after_in"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("activity_session.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    signed_in_at: Mapped[datetime]
    signed_out_at: Mapped[datetime | None]
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))  # the organizer, for one without a phone
    record_id: Mapped[int | None] = mapped_column(ForeignKey("service_record.id"))  # made when the session closed
    note: Mapped[str] = mapped_column(String(255), default="")  # why no record was made

    session: Mapped[ActivitySession] = relationship(back_populates="attendances")
    member: Mapped[Member] = relationship()
    record: Mapped[ServiceRecord | None] = relationship()

    @property
    def community(self) -> Area:
        """The session's community: where the policy decides about this row (onsite.mark)."""
        return self.session.community


S = SessionStatus
SESSIONS = Machine(
    ActivitySession,
    SessionStatus,
    [
        Transition("close", (S.open.value,), S.closed.value, "onsite.run", "onsite.closed"),
        Transition(
            "cancel",
            (S.open.value,),
            S.cancelled.value,
            "onsite.run",
            "onsite.cancelled",
            reason=_l("Say why the session is cancelled."),
        ),
    ],
    labels={
        S.open.value: _l("open for sign-in"),
        S.closed.value: _l("ended"),
        S.cancelled.value: _l("cancelled"),
    },
    noun=_l("sign-in session"),
    reason_column="reason",
)
