"""This feature's parts of the home page: a department officer's summons, what waits for a blower, and the
organization department's warning about a year whose deadlines run on Monday–Friday."""

from __future__ import annotations

from typing import Any

from kmvolunteer.auth.models import Role, User
from kmvolunteer.home.sections import home_section
from kmvolunteer.whistles import deadlines, pages


@home_section("whistles/_home_queue.html", order=15)
def queue_section(user: User) -> dict[str, Any] | None:
    if not pages.is_department_officer(user):
        return None
    return {"counts": pages.queue_counts(user)}


@home_section("whistles/_home_calendar.html", order=5)
def calendar_section(user: User) -> dict[str, Any] | None:
    if not user.grants_for(Role.org_department):
        return None
    years = deadlines.years_on_fallback()
    return {"years": years} if years else None


@home_section("whistles/_home_blower.html", order=25)
def blower_section(user: User) -> dict[str, Any] | None:
    if not pages.blowing_areas(user):
        return None
    return {"counts": pages.waiting_counts(user)}
