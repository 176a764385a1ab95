"""双报告: reports to branch and community, the community's feedback sheets, year-end evaluations of members
and the community's yearly rating of each co-building branch."""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kmvolunteer.core.db import known_statuses
from kmvolunteer.core.machine import Machine, Transition
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Branch, Member


class ReportStatus(str, enum.Enum):
    draft = "draft"
    submitted = "submitted"
    acknowledged = "acknowledged"  # every side it goes to has acknowledged it


class Report(db.Model):
    """个人报告 (kind "member") or 支部报告 (kind "branch") for one period.

    A member report goes to the member's branch secretary AND their report-in
    community's secretary; each side acknowledges it separately. A branch report
    goes to one community the branch co-builds with; only the community
    acknowledges it. ``summary`` is the figures computed at submit time (JSON),
    stored with the report so they cannot be altered later.
    """

    __tablename__ = "report"
    __table_args__ = (
        known_statuses(ReportStatus),
        Index(
            "uq_report_member_period",
            "member_id",
            "year",
            "period",
            unique=True,
            sqlite_where=text("kind = 'member'"),
            postgresql_where=text("kind = 'member'"),
        ),
        Index(
            "uq_report_branch_period",
            "branch_id",
            "community_id",
            "year",
            "period",
            unique=True,
            sqlite_where=text("kind = 'branch'"),
            postgresql_where=text("kind = 'branch'"),
        ),
        Index("ix_report_community_status", "community_id", "status"),
        Index("ix_report_branch_status", "branch_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # member / branch
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branch.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    year: Mapped[int]
    period: Mapped[str] = mapped_column(String(4))  # Y, H1, H2
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.draft.value)
    body: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")  # JSON, frozen at submit
    summary_half_hours: Mapped[int] = mapped_column(default=0)
    summary_entries: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    branch_ack_at: Mapped[datetime | None]
    branch_ack_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    branch_comment: Mapped[str] = mapped_column(Text, default="")
    community_ack_at: Mapped[datetime | None]
    community_ack_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    community_comment: Mapped[str] = mapped_column(Text, default="")

    member: Mapped[Member | None] = relationship()
    branch: Mapped[Branch] = relationship()
    community: Mapped[Area] = relationship()
    branch_ack_by: Mapped[User | None] = relationship(foreign_keys=[branch_ack_by_id])  # noqa: F821
    community_ack_by: Mapped[User | None] = relationship(foreign_keys=[community_ack_by_id])  # noqa: F821

    @property
    def summary_data(self) -> dict[str, Any]:
        return json.loads(self.summary) if self.summary else {}

    @property
    def needs_branch_ack(self) -> bool:
        return self.kind == "member"


class SheetStatus(str, enum.Enum):
    draft = "draft"
    sent = "sent"


class FeedbackSheet(db.Model):
    """社区反馈: a community tells a branch how its members served in one period."""

    __tablename__ = "feedback_sheet"
    __table_args__ = (
        known_statuses(SheetStatus),
        UniqueConstraint("community_id", "branch_id", "year", "period", name="uq_feedback_sheet_period"),
        Index("ix_feedback_sheet_branch_status", "branch_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branch.id"))
    year: Mapped[int]
    period: Mapped[str] = mapped_column(String(4))  # Q1..Q4, H1, H2, Y
    status: Mapped[str] = mapped_column(String(8), default=SheetStatus.draft.value)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    figures_at: Mapped[datetime] = mapped_column(default=utcnow)  # when the figures were last counted
    sent_at: Mapped[datetime | None]
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    community: Mapped[Area] = relationship()
    branch: Mapped[Branch] = relationship()
    lines: Mapped[list[FeedbackLine]] = relationship(
        back_populates="sheet", cascade="all, delete-orphan", order_by="FeedbackLine.id"
    )


class FeedbackLine(db.Model):
    """One member on a feedback sheet: figures for the period and the community's remark."""

    __tablename__ = "feedback_line"
    __table_args__ = (UniqueConstraint("sheet_id", "member_id", name="uq_feedback_line_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("feedback_sheet.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    approved_half_hours: Mapped[int] = mapped_column(default=0)
    approved_entries: Mapped[int] = mapped_column(default=0)
    remark: Mapped[str] = mapped_column(String(255), default="")

    sheet: Mapped[FeedbackSheet] = relationship(back_populates="lines")
    member: Mapped[Member] = relationship()


class Rating(str, enum.Enum):
    excellent = "excellent"  # 优秀
    good = "good"  # 合格
    fair = "fair"  # 基本合格
    poor = "poor"  # 不合格


RATING_ORDER = {Rating.poor.value: 0, Rating.fair.value: 1, Rating.good.value: 2, Rating.excellent.value: 3}


class Evaluation(db.Model):
    """年度评价: a community's rating of a member reported in to it, for one year.

    ``reason`` is required when a member with no approved service in the year is
    rated above 基本合格. Ratings reach the member's branch once ``published``;
    changing a published rating needs ``change_reason`` and is audited.
    """

    __tablename__ = "evaluation"
    __table_args__ = (
        UniqueConstraint("community_id", "member_id", "year", name="uq_evaluation_member_year"),
        Index("ix_evaluation_member_year", "member_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    year: Mapped[int]
    rating: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(String(500), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")
    change_reason: Mapped[str] = mapped_column(String(500), default="")
    published: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[datetime | None]
    rated_at: Mapped[datetime] = mapped_column(default=utcnow)
    rated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    community: Mapped[Area] = relationship()
    member: Mapped[Member] = relationship()


class UnitRatingLevel(str, enum.Enum):
    excellent = "excellent"  # 优秀
    good = "good"  # 良好
    average = "average"  # 一般
    poor = "poor"  # 较差


class UnitRating(db.Model):
    """单位评价: a community's yearly rating of a branch that reported in to it, on its co-building
    agreement, the projects it carried out and its members' part. One per (community, branch, year);
    a change is audited with what it was before."""

    __tablename__ = "unit_rating"
    __table_args__ = (
        UniqueConstraint("community_id", "branch_id", "year", name="uq_unit_rating_year"),
        Index("ix_unit_rating_branch_year", "branch_id", "year"),
        known_statuses(UnitRatingLevel, "rating"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branch.id"))
    year: Mapped[int]
    rating: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(String(500), default="")
    rated_at: Mapped[datetime] = mapped_column(default=utcnow)
    rated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    community: Mapped[Area] = relationship()
    branch: Mapped[Branch] = relationship()


# ---------------------------------------------------------------- declared state machines (core/machine.py)

REPORTS = Machine(
    Report,
    ReportStatus,
    [
        Transition("submit", ("draft",), "submitted", "report.submit", "report.submitted"),
        # The acknowledgement that completes the report's (the other side, if any, has acknowledged).
        *(
            Transition(
                f"acknowledge_{side}",
                ("submitted",),
                "acknowledged",
                f"report.ack_{side}",
                f"report.acknowledged_by_{side}",
            )
            for side in ("branch", "community")
        ),
    ],
    labels={"draft": _l("Draft"), "submitted": _l("Submitted"), "acknowledged": _l("Acknowledged")},
    noun=_l("report"),
)
SHEETS = Machine(
    FeedbackSheet,
    SheetStatus,
    [Transition("send", ("draft",), "sent", "feedback.write", "feedback.sent")],
    labels={"draft": _l("Draft"), "sent": _l("Sent to the branch")},
    noun=_l("feedback sheet"),
)
