"""The home-page section: the latest bulletins the user may read (and, for an organization department, its
drafts)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from kmvolunteer.auth.models import User
from kmvolunteer.auth.policy import can, scoped
from kmvolunteer.bulletins.models import Bulletin
from kmvolunteer.extensions import db
from kmvolunteer.home.sections import home_section


@home_section("bulletins/_home.html", order=70)
def bulletins_section(user: User) -> dict[str, Any] | None:
    if not can(user, "bulletin.list"):
        return None
    stmt = scoped(select(Bulletin).options(joinedload(Bulletin.area)), user, "bulletin.list")
    latest = db.session.scalars(stmt.order_by(Bulletin.id.desc()).limit(5)).all()
    return {"bulletins": latest} if latest else None
