"""This feature's parts of the home page: the member's progress, the secretary's queue, the overdue entries."""

from __future__ import annotations

from typing import Any

from kmvolunteer.auth.models import Role, User
from kmvolunteer.auth.policy import can
from kmvolunteer.core.time import local_today
from kmvolunteer.home.sections import home_section
from kmvolunteer.service import services


@home_section("service/_home_member.html", order=10)
def member_section(user: User) -> dict[str, Any] | None:
    member = user.member
    if member is None or not member.active:
        return None
    return {"progress": services.progress(member, local_today().year), "fmt": services.format_hours}


@home_section("service/_home_secretary.html", order=20)
def secretary_section(user: User) -> dict[str, Any] | None:
    if not can(user, "service.decide_any"):
        return None
    return {
        "pending": services.pending_count(user),
        "overdue": services.overdue_count(user),
        "warn_days": services.pending_warn_days(),
    }


@home_section("service/_home_overdue.html")
def overdue_section(user: User) -> dict[str, Any] | None:
    """Subdistrict officers (and org departments) see the pending and overdue entries per community."""
    if not any(g.role in (Role.subdistrict_officer.value, Role.org_department.value) for g in user.grants):
        return None
    rows = services.overdue_by_community(user)
    return {"rows": rows[:30], "more": max(len(rows) - 30, 0), "warn_days": services.pending_warn_days()}
