"""居民点单: a resident's request to their community, and its life from received to triaged.

A request is left on the community's public page (no login) and gets a random status code (``code``) the
resident checks it with later. The community's secretary triages it: an answer (``reply``, shown on the
public status page), a need on the three lists (``need_id``), a whistle (``whistle_id``), or it is closed as
spam (``reason``, never shown publicly). The phone number, if given, is for a call-back only: full to the
community's secretaries, masked to everyone else, never on a public page.
"""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kmvolunteer.core.db import known_statuses
from kmvolunteer.core.machine import Machine, Transition
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area
from kmvolunteer.reportin.models import Need
from kmvolunteer.whistles.models import Whistle


class RequestStatus(str, enum.Enum):
    received = "received"
    answered = "answered"  # the community replied
    to_need = "to_need"  # made a need on the three lists
    to_whistle = "to_whistle"  # the community blew a whistle on it: departments are handling it
    rejected = "rejected"  # spam or abuse, with a reason the resident does not see


class ResidentRequest(db.Model):
    """居民点单: what a resident asks of their community, where, and (optionally) a phone to call back."""

    __tablename__ = "resident_request"
    __table_args__ = (
        known_statuses(RequestStatus),
        Index("ix_resident_request_inbox", "community_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    code: Mapped[str] = mapped_column(String(8), unique=True)  # the resident's status code (services.CODE_ALPHABET)
    what: Mapped[str] = mapped_column(Text)
    place: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(11), default="")  # a mainland mobile, or empty
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.received.value)
    reply: Mapped[str] = mapped_column(Text, default="")  # the community's answer: public on the status page
    reason: Mapped[str] = mapped_column(String(255), default="")  # why it was rejected: never public
    need_id: Mapped[int | None] = mapped_column(ForeignKey("need.id"), unique=True)
    whistle_id: Mapped[int | None] = mapped_column(ForeignKey("whistle.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    community: Mapped[Area] = relationship()
    need: Mapped[Need | None] = relationship()
    whistle: Mapped[Whistle | None] = relationship()


S = RequestStatus
REQUESTS = Machine(
    ResidentRequest,
    RequestStatus,
    [
        Transition(
            "answer", (S.received.value,), S.answered.value, "resident_request.triage", "resident_request.answered"
        ),
        Transition(
            "to_need", (S.received.value,), S.to_need.value, "resident_request.triage", "resident_request.to_need"
        ),
        Transition(
            "to_whistle",
            (S.received.value,),
            S.to_whistle.value,
            "resident_request.triage",
            "resident_request.to_whistle",
        ),
        Transition(
            "reject",
            (S.received.value,),
            S.rejected.value,
            "resident_request.triage",
            "resident_request.rejected",
            reason=_l("Say why the request is closed as spam or abuse."),
        ),
    ],
    labels={
        S.received.value: _l("received"),
        S.answered.value: _l("answered"),
        S.to_need.value: _l("made a need"),
        S.to_whistle.value: _l("being handled"),
        S.rejected.value: _l("not taken up"),
    },
    noun=_l("resident's request"),
    reason_column="reason",
)
