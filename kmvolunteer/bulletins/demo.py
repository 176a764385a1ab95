"""Demo bulletins, drafted and published through the services once the tallies are counted: 五华区's of this
year so far (for the district's organization department, its work committee and its agencies) and the city's
of last year (for the city's agencies, 昆明市民政局's party organization among them)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from kmvolunteer.auth.models import User
from kmvolunteer.bulletins import services
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area

# (the drafting account, the area, years back from this one)
BULLETINS = [("wuhua_org", "五华区", 0), ("city_org", "昆明市", 1)]


def seed(*, echo: Callable[[str], None]) -> None:
    published = 0
    for username, area_name, back in BULLETINS:
        actor = db.session.scalar(select(User).where(User.username == username))
        area = db.session.scalar(select(Area).where(Area.name == area_name).order_by(Area.id))
        if actor is None or area is None:
            continue
        try:
            bulletin = services.draft(area, local_today().year - back, actor, name_members=False)
            if bulletin.units:
                best = bulletin.units[0]
                services.add_example(
                    bulletin, actor, agency_id=best.agency_id, text="党员报到率高，常态化认领社区岗位，服务成效明显。"
                )
            services.add_example(
                bulletin, actor, name="翠湖社区在职党员志愿服务队", text="组织报到党员开展周末巡逻和政策宣传。"
            )
            services.publish(bulletin, actor)
        except ServiceError as error:  # e.g. no rule for the year: say so and go on
            db.session.rollback()
            echo(f"bulletins: {area_name} skipped ({error.message})")
            continue
        db.session.commit()
        published += 1
    echo(f"bulletins: {published} published")
