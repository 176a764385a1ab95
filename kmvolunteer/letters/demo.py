"""Demo data for feedback letters, added by `flask seed-demo` after the reports: 翠湖社区's letter to
昆明市民政局 for the first half of this year (the last year's, before July), so that the agency's party
organization (`minzheng_party`) finds one letter waiting for its acknowledgement."""

from __future__ import annotations

import random
from collections.abc import Callable

from sqlalchemy import select

from kmvolunteer.auth.models import Role, RoleGrant
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.letters import services
from kmvolunteer.org.models import Agency, Area


def seed(*, rng: random.Random, generated: bool, echo: Callable[[str], None]) -> None:
    community = db.session.scalar(select(Area).where(Area.level == "community", Area.name == "翠湖社区"))
    agency = db.session.scalar(select(Agency).where(Agency.name == "昆明市民政局"))
    if community is None or agency is None:
        return
    today = local_today()
    year, period = (today.year, "H1") if services.period_ended(today.year, "H1", today) else (today.year - 1, "Y")
    secretary = db.session.scalar(
        select(RoleGrant.user_id)
        .where(RoleGrant.role == Role.community_secretary.value, RoleGrant.area_id == community.id)
        .order_by(RoleGrant.id)
    )
    try:
        letter = services.issue_letter(community, agency, year, period, actor_id=secretary, today=today)
    except ServiceError as error:
        db.session.rollback()
        echo(f"feedback letter: none ({error.message})")
        return
    db.session.commit()
    echo(f"feedback letter: {letter.serial} from 翠湖社区 to 昆明市民政局, {year} {period}")
