"""红色物业: property companies serve a community's estates; once a year the community rates each one on the
six criteria (1–5 each, with a comment), and so does the party branch of each estate it serves there (its
rating entered by the community's secretary). The district lists the companies rated in its communities
with their averages and the brand tier its year rule sets (市级 / 县区级 品牌); printable."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from kmvolunteer.core import audit
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.text import checked_text, parse_id
from kmvolunteer.core.time import local_today, utcnow
from kmvolunteer.estates.models import CRITERIA, PropertyRating
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Estate, PropertyCompany
from kmvolunteer.years.models import year_is_closed
from kmvolunteer.years.rules import RuleBook

TIERS = {"city": _l("City-level brand"), "district": _l("District-level brand")}


def district_of(community: Area) -> Area | None:
    return next((a for a in community.ancestors() if a.level == "district"), None)


def company_named(community: Area, name: str) -> PropertyCompany | None:
    """The district's property company called ``name`` (added the first time it is named); None for ""."""
    name = checked_text(name, "property_company", 100, None)
    district = district_of(community)
    if not name or district is None:
        return None
    found = db.session.scalar(
        select(PropertyCompany).where(PropertyCompany.district_id == district.id, PropertyCompany.name == name)
    )
    if found is None:
        found = PropertyCompany(district_id=district.id, name=name)
        db.session.add(found)
        db.session.flush()
    return found


@dataclass
class CompanyRow:
    """A company serving estates of the community, with the year's ratings (the community's, by estate)."""

    company: PropertyCompany
    estates: list[Estate] = field(default_factory=list)
    ratings: dict[int | None, PropertyRating] = field(default_factory=dict)


def companies_of(community: Area, year: int) -> list[CompanyRow]:
    rows: dict[int, CompanyRow] = {}
    for estate in db.session.scalars(
        select(Estate)
        .where(Estate.community_id == community.id, Estate.active.is_(True), Estate.property_company_id.is_not(None))
        .order_by(Estate.id)
    ):
        rows.setdefault(estate.property_company_id, CompanyRow(estate.property_company)).estates.append(estate)
    for rating in db.session.scalars(
        select(PropertyRating).where(
            PropertyRating.community_id == community.id,
            PropertyRating.year == year,
            PropertyRating.company_id.in_(rows),
        )
    ):
        rows[rating.company_id].ratings[rating.estate_id] = rating
    return sorted(rows.values(), key=lambda row: row.company.name)


def _scores(raw: dict) -> dict[str, int]:
    scores = {}
    for name, label in CRITERIA.items():
        value = parse_id(raw.get(name))
        if value is None or not 1 <= value <= 5:
            raise ServiceError(_("Score %(criterion)s from 1 to 5.", criterion=label), name)
        scores[name] = value
    return scores


def rate_company(
    community: Area, company_id, year: int, estate_id, raw_scores: dict, comment: str, *, actor_id: int | None
) -> PropertyRating:
    """The community's rating of a company serving its estates (``estate_id`` empty), or an estate branch's
    rating (the estate, served by the company here); given again, it changes (audited)."""
    row = next((r for r in companies_of(community, year) if r.company.id == parse_id(company_id)), None)
    if row is None:
        raise ServiceError(_("Choose a property company serving this community's estates."), "company_id")
    estate = None
    if estate_id not in (None, ""):
        estate = next((e for e in row.estates if e.id == parse_id(estate_id)), None)
        if estate is None:
            raise ServiceError(_("Choose an estate the company serves here."), "estate_id")
    if year > local_today().year:
        raise ServiceError(_("%(year)d has not started yet.", year=year))
    if year_is_closed(year):
        raise ServiceError(_("%(year)d is closed: its ratings can no longer change.", year=year))
    scores = _scores(raw_scores)
    comment = checked_text(comment, "comment", 500, None)
    existing = row.ratings.get(estate.id if estate else None)
    if existing is None:
        rating = PropertyRating(
            company_id=row.company.id,
            year=year,
            community_id=community.id,
            estate_id=estate.id if estate else None,
            comment=comment,
            rated_by_id=actor_id,
            **scores,
        )
        db.session.add(rating)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            raise ServiceError(_("Someone rated this company at the same moment; reload the page to see it.")) from None
        before = None
    else:
        before = {name: getattr(existing, name) for name in CRITERIA} | {"comment": existing.comment}
        db.session.execute(
            update(PropertyRating)
            .where(PropertyRating.id == existing.id)
            .values(comment=comment, rated_by_id=actor_id, rated_at=utcnow(), **scores)
            .execution_options(synchronize_session=False)
        )
        db.session.refresh(existing)
        rating = existing
    audit.record(
        "property.rated",
        rating,
        scope_path=community.path,
        summary=f"{row.company.name} {year} {estate.name if estate else community.name}"[:255],
        before=before,
        after=scores | {"comment": comment},
        actor_id=actor_id,
    )
    return rating


@dataclass
class DistrictRow:
    company: PropertyCompany
    ratings: int
    averages: dict[str, float]
    total: float  # the average total, of 30
    tier: str | None


def district_list(district: Area, year: int) -> list[DistrictRow]:
    """The district's property companies rated in ``year``, best first, with the tier the year rule gives."""
    rule = RuleBook(year).for_path(district.path)
    by_company: dict[int, list[PropertyRating]] = {}
    for rating in db.session.scalars(
        select(PropertyRating)
        .join(PropertyCompany, PropertyRating.company_id == PropertyCompany.id)
        .where(PropertyCompany.district_id == district.id, PropertyRating.year == year)
    ):
        by_company.setdefault(rating.company_id, []).append(rating)
    rows = []
    for ratings in by_company.values():
        averages = {name: sum(getattr(r, name) for r in ratings) / len(ratings) for name in CRITERIA}
        total = sum(averages.values())
        tier = None
        if rule is not None and rule.brand_city_min is not None and total >= rule.brand_city_min:
            tier = "city"
        elif rule is not None and rule.brand_district_min is not None and total >= rule.brand_district_min:
            tier = "district"
        rows.append(DistrictRow(ratings[0].company, len(ratings), averages, total, tier))
    return sorted(rows, key=lambda row: (-row.total, row.company.name))
