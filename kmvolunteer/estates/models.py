"""红色物业: a community's yearly rating of a property company on the six criteria, by the community itself
and by the party branch of each estate the company serves there (entered by the community's secretary)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Estate, PropertyCompany

# 领导班子好、党员队伍好、工作机制好、共建成效好、服务质量好、群众反映好
CRITERIA = {
    "leadership": _l("Leadership (领导班子好)"),
    "members": _l("Party members (党员队伍好)"),
    "mechanism": _l("Working mechanism (工作机制好)"),
    "cobuilding": _l("Co-building results (共建成效好)"),
    "service": _l("Service quality (服务质量好)"),
    "residents": _l("Residents' view (群众反映好)"),
}


class PropertyRating(db.Model):
    __tablename__ = "property_rating"
    __table_args__ = (
        UniqueConstraint("company_id", "year", "community_id", "estate_id", name="uq_property_rating"),
        # NULLs differ in a unique constraint: the community's own rating (no estate) is one per year too.
        Index(
            "uq_property_rating_community",
            "company_id",
            "year",
            "community_id",
            unique=True,
            sqlite_where=text("estate_id IS NULL"),
            postgresql_where=text("estate_id IS NULL"),
        ),
        *(CheckConstraint(f"{name} BETWEEN 1 AND 5", name=f"{name}_range") for name in CRITERIA),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("property_company.id"), index=True)
    year: Mapped[int]
    community_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    # The estate whose party branch rates (None: the community's own rating).
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id"))
    leadership: Mapped[int]
    members: Mapped[int]
    mechanism: Mapped[int]
    cobuilding: Mapped[int]
    service: Mapped[int]
    residents: Mapped[int]
    comment: Mapped[str] = mapped_column(String(500), default="")
    rated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    rated_at: Mapped[datetime] = mapped_column(default=utcnow)

    company: Mapped[PropertyCompany] = relationship()
    community: Mapped[Area] = relationship()
    estate: Mapped[Estate | None] = relationship()

    @property
    def total(self) -> int:
        return sum(getattr(self, name) for name in CRITERIA)
