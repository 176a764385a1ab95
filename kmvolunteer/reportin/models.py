from __future__ import annotations

import enum
from datetime import date, datetime, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kmvolunteer.core.db import known_statuses
from kmvolunteer.core.machine import Machine, Transition
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Branch, Estate, Grid, Member


class ReportInStatus(str, enum.Enum):
    pending = "pending"
    confirmed = "confirmed"
    rejected = "rejected"
    withdrawn = "withdrawn"
    ended = "ended"


ACTIVE_REPORT_IN = (ReportInStatus.pending.value, ReportInStatus.confirmed.value)


class ServiceCategory(db.Model):
    """服务类别: the editable list members and needs are tagged with."""

    __tablename__ = "service_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


report_in_category = Table(
    "report_in_category",
    db.metadata,
    Column("report_in_id", ForeignKey("report_in.id"), primary_key=True),
    Column("category_id", ForeignKey("service_category.id"), primary_key=True),
)


class ReportIn(db.Model):
    """报到: a member to their residence community, or a branch to a community it co-builds with.

    ``kind`` is "member" (member_id set) or "branch" (branch_id set, with the
    co-building agreement 共建协议 fields). At most one pending-or-confirmed
    member report-in per member, and one per (branch, community): enforced by
    partial unique indexes, so two clicks at once cannot both succeed.
    """

    __tablename__ = "report_in"
    __table_args__ = (
        known_statuses(ReportInStatus),
        Index(
            "uq_report_in_member_active",
            "member_id",
            unique=True,
            sqlite_where=text("kind = 'member' AND status IN ('pending', 'confirmed')"),
            postgresql_where=text("kind = 'member' AND status IN ('pending', 'confirmed')"),
        ),
        Index(
            "uq_report_in_branch_active",
            "branch_id",
            "community_id",
            unique=True,
            sqlite_where=text("kind = 'branch' AND status IN ('pending', 'confirmed')"),
            postgresql_where=text("kind = 'branch' AND status IN ('pending', 'confirmed')"),
        ),
        # kind too, so counting report-ins by kind and status over many communities reads only the index
        Index("ix_report_in_community_status_kind", "community_id", "status", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branch.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    status: Mapped[str] = mapped_column(String(16), default=ReportInStatus.pending.value)
    skills: Mapped[str] = mapped_column(String(255), default="")
    # Branch co-building agreement (共建协议)
    term_start: Mapped[date | None]
    term_end: Mapped[date | None]
    contact_name: Mapped[str] = mapped_column(String(50), default="")
    contact_phone: Mapped[str] = mapped_column(String(20), default="")
    branch_commitments: Mapped[str] = mapped_column(Text, default="")
    community_commitments: Mapped[str] = mapped_column(Text, default="")
    # Life cycle
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    reason: Mapped[str] = mapped_column(String(255), default="")  # why rejected / ended
    ended_at: Mapped[datetime | None]
    serial: Mapped[str | None] = mapped_column(String(32), unique=True)  # receipt number, set on confirm
    # Where in the community a member lives (小区 / 网格), and the households they keep in touch with (联系户:
    # a count and a note, no residents' personal data).
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"), index=True)
    contact_households: Mapped[int] = mapped_column(default=0, server_default="0")
    contact_note: Mapped[str] = mapped_column(String(200), default="", server_default="")

    member: Mapped[Member | None] = relationship()
    branch: Mapped[Branch | None] = relationship()
    community: Mapped[Area] = relationship()
    estate: Mapped[Estate | None] = relationship()
    grid: Mapped[Grid | None] = relationship()
    categories: Mapped[list[ServiceCategory]] = relationship(
        secondary=report_in_category, order_by=ServiceCategory.sort_order
    )


class NeedStatus(str, enum.Enum):
    open = "open"
    closed = "closed"


class Need(db.Model):
    """需求 / 岗位 published by a community; members and branches claim places on it."""

    __tablename__ = "need"
    __table_args__ = (Index("ix_need_community_status", "community_id", "status"), known_statuses(NeedStatus))

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    kind: Mapped[str] = mapped_column(String(8), default="need")  # "need" 需求 or "post" 岗位
    title: Mapped[str] = mapped_column(String(100))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("service_category.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(100), default="")
    # The community's estate (with its grid) or grid it is in, if any (org/spots.py).
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"))
    skills: Mapped[str] = mapped_column(String(255), default="")  # 所需特长, comma-separated
    # When: one date (with optional times), or a recurring schedule in words.
    on_date: Mapped[date | None]
    start_time: Mapped[time | None]
    end_time: Mapped[time | None]
    recurrence: Mapped[str] = mapped_column(String(100), default="")  # e.g. "每周六 9:00–11:00"
    headcount: Mapped[int] = mapped_column(default=1)
    claimed: Mapped[int] = mapped_column(default=0)  # active claims; guarded by UPDATE … WHERE claimed < headcount
    status: Mapped[str] = mapped_column(String(16), default=NeedStatus.open.value)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    community: Mapped[Area] = relationship()
    category: Mapped[ServiceCategory | None] = relationship()
    estate: Mapped[Estate | None] = relationship()
    grid: Mapped[Grid | None] = relationship()

    @property
    def places_left(self) -> int:
        return max(self.headcount - self.claimed, 0)


class ClaimStatus(str, enum.Enum):
    active = "active"
    withdrawn = "withdrawn"


class Claim(db.Model):
    """认领: a member or a branch taking a place on a need."""

    __tablename__ = "claim"
    __table_args__ = (
        known_statuses(ClaimStatus),
        Index(
            "uq_claim_member_active",
            "need_id",
            "member_id",
            unique=True,
            sqlite_where=text("status = 'active' AND member_id IS NOT NULL"),
            postgresql_where=text("status = 'active' AND member_id IS NOT NULL"),
        ),
        Index(
            "uq_claim_branch_active",
            "need_id",
            "branch_id",
            unique=True,
            sqlite_where=text("status = 'active' AND branch_id IS NOT NULL"),
            postgresql_where=text("status = 'active' AND branch_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("need.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), index=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branch.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=ClaimStatus.active.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]

    need: Mapped[Need] = relationship()
    member: Mapped[Member | None] = relationship()
    branch: Mapped[Branch | None] = relationship()


class ResourceStatus(str, enum.Enum):
    offered = "offered"
    taken = "taken"
    withdrawn = "withdrawn"


class Resource(db.Model):
    """资源: what a branch offers to a community it co-builds with."""

    __tablename__ = "resource"
    __table_args__ = (known_statuses(ResourceStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branch.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("service_category.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    amount: Mapped[str] = mapped_column(String(100), default="")  # how much / how often
    status: Mapped[str] = mapped_column(String(16), default=ResourceStatus.offered.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    branch: Mapped[Branch] = relationship()
    community: Mapped[Area] = relationship()
    category: Mapped[ServiceCategory | None] = relationship()


class ProjectStatus(str, enum.Enum):
    open = "open"
    in_progress = "in_progress"
    done = "done"
    cancelled = "cancelled"  # the branch withdrew its claim before the project started


class Project(db.Model):
    """项目: a need claimed by a branch, or a resource taken up by the community."""

    __tablename__ = "project"
    __table_args__ = (known_statuses(ProjectStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branch.id"), index=True)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("need.id"))
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("resource.id"))
    title: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=ProjectStatus.open.value)
    outcome: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]

    community: Mapped[Area] = relationship()
    branch: Mapped[Branch] = relationship()
    need: Mapped[Need | None] = relationship()
    resource: Mapped[Resource | None] = relationship()


# ---------------------------------------------------------------- declared state machines (core/machine.py)

RI = ReportInStatus
REPORT_INS = Machine(
    ReportIn,
    ReportInStatus,
    [
        Transition("confirm", (RI.pending.value,), RI.confirmed.value, "reportin.decide", "reportin.confirmed"),
        Transition(
            "reject",
            (RI.pending.value,),
            RI.rejected.value,
            "reportin.decide",
            "reportin.rejected",
            reason=_l("Give a reason for rejecting the report-in."),
        ),
        Transition("withdraw", (RI.pending.value,), RI.withdrawn.value, "reportin.withdraw", "reportin.withdrawn"),
        Transition(
            "end",
            (RI.confirmed.value,),
            RI.ended.value,
            "reportin.end",
            "reportin.ended",
            reason=_l("Give a reason for ending the report-in."),
        ),
    ],
    labels={
        RI.pending.value: _l("waiting for confirmation"),
        RI.confirmed.value: _l("confirmed"),
        RI.rejected.value: _l("rejected"),
        RI.withdrawn.value: _l("withdrawn"),
        RI.ended.value: _l("ended"),
    },
    noun=_l("report-in"),
    reason_column="reason",
)
NEEDS = Machine(
    Need,
    NeedStatus,
    [
        Transition("close", (NeedStatus.open.value,), NeedStatus.closed.value, "need.manage", "need.closed"),
        Transition("reopen", (NeedStatus.closed.value,), NeedStatus.open.value, "need.manage", "need.reopened"),
    ],
    labels={NeedStatus.open.value: _l("open for claims"), NeedStatus.closed.value: _l("closed")},
    noun=_l("need"),
)
CLAIMS = Machine(
    Claim,
    ClaimStatus,
    [Transition("withdraw", ("active",), "withdrawn", "claim.withdraw", "claim.withdrawn")],
    labels={ClaimStatus.active.value: _l("active"), ClaimStatus.withdrawn.value: _l("withdrawn")},
    noun=_l("claim"),
)
RESOURCES = Machine(
    Resource,
    ResourceStatus,
    [
        Transition("take", ("offered",), "taken", "resource.take", "resource.taken"),
        Transition("withdraw", ("offered",), "withdrawn", "resource.withdraw", "resource.withdrawn"),
    ],
    labels={"offered": _l("on offer"), "taken": _l("Taken up"), "withdrawn": _l("withdrawn")},
    noun=_l("resource"),
)
P = ProjectStatus
PROJECTS = Machine(
    Project,
    ProjectStatus,
    [
        Transition("start", (P.open.value,), P.in_progress.value, "project.manage", "project.in_progress"),
        Transition("finish", (P.in_progress.value,), P.done.value, "project.manage", "project.done"),
        Transition("cancel", (P.open.value,), P.cancelled.value, "project.manage", "project.cancelled"),
    ],
    labels={
        P.open.value: _l("not started"),
        P.in_progress.value: _l("In progress"),
        P.done.value: _l("Done"),
        P.cancelled.value: _l("Cancelled"),
    },
    noun=_l("project"),
)
