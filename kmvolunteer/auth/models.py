from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area, Branch, Department, Member


class Role(str, enum.Enum):
    member = "member"
    branch_secretary = "branch_secretary"
    community_secretary = "community_secretary"
    subdistrict_officer = "subdistrict_officer"
    department_officer = "department_officer"
    org_department = "org_department"
    # The agency's own party organization (机关党委) and the work committee over the agencies of an area
    # (机关工委): they read their branches' results, and change nothing.
    agency_party_org = "agency_party_org"
    agency_work_committee = "agency_work_committee"


# Which kind of object each granted role is bound to. ``member`` is not granted:
# a user is a member when an active Member row points at them.
GRANT_SCOPE = {
    Role.branch_secretary: "branch",
    Role.community_secretary: "area",
    Role.subdistrict_officer: "area",
    Role.department_officer: "department",
    Role.org_department: "area",
    Role.agency_party_org: "agency",
    Role.agency_work_committee: "area",
}
GRANTABLE_ROLES = tuple(GRANT_SCOPE)


class User(UserMixin, db.Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str] = mapped_column(String(50))
    locale: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Bumped on password change and deactivation: it is part of the session id,
    # so every other session of the account ends at once.
    session_version: Mapped[int] = mapped_column(default=1)
    # The area whose organization department administers this account.
    home_area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    home_area: Mapped[Area] = relationship()
    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user",
        order_by="RoleGrant.id",
        cascade="all, delete-orphan",
        foreign_keys="RoleGrant.user_id",
    )
    member: Mapped[Member | None] = relationship(back_populates="user")

    # Flask-Login
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_member(self) -> bool:
        return self.member is not None and self.member.active

    def roles(self) -> set[Role]:
        found = {Role(g.role) for g in self.grants}
        if self.is_member:
            found.add(Role.member)
        return found

    def grants_for(self, role: Role) -> list[RoleGrant]:
        return [g for g in self.grants if g.role == role.value]


class RoleGrant(db.Model):
    """A role held by a user, bound to one place, branch, department or agency."""

    __tablename__ = "role_grant"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN area_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN branch_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN department_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN agency_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_scope",
        ),
        Index("ix_role_grant_user_role", "user_id", "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    role: Mapped[str] = mapped_column(String(32))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branch.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="grants", foreign_keys=[user_id])
    area: Mapped[Area | None] = relationship()
    branch: Mapped[Branch | None] = relationship()
    department: Mapped[Department | None] = relationship()
    agency: Mapped[Agency | None] = relationship()

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def scope_name(self) -> str:
        if self.branch is not None:
            return self.branch.full_name()
        if self.department is not None:
            return self.department.name
        if self.agency is not None:
            return self.agency.name
        return self.area.full_name() if self.area is not None else ""

    def scope_area(self) -> Area:
        """The place this grant sits at, for 'within my scope' comparisons."""
        if self.branch is not None:
            return self.branch.agency.area
        if self.department is not None:
            return self.department.area
        if self.agency is not None:
            return self.agency.area
        assert self.area is not None
        return self.area


class LoginFailure(db.Model):
    """A failed login, kept until the account's next successful login, whose owner is then told of it."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_username_at", "username", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginThrottle(db.Model):
    """A counter of failed logins (auth/throttle.py): per account name, per account at a usual address,
    per client address. In the database, so it holds across workers and hosts."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)
    # While set and in the future, every try on this counter is refused without checking a password.
    blocked_until: Mapped[datetime | None]
