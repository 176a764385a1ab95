"""Members and the place tree: the rules for changing them."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from kmvolunteer.auth.models import User
from kmvolunteer.auth.policy import member_search
from kmvolunteer.core import audit
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.extensions import db
from kmvolunteer.org import roster
from kmvolunteer.org.models import Agency, Area, Branch, Member, members_changed


def add_member(branch: Branch, *, name: str, phone: str, post: str) -> roster.ImportedMember:
    """One member typed in by hand: the same checks as one roster row."""
    header = [names[0] for names in roster.COLUMNS.values()]
    table = [header, [name, phone, branch.agency.name, branch.name, post]]
    check = roster.check_roster(table, [branch])
    if check.problems:
        raise ServiceError(check.problems[0][1])
    return roster.import_roster(check, source="form")[0]


def deactivate_member(member: Member) -> None:
    if not member.active:
        raise ServiceError(_("This member is already inactive."))
    member.active = False
    members_changed.send(None, member_ids=[member.id])
    if member.user is not None:
        member.user.active = False
        member.user.session_version += 1
    audit.record(
        "member.deactivated",
        member,
        scope_path=member.branch.agency.area.path,
        summary=member.name,
        before={"active": True},
        after={"active": False},
    )


def child_counts(area: Area) -> dict[int, int]:
    """For each child of ``area``: how many communities lie under it (one query, not one per child)."""
    counts = {child.id: 0 for child in area.children}
    child_segment = area.path.count("/")  # "/1/4/27/".split("/")[2] is the child of "/1/"
    for path in db.session.scalars(
        select(Area.path).where(Area.path.startswith(area.path, autoescape=True), Area.level == "community")
    ):
        if path == area.path:  # a community counts under its parent, not under itself
            continue
        child_id = int(path.split("/")[child_segment])
        if child_id in counts:
            counts[child_id] += 1
    return counts


def agencies_in(area: Area) -> list[Agency]:
    return list(
        db.session.scalars(
            select(Agency).where(Agency.area_id == area.id, Agency.active.is_(True)).order_by(Agency.name)
        )
    )


def branch_member_counts(agency: Agency) -> dict[int, int]:
    rows = db.session.execute(
        select(Member.branch_id, func.count(Member.id))
        .join(Branch, Member.branch_id == Branch.id)
        .where(Branch.agency_id == agency.id, Member.active.is_(True))
        .group_by(Member.branch_id)
    )
    return {branch_id: count for branch_id, count in rows}


def roster_query(branch: Branch, q: str | None, viewer: User):
    """The branch's active members; ``q`` matches names, and phone numbers only where ``viewer`` sees them."""
    stmt = select(Member).where(Member.branch_id == branch.id, Member.active.is_(True)).order_by(Member.name)
    if q:
        stmt = stmt.where(member_search(viewer, q))
    return stmt
