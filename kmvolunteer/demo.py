"""The demo city: the org's places and people, then each feature's data, announced (bulk_loaded) so
that derived data, the tallies, is counted; then the bulletins, which read the tallies.

It composes the features, so it sits on the top floor with the app and the commands.
"""

from __future__ import annotations

from kmvolunteer.bodies import demo as bodies_demo
from kmvolunteer.bulletins import demo as bulletins_demo
from kmvolunteer.estates import demo as estates_demo
from kmvolunteer.extensions import db
from kmvolunteer.letters import demo as letters_demo
from kmvolunteer.onsite import demo as onsite_demo
from kmvolunteer.org.demo import DEMO_ACCOUNTS, DEMO_MEMBER, DEMO_PASSWORD, Sizes, database_is_empty, seed_org
from kmvolunteer.org.models import bulk_loaded
from kmvolunteer.points import demo as points_demo
from kmvolunteer.reportin import demo as reportin_demo
from kmvolunteer.reports import demo as reports_demo
from kmvolunteer.resident import demo as resident_demo
from kmvolunteer.service import demo as service_demo
from kmvolunteer.whistles import demo as whistles_demo

__all__ = ["DEMO_ACCOUNTS", "DEMO_MEMBER", "DEMO_PASSWORD", "Sizes", "database_is_empty", "seed"]


def seed(*, generated: Sizes | None = None, echo=print) -> dict[str, int]:
    """Fill an empty database with the demo city (or a generated one of ``generated`` sizes)."""
    rng, counts = seed_org(generated=generated, echo=echo)
    for feature in (
        reportin_demo,
        estates_demo,
        bodies_demo,
        service_demo,
        reports_demo,
        letters_demo,
        whistles_demo,
        resident_demo,
        points_demo,
        onsite_demo,
    ):
        feature.seed(rng=rng, generated=generated is not None, echo=echo)
        db.session.commit()
    bulk_loaded.send(None)
    db.session.commit()
    bulletins_demo.seed(echo=echo)  # from the tallies just counted
    return counts
