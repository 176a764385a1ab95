"""What 双报告 adds to each role's home page: what is owed, what waits for acknowledgement."""

from __future__ import annotations

from typing import Any

from kmvolunteer.auth.models import Role, User
from kmvolunteer.core.time import local_today
from kmvolunteer.home.sections import home_section
from kmvolunteer.reports import services


@home_section("reports/_home_member.html")
def member_section(user: User) -> dict[str, Any] | None:
    if not user.is_member:
        return None
    member = user.member
    today = local_today()
    years = services.member_years(member, (today.year - 1, today.year), today)
    rule, periods = years[today.year]
    return {"overdue": services.overdue_of(member, years), "periods": periods, "rule": rule, "year": today.year}


@home_section("reports/_home_secretary.html")
def secretary_section(user: User) -> dict[str, Any] | None:
    today = local_today()
    branches = [g.branch for g in user.grants_for(Role.branch_secretary) if g.branch]
    communities = [g.area for g in user.grants_for(Role.community_secretary) if g.area]
    if not branches and not communities:
        return None
    return {
        "today": today,
        "branches": [(b, services.awaiting_ack_count(branch_ids=[b.id])) for b in branches],
        "communities": [
            (c, services.awaiting_ack_count(community_ids=[c.id]), services.community_owes(c, today))
            for c in communities
        ],
    }


@home_section("reports/_home_area.html")
def area_section(user: User) -> dict[str, Any] | None:
    areas = [
        g.area for g in user.grants if g.area and g.role in (Role.org_department.value, Role.subdistrict_officer.value)
    ]
    if not areas:
        return None
    today = local_today()
    summaries = []
    year = today.year - 1 if today.month <= 3 else today.year
    for area in areas:
        # Counts for a subdistrict (a few communities); a link for a district or the city,
        # whose overdue page counts on demand.
        if area.level == "subdistrict":
            rows = services.area_overdue(area, year, today)
            summaries.append(
                (area, year, sum(r.reports_overdue for r in rows), sum(1 for r in rows if r.evaluations_overdue))
            )
        else:
            summaries.append((area, year, None, None))
    return {
        "summaries": summaries,
        "today": today,
        "rules": any(g.role == Role.org_department.value for g in user.grants),
    }
