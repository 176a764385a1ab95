"""A bulletin and the figures frozen into it when its draft was generated (or last refreshed).

A draft is seen and edited only by the organization departments covering its area; publishing numbers it
(per area and year) and makes it immutable: bulletins/services.py changes drafts only.
"""

from __future__ import annotations

import enum
import json
from datetime import date, datetime
from fractions import Fraction

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kmvolunteer.core.db import known_statuses
from kmvolunteer.core.machine import Machine, Transition
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area
from kmvolunteer.years.standing import Reason


class BulletinStatus(str, enum.Enum):
    draft = "draft"
    published = "published"


class Bulletin(db.Model):
    """通报: a year's ranking of an area's agencies, those that fell short, and good examples."""

    __tablename__ = "bulletin"
    __table_args__ = (
        UniqueConstraint("area_id", "year", "number", name="uq_bulletin_number"),
        known_statuses(BulletinStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    year: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default=BulletinStatus.draft.value)
    number: Mapped[int | None]  # 第N号 within the area and year, given on publishing
    serial: Mapped[str | None] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    issuer: Mapped[str] = mapped_column(String(60))  # the issuing department, as printed
    preamble: Mapped[str] = mapped_column(Text, default="")
    closing: Mapped[str] = mapped_column(Text, default="")
    name_members: Mapped[bool] = mapped_column(default=False)  # list the members who fell short
    figures_at: Mapped[datetime] = mapped_column(default=utcnow)  # when the figures were read from the tallies
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    area: Mapped[Area] = relationship()
    units: Mapped[list[BulletinUnit]] = relationship(
        order_by="BulletinUnit.position", cascade="all, delete-orphan", back_populates="bulletin"
    )
    shortfalls: Mapped[list[BulletinShortfall]] = relationship(
        order_by="BulletinShortfall.position", cascade="all, delete-orphan", back_populates="bulletin"
    )
    examples: Mapped[list[BulletinExample]] = relationship(
        order_by="BulletinExample.position", cascade="all, delete-orphan", back_populates="bulletin"
    )

    @property
    def draft(self) -> bool:
        return self.status == BulletinStatus.draft.value


class BulletinUnit(db.Model):
    """An agency's figures in the bulletin, as the tallies counted them, and its two ranks."""

    __tablename__ = "bulletin_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletin.id"), index=True)
    position: Mapped[int]
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    headcount: Mapped[int]
    reported_in: Mapped[int]
    half_hours: Mapped[int]
    rate_rank: Mapped[int]  # by report-in rate
    hours_rank: Mapped[int]  # by approved hours per member

    bulletin: Mapped[Bulletin] = relationship(back_populates="units")

    @property
    def rate(self) -> Fraction:
        return Fraction(self.reported_in, self.headcount)

    @property
    def hours_per_member(self) -> Fraction:
        return Fraction(self.half_hours, 2 * self.headcount)


class BulletinShortfall(db.Model):
    """A branch, or a member, that fell short and is named in the bulletin, with the reasons as codes and
    figures (put into words when shown, in the reader's language)."""

    __tablename__ = "bulletin_shortfall"

    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletin.id"), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(8))  # "branch" or "member"
    branch_id: Mapped[int] = mapped_column(ForeignKey("branch.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    agency: Mapped[str] = mapped_column(String(100))
    branch: Mapped[str] = mapped_column(String(100))
    member: Mapped[str] = mapped_column(String(50), default="")
    reasons: Mapped[str] = mapped_column(Text)  # JSON: [[code, [figures…]], …]; days as ISO strings

    bulletin: Mapped[Bulletin] = relationship(back_populates="shortfalls")

    @staticmethod
    def encode(reasons: tuple[Reason, ...]) -> str:
        return json.dumps([[r.code, [f.isoformat() if isinstance(f, date) else f for f in r.figures]] for r in reasons])

    def why(self, separator: str = "；") -> str:
        decoded = [
            Reason(code, tuple(date.fromisoformat(f) if isinstance(f, str) else f for f in figures))
            for code, figures in json.loads(self.reasons)
        ]
        return separator.join(reason.text for reason in decoded)


class BulletinExample(db.Model):
    """A good example picked by hand: an agency or a branch of the area, or a free title, with a sentence."""

    __tablename__ = "bulletin_example"

    id: Mapped[int] = mapped_column(primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletin.id"), index=True)
    position: Mapped[int]
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branch.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(String(500))

    bulletin: Mapped[Bulletin] = relationship(back_populates="examples")


BULLETINS = Machine(
    Bulletin,
    BulletinStatus,
    [Transition("publish", ("draft",), "published", "bulletin.publish", "bulletin.published")],
    labels={"draft": _l("Draft"), "published": _l("Published")},
    noun=_l("bulletin"),
)
