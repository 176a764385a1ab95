"""吹哨报到: whistles, the summons of each department, its progress notes and extension, the deadline rules.

A whistle is blown by an area (community, subdistrict or district) and summons departments of the tier
directly above (a department belongs to one tier's area: the blowing area's parent). Each summons has its
own life cycle and deadlines. The per-whistle timeline is the audit log of the whistle and its summons
(every transition writes one entry), plus the progress notes; see services.timeline().
"""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kmvolunteer.core.db import known_statuses
from kmvolunteer.core.machine import Machine, Transition
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Department, Estate, Grid


class WhistleStatus(str, enum.Enum):
    open = "open"
    handled = "handled"  # every summons that was not declined is handled
    closed = "closed"
    escalated = "escalated"  # a new whistle one tier up took it over


class SummonsStatus(str, enum.Enum):
    summoned = "summoned"
    signed = "signed"
    contacted = "contacted"
    handled = "handled"
    rated = "rated"
    declined = "declined"


class ExtensionStatus(str, enum.Enum):
    requested = "requested"
    approved = "approved"
    refused = "refused"


class Urgency(str, enum.Enum):
    normal = "normal"
    urgent = "urgent"


class Rating(str, enum.Enum):
    satisfied = "satisfied"  # 满意
    basic = "basic"  # 基本满意
    unsatisfied = "unsatisfied"  # 不满意


class EscalationReason(str, enum.Enum):
    manual = "manual"  # the blower blew one tier up
    overdue = "overdue"  # a summons passed a deadline without the step
    unsatisfied = "unsatisfied"  # a summons was rated 不满意 twice


# The tiers that blow whistles: the level of the blowing area. The city is above every tier and blows none.
TIERS = ("community", "subdistrict", "district")
# Summons a department still has to act on.
ACTIVE_SUMMONS = (SummonsStatus.summoned.value, SummonsStatus.signed.value, SummonsStatus.contacted.value)
DONE_SUMMONS = (SummonsStatus.handled.value, SummonsStatus.rated.value)


class WhistleCategory(db.Model):
    """问题类别: the managed list a whistle is filed under."""

    __tablename__ = "whistle_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Whistle(db.Model):
    """吹哨: a problem an area cannot solve alone, and the departments of the tier above it summons.

    ``escalated_from`` is the whistle one tier down that this one took over (unique: a whistle escalates
    once); an escalated whistle is created without summons, for its area to route."""

    __tablename__ = "whistle"
    __table_args__ = (
        known_statuses(WhistleStatus),
        known_statuses(Urgency, "urgency"),
        CheckConstraint(
            "escalation_reason IN ('', 'manual', 'overdue', 'unsatisfied')", name="escalation_reason_known"
        ),
        Index("ix_whistle_area_status", "area_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    blower_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))  # None: the escalation pass
    title: Mapped[str] = mapped_column(String(100))
    problem: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(100), default="")  # 网格 / 小区, optional
    # The community's estate (with its grid) or grid it is in, if any (org/spots.py); place then names it.
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("whistle_category.id"))
    urgency: Mapped[str] = mapped_column(String(8), default=Urgency.normal.value)
    status: Mapped[str] = mapped_column(String(16), default=WhistleStatus.open.value)
    reason: Mapped[str] = mapped_column(String(255), default="")  # the last reopen / escalation reason
    escalated_from_id: Mapped[int | None] = mapped_column(ForeignKey("whistle.id"), unique=True)
    escalation_reason: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    area: Mapped[Area] = relationship()
    category: Mapped[WhistleCategory] = relationship()
    estate: Mapped[Estate | None] = relationship()
    grid: Mapped[Grid | None] = relationship()
    escalated_from: Mapped[Whistle | None] = relationship(remote_side=[id], back_populates="escalated_to")
    escalated_to: Mapped[Whistle | None] = relationship(back_populates="escalated_from")
    summonses: Mapped[list[Summons]] = relationship(back_populates="whistle", order_by="Summons.id")
    # Of the problem and of the departments' progress notes (WhistlePhoto.progress_id), in the order taken.
    photos: Mapped[list[WhistlePhoto]] = relationship(order_by="WhistlePhoto.id", viewonly=True)

    @property
    def serial(self) -> str:
        """工单编号, printed on the work order: the year it was blown and its id."""
        return f"CS{self.created_at.year}-{self.id:06d}"


class Summons(db.Model):
    """报到: one department summoned by a whistle, with its own deadlines and steps.

    Deadlines are set when it is summoned from the rule of the whistle's tier and urgency (deadlines.py);
    an approved extension moves ``handle_due_at`` once; a 不满意 rating sends it back to ``contacted``
    with a new handling deadline."""

    __tablename__ = "summons"
    __table_args__ = (
        known_statuses(SummonsStatus),
        CheckConstraint("rating IS NULL OR rating IN ('satisfied', 'basic', 'unsatisfied')", name="rating_known"),
        UniqueConstraint("whistle_id", "department_id", name="uq_summons_whistle_department"),
        Index("ix_summons_queue", "department_id", "status", "handle_due_at"),
        Index("ix_summons_status_due", "status", "handle_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    whistle_id: Mapped[int] = mapped_column(ForeignKey("whistle.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    status: Mapped[str] = mapped_column(String(16), default=SummonsStatus.summoned.value)
    summoned_at: Mapped[datetime] = mapped_column(default=utcnow)
    sign_due_at: Mapped[datetime]
    contact_due_at: Mapped[datetime]
    handle_due_at: Mapped[datetime]
    signed_at: Mapped[datetime | None]
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    contacted_at: Mapped[datetime | None]
    contact_note: Mapped[str] = mapped_column(String(255), default="")
    handled_at: Mapped[datetime | None]
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    result: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(String(255), default="")  # the decline reason / last 不满意 comment
    rating: Mapped[str | None] = mapped_column(String(16))
    rating_comment: Mapped[str] = mapped_column(String(255), default="")
    rated_at: Mapped[datetime | None]
    rated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    unsatisfied_count: Mapped[int] = mapped_column(default=0)

    whistle: Mapped[Whistle] = relationship(back_populates="summonses")
    department: Mapped[Department] = relationship()
    extension: Mapped[SummonsExtension | None] = relationship(back_populates="summons")


class SummonsProgress(db.Model):
    """A step the department took (text, and photos: WhistlePhoto.progress_id), recorded on its summons."""

    __tablename__ = "summons_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    summons_id: Mapped[int] = mapped_column(ForeignKey("summons.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class WhistlePhoto(db.Model):
    """A photo of a whistle's problem, or of a department's progress note on it (``progress_id``).

    The picture was decoded and re-encoded when it was uploaded (whistles/photos.py): what is kept is a JPEG
    without its EXIF data (place, camera, time) and a thumbnail, in the instance folder, outside the web
    root, under ``name`` (``<year>/<random hex>``); photos.file_of() finds them."""

    __tablename__ = "whistle_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    whistle_id: Mapped[int] = mapped_column(ForeignKey("whistle.id"), index=True)
    progress_id: Mapped[int | None] = mapped_column(ForeignKey("summons_progress.id"), index=True)
    name: Mapped[str] = mapped_column(String(48), unique=True)
    width: Mapped[int]
    height: Mapped[int]
    size: Mapped[int]  # bytes of the stored JPEG
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SummonsExtension(db.Model):
    """延期: a department's one request to move its handling deadline, decided by the blower.
    One per summons (unique), so a refused request cannot be asked again."""

    __tablename__ = "summons_extension"
    __table_args__ = (
        known_statuses(ExtensionStatus),
        CheckConstraint("working_days BETWEEN 1 AND 10", name="working_days_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    summons_id: Mapped[int] = mapped_column(ForeignKey("summons.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=ExtensionStatus.requested.value)
    working_days: Mapped[int]
    request_reason: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(255), default="")  # why it was refused
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]

    summons: Mapped[Summons] = relationship(back_populates="extension")


class DeadlineRule(db.Model):
    """时限规则 of one tier and urgency, set by the city's organization department; a missing row is the
    default of deadlines.DEFAULTS. Sign in working minutes, contact in calendar hours, handle in working days."""

    __tablename__ = "deadline_rule"
    __table_args__ = (
        UniqueConstraint("tier", "urgency", name="uq_deadline_rule_tier_urgency"),
        CheckConstraint("tier IN ('community', 'subdistrict', 'district')", name="tier_known"),
        known_statuses(Urgency, "urgency"),
        CheckConstraint("sign_minutes BETWEEN 10 AND 480", name="sign_minutes_range"),
        CheckConstraint("contact_hours BETWEEN 1 AND 72", name="contact_hours_range"),
        CheckConstraint("handle_days BETWEEN 1 AND 30", name="handle_days_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tier: Mapped[str] = mapped_column(String(16))
    urgency: Mapped[str] = mapped_column(String(8))
    sign_minutes: Mapped[int]
    contact_hours: Mapped[int]
    handle_days: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


W = WhistleStatus
WHISTLES = Machine(
    Whistle,
    WhistleStatus,
    [
        # Done by the system when the last summons still open is handled.
        Transition("settle", (W.open.value,), W.handled.value, "whistle.manage", "whistle.handled"),
        Transition("close", (W.handled.value,), W.closed.value, "whistle.manage", "whistle.closed"),
        Transition(
            "reopen",
            (W.handled.value, W.closed.value),
            W.open.value,
            "whistle.manage",
            "whistle.reopened",
            reason=_l("Say why the whistle is reopened."),
        ),
        Transition(
            "escalate",
            (W.open.value, W.handled.value),
            W.escalated.value,
            "whistle.manage",
            "whistle.escalated",
            reason=_l("Say why the whistle is blown one tier up."),
        ),
    ],
    labels={
        W.open.value: _l("under way"),
        W.handled.value: _l("handled"),
        W.closed.value: _l("solved and closed"),
        W.escalated.value: _l("escalated"),
    },
    noun=_l("whistle"),
    reason_column="reason",
)

S = SummonsStatus
OWN_DEPARTMENT = _l("You cannot rate your own department; another person of the blowing area must.")
SUMMONSES = Machine(
    Summons,
    SummonsStatus,
    [
        Transition("sign", (S.summoned.value,), S.signed.value, "summons.act", "summons.signed"),
        Transition("contact", (S.signed.value,), S.contacted.value, "summons.act", "summons.contacted"),
        Transition("handle", (S.contacted.value,), S.handled.value, "summons.act", "summons.handled"),
        Transition(
            "decline",
            (S.summoned.value, S.signed.value),
            S.declined.value,
            "summons.act",
            "summons.declined",
            reason=_l("Say why this is not your department's matter, so the blower can summon the right one."),
        ),
        Transition(
            "rate",
            (S.handled.value,),
            S.rated.value,
            "summons.rate",
            "summons.rated",
            refused_self=OWN_DEPARTMENT,
        ),
        # 不满意: the rating sends the summons back to the department, with the comment as the reason.
        Transition(
            "rate_unsatisfied",
            (S.handled.value,),
            S.contacted.value,
            "summons.rate",
            "summons.rated_unsatisfied",
            reason=_l("Say what is still wrong, so the department knows what to do."),
            refused_self=OWN_DEPARTMENT,
        ),
        # The whistle was reopened: every department that had handled it acts again.
        Transition(
            "reopen",
            (S.handled.value, S.rated.value),
            S.contacted.value,
            "summons.reopen",
            "summons.reopened",
            reason=_l("Say why the whistle is reopened."),
        ),
    ],
    labels={
        S.summoned.value: _l("summoned"),
        S.signed.value: _l("signed for"),
        S.contacted.value: _l("in contact"),
        S.handled.value: _l("handled"),
        S.rated.value: _l("rated"),
        S.declined.value: _l("declined"),
    },
    noun=_l("summons"),
    reason_column="reason",
)

E = ExtensionStatus
OWN_EXTENSION = _l("You cannot decide your own department's extension; another person of the blowing area must.")
EXTENSIONS = Machine(
    SummonsExtension,
    ExtensionStatus,
    [
        Transition(
            "approve",
            (E.requested.value,),
            E.approved.value,
            "extension.decide",
            "extension.approved",
            refused_self=OWN_EXTENSION,
        ),
        Transition(
            "refuse",
            (E.requested.value,),
            E.refused.value,
            "extension.decide",
            "extension.refused",
            reason=_l("Say why the extension is refused."),
            refused_self=OWN_EXTENSION,
        ),
    ],
    labels={E.requested.value: _l("requested"), E.approved.value: _l("approved"), E.refused.value: _l("refused")},
    noun=_l("extension"),
    reason_column="reason",
)
