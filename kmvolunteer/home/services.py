"""What each role's home page shows: the things waiting for the user, by grant."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from kmvolunteer.auth.models import Role, User
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area, Branch, Member


@dataclass
class Panel:
    role: Role
    title: str
    subject: object
    figures: list[tuple[str, int]] = field(default_factory=list)


def _members_under(path: str) -> int:
    stmt = (
        select(func.count(Member.id))
        .join(Branch, Member.branch_id == Branch.id)
        .join(Agency, Branch.agency_id == Agency.id)
        .join(Area, Agency.area_id == Area.id)
        .where(Member.active.is_(True), Area.path.startswith(path))
    )
    return db.session.scalar(stmt) or 0


def _areas_under(path: str, level: str) -> int:
    stmt = select(func.count(Area.id)).where(Area.path.startswith(path), Area.level == level)
    return db.session.scalar(stmt) or 0


def panels_for(user: User) -> list[Panel]:
    panels: list[Panel] = []
    for grant in user.grants:
        role = grant.role_enum
        if role is Role.branch_secretary and grant.branch:
            branch = grant.branch
            total = (
                db.session.scalar(
                    select(func.count(Member.id)).where(Member.branch_id == branch.id, Member.active.is_(True))
                )
                or 0
            )
            without_login = (
                db.session.scalar(
                    select(func.count(Member.id)).where(
                        Member.branch_id == branch.id, Member.active.is_(True), Member.user_id.is_(None)
                    )
                )
                or 0
            )
            panels.append(
                Panel(role, branch.full_name(), branch, [("members", total), ("members_without_login", without_login)])
            )
        elif role in (Role.org_department, Role.subdistrict_officer, Role.community_secretary) and grant.area:
            area = grant.area
            # A community seldom hosts an agency: its secretary's panel would only show a confusing 0.
            figures = [] if area.level == "community" else [("members_in_agencies_here", _members_under(area.path))]
            if area.level in ("city", "district"):
                figures.insert(0, ("subdistricts", _areas_under(area.path, "subdistrict")))
            if area.level != "community":
                figures.insert(1 if figures else 0, ("communities", _areas_under(area.path, "community")))
            panels.append(Panel(role, area.full_name() or area.name, area, figures))
        elif role is Role.department_officer and grant.department:
            panels.append(Panel(role, grant.department.name, grant.department))
    return panels
