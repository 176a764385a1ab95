"""This feature's parts of the home page, one per role."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from kmvolunteer.auth.models import Role, User
from kmvolunteer.extensions import db
from kmvolunteer.home.sections import home_section, member_stamps
from kmvolunteer.reportin import services
from kmvolunteer.reportin.models import Need, NeedStatus


def _member_stamps(user: User) -> list[str] | None:
    """The member's own stamps, and their community's (its open needs are counted here)."""
    keys = member_stamps(user)
    if keys is None:
        return None
    community_id = services.confirmed_community_id(user.member)
    return keys + [f"area:{community_id}"] if community_id is not None else keys


@home_section("reportin/_home_member.html", stamps=_member_stamps)
def member_section(user: User) -> dict[str, Any] | None:
    if not user.is_member:
        return None
    member = user.member
    community = services.confirmed_community_of(member)
    open_needs = 0
    if community is not None:
        # Open needs with places left: a full one is no longer the member's to take up.
        claimable = services.needs_of(community).where(Need.claimed < Need.headcount)
        open_needs = db.session.scalar(select(func.count()).select_from(claimable.subquery())) or 0
    return {
        "latest": services.latest_member_report_in(member),
        "community": community,
        "reminder": services.latest_reminder(member),
        "claims": services.member_claims(member),
        "open_needs": open_needs,
    }


@home_section("reportin/_home_secretary.html")
def secretary_section(user: User) -> dict[str, Any] | None:
    communities = [
        g.area for g in user.grants_for(Role.community_secretary) if g.area is not None and g.area.level == "community"
    ]
    if not communities:
        return None
    rows = []
    for community in communities:
        rows.append(
            {
                "community": community,
                "pending": services.pending_count([community]),
                "roster": db.session.scalar(
                    select(func.count()).select_from(services.roster_query(community).subquery())
                )
                or 0,
                "needs": db.session.scalar(
                    select(func.count(Need.id)).where(
                        Need.community_id == community.id, Need.status == NeedStatus.open.value
                    )
                )
                or 0,
            }
        )
    return {"rows": rows}


@home_section("reportin/_home_branch.html")
def branch_section(user: User) -> dict[str, Any] | None:
    branches = [g.branch for g in user.grants_for(Role.branch_secretary) if g.branch is not None]
    if not branches:
        return None
    return {"rows": [(b, services.branch_rate(b)) for b in branches]}


@home_section("reportin/_home_area.html")
def area_section(user: User) -> dict[str, Any] | None:
    areas = [
        g.area
        for g in user.grants
        if g.area is not None and g.role in (Role.org_department.value, Role.subdistrict_officer.value)
    ]
    if not areas:
        return None
    return {"rows": [(a, services.area_figures(a)) for a in areas]}
