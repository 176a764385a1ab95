"""What 积分与星级 adds to a member's home page: a link to their points, and this year's points and stars
fetched once the page is shown (the home page's own queries stay within their budget)."""

from __future__ import annotations

from typing import Any

from kmvolunteer.auth.models import User
from kmvolunteer.home.sections import home_section


@home_section("points/_home_member.html", order=60)
def member_section(user: User) -> dict[str, Any] | None:
    return {} if user.is_member else None
