"""The demo city's points scheme: the city's organization department's, for this year."""

from __future__ import annotations

import random

from sqlalchemy import select

from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.points.models import PointScheme

DEMO_SCHEME = {
    "per_hour": 10,
    "per_activity": 5,
    "per_report": 30,
    "grade_excellent": 60,
    "grade_good": 40,
    "grade_fair": 10,
    "grade_poor": 0,
    "per_whistle": 20,
    "star_1": 50,
    "star_2": 150,
    "star_3": 300,
    "star_4": 500,
    "star_5": 800,
}


def seed(*, rng: random.Random, generated: bool, echo=print) -> None:
    year = local_today().year
    if db.session.scalar(select(PointScheme.id).where(PointScheme.year == year)) is None:
        db.session.add(PointScheme(year=year, **DEMO_SCHEME))
        db.session.flush()
    echo(f"points scheme for {year}")
