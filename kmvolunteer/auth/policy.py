"""The one place that decides who may do what.

Every view asks ``can(user, action, obj)`` before acting on an object and
``scoped(stmt, user, action)`` before listing objects. Scope is inherited down
the place tree: a grant on a district covers its subdistricts and communities.
Views turn a refusal on an object URL into 404, so ids outside one's scope are
not revealed.
"""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import Select, false, or_

from kmvolunteer.auth.models import Role, RoleGrant, User
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.org.models import Agency, Area, Branch, Department, Member

AREA_READERS = (Role.org_department, Role.subdistrict_officer, Role.community_secretary)


def _area_paths(user: User, roles: tuple[Role, ...]) -> list[str]:
    return [g.area.path for g in user.grants if g.role in {r.value for r in roles} and g.area]


def _branch_ids(user: User) -> set[int]:
    return {g.branch_id for g in user.grants if g.role == Role.branch_secretary.value and g.branch_id}


def _covered(paths: list[str], area: Area | None) -> bool:
    return area is not None and any(area.path.startswith(p) for p in paths)


def _org_covers(user: User, area: Area | None) -> bool:
    return _covered(_area_paths(user, (Role.org_department,)), area)


def _manages_branch(user: User, branch: Branch) -> bool:
    return branch.id in _branch_ids(user) or _org_covers(user, branch.agency.area)


def _is_self(user: User, member: Member) -> bool:
    return member.user_id is not None and member.user_id == user.id


RULES: dict[str, Callable[[User, Any], bool]] = {
    "area.view": lambda u, area: _covered(_area_paths(u, AREA_READERS), area),
    "area.agencies": lambda u, area: _org_covers(u, area),
    "agency.view": lambda u, agency: _org_covers(u, agency.area)
    or any(b.id in _branch_ids(u) for b in agency.branches),
    "branch.view": _manages_branch,
    "branch.manage": _manages_branch,
    "member.view": lambda u, m: _is_self(u, m) or _manages_branch(u, m.branch),
    "member.edit": lambda u, m: _manages_branch(u, m.branch),
    # The full phone number: the person and their branch secretary (and, once
    # report-ins exist, their community's secretary). Everyone else sees it masked.
    "member.phone": lambda u, m: _is_self(u, m) or m.branch_id in _branch_ids(u),
    "department.view": lambda u, d: _org_covers(u, d.area)
    or any(g.department_id == d.id for g in u.grants),
    "roster.import": lambda u, _=None: bool(_branch_ids(u))
    or bool(_area_paths(u, (Role.org_department,))),
    "user.list": lambda u, _=None: bool(_area_paths(u, (Role.org_department,))),
    "user.create": lambda u, area: _org_covers(u, area),
    "user.manage": lambda u, target: _org_covers(u, target.home_area),
    "grant.give": lambda u, grant: _org_covers(u, grant.scope_area()),
    "audit.view": lambda u, _=None: bool(_area_paths(u, (Role.org_department,))),
    # --- tallies ---
    "tally.area": lambda u, area: _covered(_area_paths(u, AREA_READERS), area),
    "tally.employer": lambda u, area: _org_covers(u, area),
    "tally.agency": lambda u, agency: _org_covers(u, agency.area),
    "tally.branch": _manages_branch,
    "year.manage": lambda u, _=None: any(g.area.level == "city" for g in u.grants
                                         if g.role == Role.org_department.value and g.area),
}


def can(user: User | Any, action: str, obj: Any = None) -> bool:
    """May ``user`` do ``action`` (on ``obj``)? Unknown actions are refused."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    rule = RULES.get(action)
    if rule is None:
        raise KeyError(f"no policy rule for {action!r}")
    return bool(rule(user, obj))


def _path_filter(column, paths: list[str]):  # noqa: ANN001
    if not paths:
        return false()
    return or_(*(column.startswith(p, autoescape=True) for p in paths))


def scoped(stmt: Select, user: User, action: str) -> Select:
    """Narrow a SELECT to the rows ``user`` may see for ``action``."""
    org_paths = _area_paths(user, (Role.org_department,))
    if action == "area.list":
        return stmt.where(_path_filter(Area.path, _area_paths(user, AREA_READERS)))
    if action == "agency.list":
        return stmt.join(Area, Agency.area_id == Area.id).where(_path_filter(Area.path, org_paths))
    if action in {"branch.list", "member.list"}:
        if action == "member.list":
            stmt = stmt.join(Branch, Member.branch_id == Branch.id)
        stmt = stmt.join(Agency, Branch.agency_id == Agency.id).join(Area, Agency.area_id == Area.id)
        mine = _branch_ids(user)
        return stmt.where(or_(_path_filter(Area.path, org_paths), Branch.id.in_(mine) if mine else false()))
    if action == "department.list":
        return stmt.join(Area, Department.area_id == Area.id).where(_path_filter(Area.path, org_paths))
    if action == "user.list":
        return stmt.join(Area, User.home_area_id == Area.id).where(_path_filter(Area.path, org_paths))
    if action == "audit.list":
        return stmt.where(_path_filter(AuditEntry.scope_path, org_paths))
    raise KeyError(f"no scope rule for {action!r}")


def org_areas(user: User) -> list[Area]:
    """The areas where the user is an organization department."""
    return [g.area for g in user.grants if g.role == Role.org_department.value and g.area]


def grants_of(user: User, role: Role) -> list[RoleGrant]:
    return user.grants_for(role)


def get_or_404(model: type, object_id: int, action: str, user: User | None = None) -> Any:
    """Load an object the current user may ``action``; anything else is 404."""
    from flask import abort
    from flask_login import current_user

    from kmvolunteer.extensions import db

    obj = db.session.get(model, object_id)
    if obj is None or not can(user or current_user, action, obj):
        abort(404)
    return obj
