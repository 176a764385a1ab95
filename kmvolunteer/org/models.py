from __future__ import annotations

import enum
from datetime import datetime

from blinker import signal
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db


class AreaLevel(str, enum.Enum):
    city = "city"
    district = "district"
    subdistrict = "subdistrict"
    community = "community"

    @property
    def child(self) -> AreaLevel | None:
        order = list(AreaLevel)
        index = order.index(self)
        return order[index + 1] if index + 1 < len(order) else None


class Area(db.Model):
    """One node of the place tree: city → district → subdistrict → community.

    ``path`` is the materialised chain of ids ("/1/4/27/"), so "everything under
    this area" is one indexed prefix match instead of a recursive query.
    """

    __tablename__ = "area"
    __table_args__ = (UniqueConstraint("parent_id", "name", name="uq_area_parent_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    path: Mapped[str] = mapped_column(String(255), index=True, default="")
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped[Area | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Area]] = relationship(back_populates="parent", order_by="Area.id")

    @property
    def level_enum(self) -> AreaLevel:
        return AreaLevel(self.level)

    def covers(self, other: Area) -> bool:
        """True when ``other`` is this area or lies below it."""
        return other.path.startswith(self.path)

    def ancestors(self) -> list[Area]:
        chain: list[Area] = []
        node = self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return list(reversed(chain))

    def full_name(self) -> str:
        return "".join(a.name for a in self.ancestors()[1:] + [self])

    def __repr__(self) -> str:
        return f"<Area {self.id} {self.name}>"


class Agency(db.Model):
    """An employer (机关单位), e.g. 昆明市民政局; it sits in an area."""

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)

    area: Mapped[Area] = relationship()
    branches: Mapped[list[Branch]] = relationship(back_populates="agency", order_by="Branch.id")


class Branch(db.Model):
    """A party branch (党支部) of an agency."""

    __tablename__ = "branch"
    __table_args__ = (UniqueConstraint("agency_id", "name", name="uq_branch_agency_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)

    agency: Mapped[Agency] = relationship(back_populates="branches")
    members: Mapped[list[Member]] = relationship(back_populates="branch", order_by="Member.id")

    def full_name(self) -> str:
        return f"{self.agency.name} {self.name}"


# Sent (with member_ids) when something a member's figures depend on changes outside a declared
# transition (core/machine.py): the roster, a rating. Derived data (the tallies) follows it.
members_changed = signal("org.members-changed")
# Sent when records were written in bulk, past the services (the demo city): derived data recounts.
bulk_loaded = signal("org.bulk-loaded")


class Member(db.Model):
    """An on-duty party member (在职党员). No ID-card numbers are kept."""

    __tablename__ = "member"
    __table_args__ = (Index("ix_member_branch_active", "branch_id", "active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    post: Mapped[str] = mapped_column(String(100), default="")
    branch_id: Mapped[int] = mapped_column(ForeignKey("branch.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    branch: Mapped[Branch] = relationship(back_populates="members")
    user: Mapped[User | None] = relationship(back_populates="member")  # noqa: F821


class Grid(db.Model):
    """网格: a governance grid of a community, with its grid leader (网格长); the party grid is the same."""

    __tablename__ = "grid"
    __table_args__ = (UniqueConstraint("community_id", "name", name="uq_grid_community_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    leader: Mapped[str] = mapped_column(String(50), default="")  # 网格长: a name, as the community posts it
    active: Mapped[bool] = mapped_column(default=True)

    community: Mapped[Area] = relationship()


class PropertyCompany(db.Model):
    """物业企业: a property company serving estates, known to the district it works in."""

    __tablename__ = "property_company"
    __table_args__ = (UniqueConstraint("district_id", "name", name="uq_property_company_district_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))

    district: Mapped[Area] = relationship()


class Estate(db.Model):
    """小区: an estate of a community, in one of its grids, with its party branch (小区党支部) if it has one."""

    __tablename__ = "estate"
    __table_args__ = (UniqueConstraint("community_id", "name", name="uq_estate_community_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"), index=True)
    party_branch: Mapped[str] = mapped_column(String(100), default="")  # 小区党支部
    property_company_id: Mapped[int | None] = mapped_column(ForeignKey("property_company.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)

    community: Mapped[Area] = relationship()
    grid: Mapped[Grid | None] = relationship()
    property_company: Mapped[PropertyCompany | None] = relationship()


class Department(db.Model):
    """A functional department (职能部门) of one tier (city, district or subdistrict)."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)

    area: Mapped[Area] = relationship()
