"""This feature's part of the home page: the sessions a community secretary opened that are still open."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from kmvolunteer.auth.models import User
from kmvolunteer.auth.policy import can
from kmvolunteer.extensions import db
from kmvolunteer.home.sections import home_section
from kmvolunteer.onsite import services
from kmvolunteer.onsite.models import ActivitySession


@home_section("onsite/_home.html", order=21)
def running_section(user: User) -> dict[str, Any] | None:
    if not can(user, "service.attendance"):  # not a community secretary: no query
        return None
    running = list(
        db.session.scalars(
            select(ActivitySession)
            .where(ActivitySession.status == services.OPEN, ActivitySession.opened_by_id == user.id)
            .options(joinedload(ActivitySession.need))
            .order_by(ActivitySession.starts_at)
            .limit(10)
        )
    )
    return {"running": running} if running else None
