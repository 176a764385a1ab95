"""This feature's part of the home page: the community secretary's residents' requests waiting for triage."""

from __future__ import annotations

from typing import Any

from kmvolunteer.auth.models import Role, User
from kmvolunteer.home.sections import home_section
from kmvolunteer.org.models import Area
from kmvolunteer.resident import services


def waiting(user: User) -> list[tuple[Area, int]]:
    """The communities whose requests ``user`` triages, each with the number of requests waiting."""
    communities = [
        g.area for g in user.grants_for(Role.community_secretary) if g.area is not None and g.area.level == "community"
    ]
    counts = services.received_counts(communities)
    return [(community, counts.get(community.id, 0)) for community in communities]


@home_section("resident/_home.html", order=22)
def inbox_section(user: User) -> dict[str, Any] | None:
    rows = waiting(user)
    return {"rows": rows} if rows else None
