from __future__ import annotations

import enum
from datetime import date, datetime, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kmvolunteer.core.db import known_statuses
from kmvolunteer.core.machine import Machine, Transition
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Member
from kmvolunteer.reportin.models import Need


class RecordStatus(str, enum.Enum):
    submitted = "submitted"
    approved = "approved"
    returned = "returned"
    rejected = "rejected"
    withdrawn = "withdrawn"
    revoked = "revoked"


class ServiceRecord(db.Model):
    """A member's service, with the fields of 民政部令第67号 and its review.

    Hours are whole half-hours (``half_hours``): 3 means 1.5 h, so totals never drift.
    The per-entry history is the audit log of this record.
    """

    __tablename__ = "service_record"
    __table_args__ = (
        CheckConstraint("half_hours > 0 AND half_hours <= 24", name="half_hours_range"),
        known_statuses(RecordStatus),
        Index("ix_service_record_queue", "community_id", "status", "service_date"),
        Index("ix_service_record_member_year", "member_id", "year", "status"),
        Index("ix_service_record_member_date", "member_id", "service_date"),
        Index("ix_service_record_status_submitted", "status", "submitted_at"),
        Index("ix_service_record_community_submitted", "community_id", "status", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    need_id: Mapped[int | None] = mapped_column(ForeignKey("need.id"), index=True)
    service_date: Mapped[date]
    year: Mapped[int]  # service_date.year, kept for fast per-year queries
    start_time: Mapped[time | None]
    end_time: Mapped[time | None]
    half_hours: Mapped[int]
    place: Mapped[str] = mapped_column(String(100), default="")
    content: Mapped[str] = mapped_column(Text)
    organizer: Mapped[str] = mapped_column(String(100), default="")
    person_in_charge: Mapped[str] = mapped_column(String(50), default="")
    status: Mapped[str] = mapped_column(String(16), default=RecordStatus.submitted.value)
    late: Mapped[bool] = mapped_column(default=False)
    late_reason: Mapped[str] = mapped_column(String(255), default="")
    recorded_by_organizer: Mapped[bool] = mapped_column(default=False)  # 谁组织谁记录
    on_site: Mapped[bool] = mapped_column(default=False)  # 现场签到记录: made from an on-site sign-in sheet
    reason: Mapped[str] = mapped_column(String(255), default="")  # the last return / reject / revoke reason
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    member: Mapped[Member] = relationship()
    community: Mapped[Area] = relationship()
    need: Mapped[Need | None] = relationship()

    @property
    def hours(self) -> float:
        return self.half_hours / 2


S = RecordStatus
OWN_ENTRY = _l("You cannot decide your own entry; another secretary must.")
GIVE_REASON = _l("Give a reason, so the member knows what to do.")
RECORDS = Machine(
    ServiceRecord,
    RecordStatus,
    [
        Transition("edit", (S.submitted.value,), S.submitted.value, "service.edit", "service.edited"),
        Transition("resubmit", (S.returned.value,), S.submitted.value, "service.edit", "service.resubmitted"),
        Transition("withdraw", (S.submitted.value,), S.withdrawn.value, "service.withdraw", "service.withdrawn"),
        Transition(
            "approve",
            (S.submitted.value,),
            S.approved.value,
            "service.decide",
            "service.approved",
            refused_self=OWN_ENTRY,
        ),
        *(
            Transition(
                action,
                (S.submitted.value,),
                target.value,
                "service.decide",
                f"service.{target.value}",
                reason=GIVE_REASON,
                refused_self=OWN_ENTRY,
            )
            for action, target in (("return", S.returned), ("reject", S.rejected))
        ),
        Transition(
            "revoke",
            (S.approved.value,),
            S.revoked.value,
            "service.revoke",
            "service.revoked",
            reason=GIVE_REASON,
            refused_self=OWN_ENTRY,
        ),
    ],
    labels={
        S.submitted.value: _l("pending"),
        S.approved.value: _l("approved"),
        S.returned.value: _l("returned"),
        S.rejected.value: _l("rejected"),
        S.withdrawn.value: _l("withdrawn"),
        S.revoked.value: _l("revoked"),
    },
    noun=_l("entry"),
    reason_column="reason",
)


class Certificate(db.Model):
    """服务记录证明: a printed platform record of a member's approved service in a year.

    ``serial`` is random and unguessable; /verify/<serial> shows the masked name and totals.
    """

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    year: Mapped[int]
    community_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    approved_half_hours: Mapped[int]
    approved_entries: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[Member] = relationship()
    community: Mapped[Area | None] = relationship()
