"""What 积分与星级 adds to a member's home page: this year's points and stars."""

from __future__ import annotations

from typing import Any

from kmvolunteer.auth.models import User
from kmvolunteer.core.time import local_today
from kmvolunteer.home.sections import home_section
from kmvolunteer.points import services


@home_section("points/_home_member.html", order=60)
def member_section(user: User) -> dict[str, Any] | None:
    if not user.is_member:
        return None
    return {"points": services.member_points(user.member, local_today().year)}
