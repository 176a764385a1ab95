"""单位评价: once a year the community rates each branch that reported in to it (优秀 / 良好 / 一般 / 较差,
with a comment) on its co-building agreement, the projects it carried out and its members' part.

The rows show what the rating rests on, counted as the branch's year report counts it (members reported in,
their approved service here, projects done). Never touches ``request``; refusals are ServiceErrors and
change nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from kmvolunteer.auth.models import User
from kmvolunteer.auth.policy import About, can
from kmvolunteer.core import audit
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import local_today, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area, Branch
from kmvolunteer.reportin.models import Project, ReportIn
from kmvolunteer.reports.models import UnitRating, UnitRatingLevel
from kmvolunteer.reports.services import (
    approved_figures,
    community_members,
    done_between,
    flush_or_refuse,
    reported_in_between,
)
from kmvolunteer.years.models import year_is_closed
from kmvolunteer.years.rules import period_bounds

UNIT_RATING_LABELS = {
    UnitRatingLevel.excellent.value: _l("Excellent"),
    UnitRatingLevel.good.value: _l("Good"),
    UnitRatingLevel.average.value: _l("Average"),
    UnitRatingLevel.poor.value: _l("Poor"),
}
COMMENT_MAX = 500


@dataclass
class UnitRow:
    """A branch that reported in to the community during the year, what its rating rests on, and the rating."""

    branch: Branch
    report_in: ReportIn
    members: int = 0
    half_hours: int = 0
    entries: int = 0
    projects_done: int = 0
    rating: UnitRating | None = None


def _branch_report_ins(community: Area, year: int, branch: Branch | None = None) -> list[ReportIn]:
    """The community's branch report-ins in force at some moment of the year, the latest per branch."""
    start, end = period_bounds(year, "Y")
    stmt = (
        select(ReportIn)
        .join(Branch, ReportIn.branch_id == Branch.id)
        .join(Agency, Branch.agency_id == Agency.id)
        .where(ReportIn.community_id == community.id, reported_in_between(start, end, kind="branch"))
        .options(selectinload(ReportIn.branch).selectinload(Branch.agency))
        .order_by(Agency.name, Branch.name, ReportIn.id)
    )
    if branch is not None:
        stmt = stmt.where(ReportIn.branch_id == branch.id)
    return list({ri.branch_id: ri for ri in db.session.scalars(stmt)}.values())


def unit_rows(community: Area, year: int, branch: Branch | None = None) -> list[UnitRow]:
    """Every branch reported in to ``community`` during ``year`` (or just ``branch``), with its figures."""
    rows = {ri.branch_id: UnitRow(ri.branch, ri) for ri in _branch_report_ins(community, year, branch)}
    if not rows:
        return []
    start, end = period_bounds(year, "Y")
    members = [m for m in community_members(community, start, end) if m.branch_id in rows]
    figures = approved_figures([m.id for m in members], start, end, community_id=community.id)
    for member in members:
        row = rows[member.branch_id]
        half_hours, entries = figures.get(member.id, (0, 0))
        row.members += 1
        row.half_hours += half_hours
        row.entries += entries
    done = Counter(
        db.session.scalars(
            select(Project.branch_id).where(
                Project.community_id == community.id, Project.branch_id.in_(rows), done_between(start, end)
            )
        )
    )
    for rating in db.session.scalars(
        select(UnitRating).where(
            UnitRating.community_id == community.id, UnitRating.year == year, UnitRating.branch_id.in_(rows)
        )
    ):
        rows[rating.branch_id].rating = rating
    for branch_id, row in rows.items():
        row.projects_done = done[branch_id]
    return list(rows.values())


def ratings_received(branch: Branch, year: int) -> list[UnitRating]:
    """The ratings the branch was given for ``year``, by community."""
    return list(
        db.session.scalars(
            select(UnitRating)
            .join(Area, UnitRating.community_id == Area.id)
            .where(UnitRating.branch_id == branch.id, UnitRating.year == year)
            .options(selectinload(UnitRating.community))
            .order_by(Area.name)
        )
    )


def _data(r: UnitRating) -> dict:
    return {"rating": r.rating, "comment": r.comment}


def rate_unit(
    community: Area,
    branch: Branch,
    year: int,
    rating: str,
    comment: str = "",
    *,
    actor_id: int | None = None,
    today: date | None = None,
) -> tuple[UnitRating, bool]:
    """Rate ``branch`` for ``year``, or change its rating; returns (rating, changed). 较差 needs a comment."""
    today = today or local_today()
    rating, comment = (rating or "").strip(), (comment or "").strip()
    if rating not in UNIT_RATING_LABELS:
        raise ServiceError(_("Choose a rating."), "rating")
    actor = db.session.get(User, actor_id) if actor_id is not None else None
    if actor is not None and not can(actor, "unit_rating.rate", About(community, branch=branch)):
        raise ServiceError(_("You cannot rate your own branch; another secretary must."), "rating")
    if len(comment) > COMMENT_MAX:
        raise ServiceError(_("Comments and reasons can be at most %(num)d characters.", num=COMMENT_MAX), "comment")
    if rating == UnitRatingLevel.poor.value and not comment:
        raise ServiceError(_("Say in the comment why the branch is rated “Poor”."), "comment")
    if year > today.year:
        raise ServiceError(_("%(year)d has not started yet.", year=year))
    if year_is_closed(year):
        raise ServiceError(_("%(year)d is closed: its ratings can no longer change.", year=year))
    if not _branch_report_ins(community, year, branch):
        raise ServiceError(
            _(
                "%(branch)s did not report in to %(community)s in %(year)d; only branches that reported in are rated.",
                branch=branch.full_name(),
                community=community.name,
                year=year,
            )
        )
    existing = db.session.scalar(
        select(UnitRating).where(
            UnitRating.community_id == community.id, UnitRating.branch_id == branch.id, UnitRating.year == year
        )
    )
    summary = f"{branch.full_name()} {year}"[:255]
    if existing is None:
        unit_rating = UnitRating(
            community_id=community.id,
            branch_id=branch.id,
            year=year,
            rating=rating,
            comment=comment,
            rated_by_id=actor_id,
            rated_at=utcnow(),
        )
        db.session.add(unit_rating)
        flush_or_refuse(_("Someone rated this branch at the same moment; reload the page to see it."))
        audit.record(
            "unit_rating.rated",
            unit_rating,
            scope_path=community.path,
            actor_id=actor_id,
            summary=summary,
            after=_data(unit_rating),
        )
        return unit_rating, True
    if existing.rating == rating and existing.comment == comment:
        return existing, False
    before = _data(existing)
    done = db.session.execute(
        update(UnitRating)
        .where(
            UnitRating.id == existing.id, UnitRating.rating == existing.rating, UnitRating.comment == existing.comment
        )
        .values(rating=rating, comment=comment, rated_by_id=actor_id, rated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise ServiceError(_("Someone changed this rating at the same moment; reload the page to see it."))
    db.session.refresh(existing)
    audit.record(
        "unit_rating.changed",
        existing,
        scope_path=community.path,
        actor_id=actor_id,
        summary=summary,
        before=before,
        after=_data(existing),
    )
    return existing, True


def unrated_count(community: Area, year: int) -> int:
    """Branches reported in during ``year`` that the community has not rated yet."""
    branch_ids = [ri.branch_id for ri in _branch_report_ins(community, year)]
    rated = select(func.count(UnitRating.id)).where(
        UnitRating.community_id == community.id, UnitRating.year == year, UnitRating.branch_id.in_(branch_ids)
    )
    return len(branch_ids) - (db.session.scalar(rated) or 0)
