"""A notice to one user: what happened (kind) to which whistle or summons, which feedback letter arrived, or
which resident's request came in; the words are chosen when it is shown, in the reader's language."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.letters.models import FeedbackLetter
from kmvolunteer.resident.models import ResidentRequest
from kmvolunteer.whistles.models import Summons, Whistle

# summoned: a summons reached the department; handled / declined: the department answered the blower;
# escalated: a whistle went one tier up; due_*: an hour before the summons' deadline of that step;
# letter: a community issued a feedback letter to the agency of the party organization told;
# request: a resident left a request (居民点单) with the community of the secretary told.
KINDS = ("summoned", "handled", "declined", "escalated", "due_sign", "due_contact", "due_handle", "letter", "request")


class Notice(db.Model):
    __tablename__ = "notice"
    __table_args__ = (
        # A reminder's key (step, summons, deadline) reaches each user once, however many passes run.
        UniqueConstraint("user_id", "key", name="uq_notice_user_key"),
        Index("ix_notice_user_unread", "user_id", "read_at"),
        CheckConstraint("kind IN (" + ", ".join(f"'{kind}'" for kind in KINDS) + ")", name="kind_known"),
        # A notice is of a whistle, a letter or a resident's request, never of nothing.
        CheckConstraint(
            "whistle_id IS NOT NULL OR letter_id IS NOT NULL OR request_id IS NOT NULL", name="of_something"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(16))
    whistle_id: Mapped[int | None] = mapped_column(ForeignKey("whistle.id"), index=True)
    summons_id: Mapped[int | None] = mapped_column(ForeignKey("summons.id"), index=True)
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("feedback_letter.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("resident_request.id"), index=True)
    due_at: Mapped[datetime | None]
    key: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    whistle: Mapped[Whistle | None] = relationship()
    letter: Mapped[FeedbackLetter | None] = relationship()
    request: Mapped[ResidentRequest | None] = relationship()
    summons: Mapped[Summons | None] = relationship()
