"""This feature's parts of the home page, one per role."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from kmvolunteer.auth.models import Role, User
from kmvolunteer.extensions import db
from kmvolunteer.home.sections import home_section
from kmvolunteer.reportin import services
from kmvolunteer.reportin.models import ACTIVE_REPORT_IN, Need, NeedStatus


@home_section("reportin/_home_member.html")
def member_section(user: User) -> dict[str, Any] | None:
    if not user.is_member:
        return None
    member = user.member
    history = services.member_history(member)
    statuses = {ri.status for ri in history}
    confirmed = next((ri for ri in history if ri.status == services.CONFIRMED), None)
    claims, open_needs = services.claims_and_open_needs(member, confirmed.community) if confirmed else (0, 0)
    return {
        "latest": history[0] if history else None,
        "reminder": None if statuses & set(ACTIVE_REPORT_IN) else services.last_reminder(member),
        "claims": claims,
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
