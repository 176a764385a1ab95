"""A community's feedback letter (反馈函) to an agency for one period: its content frozen at issue."""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kmvolunteer.core.db import known_statuses
from kmvolunteer.core.machine import Machine, Transition
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area


class LetterStatus(str, enum.Enum):
    issued = "issued"
    acknowledged = "acknowledged"  # the agency's party organization signed for it (签收)
    superseded = "superseded"  # a correction replaced it; it stays verifiable as such


class FeedbackLetter(db.Model):
    """反馈函: what ``community`` tells ``agency`` about its members and branches for ``period`` of ``year``.

    ``content`` is the letter as issued (JSON: every member's figures, reports, rating, comment and standing,
    every branch's co-building record), never recounted. One letter in force per (community, agency, year,
    period); a correction is a new letter whose ``supersedes_id`` names the old one, which is superseded.
    """

    __tablename__ = "feedback_letter"
    __table_args__ = (
        known_statuses(LetterStatus),
        Index(
            "uq_feedback_letter_in_force",
            "community_id",
            "agency_id",
            "year",
            "period",
            unique=True,
            sqlite_where=text("status != 'superseded'"),
            postgresql_where=text("status != 'superseded'"),
        ),
        Index("ix_feedback_letter_agency_year", "agency_id", "year"),
        Index("ix_feedback_letter_community_year", "community_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    year: Mapped[int]
    period: Mapped[str] = mapped_column(String(4))  # H1, Y
    status: Mapped[str] = mapped_column(String(16), default=LetterStatus.issued.value)
    content: Mapped[str] = mapped_column(Text)  # JSON, frozen at issue
    member_count: Mapped[int] = mapped_column(default=0)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("feedback_letter.id"), unique=True)
    correction_reason: Mapped[str] = mapped_column(String(255), default="")  # why it was superseded
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    community: Mapped[Area] = relationship()
    agency: Mapped[Agency] = relationship()
    supersedes: Mapped[FeedbackLetter | None] = relationship(
        remote_side=[id], back_populates="superseded_by", foreign_keys=[supersedes_id]
    )
    superseded_by: Mapped[FeedbackLetter | None] = relationship(back_populates="supersedes", uselist=False)
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])  # noqa: F821

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.content)


LETTERS = Machine(
    FeedbackLetter,
    LetterStatus,
    [
        Transition("acknowledge", ("issued",), "acknowledged", "letter.acknowledge", "letter.acknowledged"),
        Transition(
            "supersede",
            ("issued", "acknowledged"),
            "superseded",
            "letter.issue",
            "letter.superseded",
            reason=_l("Say what the correction changes."),
            refused_self=_l("You cannot issue a letter about your own agency; another secretary must."),
        ),
    ],
    labels={"issued": _l("Issued"), "acknowledged": _l("Acknowledged"), "superseded": _l("Superseded")},
    noun=_l("feedback letter"),
    reason_column="correction_reason",
)
