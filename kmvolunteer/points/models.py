"""积分方案: what each kind of counted work is worth in a service year, and the points each star needs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db

# The points of each kind of counted work, in the order the form and the page show them.
RATES = (
    "per_hour",
    "per_activity",
    "per_report",
    "grade_excellent",
    "grade_good",
    "grade_fair",
    "grade_poor",
    "per_whistle",
)
STARS = ("star_1", "star_2", "star_3", "star_4", "star_5")
MAX_VALUE = 100_000


class PointScheme(db.Model):
    """积分方案 of one service year, set by the city's organization department (a year without one uses
    points.services.DEFAULT). Nothing is stored per member: points are computed from the tallies' facts."""

    __tablename__ = "point_scheme"
    __table_args__ = (
        CheckConstraint(
            " AND ".join(f"{name} BETWEEN 0 AND {MAX_VALUE}" for name in RATES + STARS), name="values_in_range"
        ),
        CheckConstraint(
            "star_1 < star_2 AND star_2 < star_3 AND star_3 < star_4 AND star_4 < star_5", name="stars_increasing"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    per_hour: Mapped[int]
    per_activity: Mapped[int]
    per_report: Mapped[int]
    grade_excellent: Mapped[int]
    grade_good: Mapped[int]
    grade_fair: Mapped[int]
    grade_poor: Mapped[int]
    per_whistle: Mapped[int]
    star_1: Mapped[int]
    star_2: Mapped[int]
    star_3: Mapped[int]
    star_4: Mapped[int]
    star_5: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
