"""The home-page section of the agency's party organization and of the work committee."""

from __future__ import annotations

from typing import Any

from kmvolunteer.agencyorg import services
from kmvolunteer.auth.models import User
from kmvolunteer.auth.policy import results_scope
from kmvolunteer.core.time import local_today
from kmvolunteer.home.sections import home_section


@home_section("agencyorg/_home.html", order=20)
def results_section(user: User) -> dict[str, Any] | None:
    agencies, areas = results_scope(user)
    if not agencies and not areas:
        return None
    year = local_today().year
    return {"year": year, "areas": areas, "rows": services.agencies_overview(year, agencies, areas)}
