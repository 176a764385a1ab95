"""Drafting, refreshing, editing and publishing a bulletin (通报).

The figures come from the tallies, never counted again here: the agencies' rows of ``agencies_under`` (one
grouped query), the branches of ``branch_shortfalls`` and the members of ``member_rows`` (each standing
decided by years/standing.py), so a bulletin agrees with the tally pages of the same moment. They are frozen
into the bulletin when its draft is generated; "refresh figures" reads them again, while it is a draft.

The period is a year: the tallies count a member's year (a half-year has no figures of its own). The year
may be the current one (its figures so far) or a past one (a closed year's snapshot), never one still to
come; and it must have a year rule covering the area (without one, nobody can be said to fall short) and
members to count. Once published, a bulletin is numbered (第N号 of its area and year) and never changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from kmvolunteer.auth.models import User
from kmvolunteer.bulletins.models import (
    BULLETINS,
    Bulletin,
    BulletinExample,
    BulletinShortfall,
    BulletinUnit,
)
from kmvolunteer.core import audit
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.ranking import shared_ranks
from kmvolunteer.core.time import local_today, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area, Branch
from kmvolunteer.tallies import services as tallies
from kmvolunteer.tallies.services import GroupRow
from kmvolunteer.years.rules import YEAR_MIN, RuleBook

TITLE_MAX, ISSUER_MAX, TEXT_MAX, EXAMPLE_MAX, EXAMPLES_MAX = 100, 60, 4000, 500, 30


@dataclass
class Text:
    """The words of a bulletin its department writes."""

    title: str
    issuer: str
    preamble: str
    closing: str


def default_text(area: Area, year: int) -> Text:
    return Text(
        title=_("Bulletin on the double report-in work of %(year)d", year=year),
        issuer=_("Organization Department of the CPC %(area)s Committee", area=area.name),
        preamble=_(
            "In line with the year's requirements of the double report-in work, the report-in and service of "
            "the on-duty party members of the agencies of %(area)s in %(year)d are bulletined as follows.",
            area=area.name,
            year=year,
        ),
        closing=_(
            "Units that fell short are to take measures and report their corrections; the results are used "
            "in the annual review of party members and in the selection of outstanding members."
        ),
    )


def check_period(area: Area, year: int) -> None:
    """Refuse a bulletin for an area or a year that has nothing to bulletin (ServiceError, nothing changed)."""
    if area.level not in ("city", "district"):
        raise ServiceError(_("Bulletins are issued for the city or a district."), "area_id")
    if not area.active:
        raise ServiceError(_("%(area)s is closed: it issues no bulletins.", area=area.name), "area_id")
    if year > local_today().year:
        raise ServiceError(_("%(year)d has not begun: there are no figures to bulletin yet.", year=year), "year")
    if year < YEAR_MIN:
        raise ServiceError(_("There are no figures for %(year)d.", year=year), "year")
    if RuleBook(year).for_path(area.path) is None:
        raise ServiceError(
            _(
                "No year rule covers %(area)s in %(year)d, so nobody can be said to fall short. Set the year's "
                "rule first.",
                area=area.name,
                year=year,
            ),
            "year",
        )


def draft(area: Area, year: int, actor: User, *, name_members: bool) -> Bulletin:
    """A new draft bulletin for ``area`` and ``year`` with the tallies' figures of this moment."""
    check_period(area, year)
    figures = read_figures(area, year, name_members=name_members)
    text = default_text(area, year)
    bulletin = Bulletin(
        area=area,
        year=year,
        title=text.title,
        issuer=text.issuer,
        preamble=text.preamble,
        closing=text.closing,
        name_members=name_members,
        created_by_id=actor.id,
    )
    db.session.add(bulletin)
    db.session.flush()
    _freeze(bulletin, figures)
    audit.record(
        "bulletin.drafted",
        bulletin,
        scope_path=area.path,
        summary=f"{area.name} {year}",
        after={"year": year, "name_members": name_members},
        actor_id=actor.id,
    )
    return bulletin


def refresh(bulletin: Bulletin, actor: User, *, name_members: bool) -> None:
    """Read the draft's figures again (the period is checked again: a rule may have been removed)."""
    _draft_only(bulletin)
    check_period(bulletin.area, bulletin.year)
    figures = read_figures(bulletin.area, bulletin.year, name_members=name_members)
    before = {"figures_at": bulletin.figures_at, "name_members": bulletin.name_members}
    bulletin.name_members = name_members
    _freeze(bulletin, figures)
    audit.record(
        "bulletin.refreshed",
        bulletin,
        scope_path=bulletin.area.path,
        summary=bulletin.title,
        before=before,
        after={"figures_at": bulletin.figures_at, "name_members": name_members},
        actor_id=actor.id,
    )


def ranked_units(rows: list[GroupRow]) -> list[dict]:
    """The agencies with members, each with its rank by report-in rate and by approved hours per member (the
    better first; equal figures share a rank), in the order of the first ranking."""
    counted = [row for row in rows if row.headcount]

    def rate(row: GroupRow) -> Fraction:
        return Fraction(int(row.reported_in), int(row.headcount))  # (PostgreSQL's sums are decimals)

    def hours(row: GroupRow) -> Fraction:
        return Fraction(int(row.half_hours), 2 * int(row.headcount))

    by_hours = sorted(counted, key=lambda row: (-hours(row), row.name))
    hours_rank = {row.key: rank for row, rank in zip(by_hours, shared_ranks(by_hours, hours), strict=True)}
    by_rate = sorted(counted, key=lambda row: (-rate(row), -hours(row), row.name))
    return [
        {
            "position": position,
            "agency_id": row.key,
            "name": row.name,
            "headcount": int(row.headcount),
            "reported_in": int(row.reported_in),
            "half_hours": int(row.half_hours),
            "rate_rank": rank,
            "hours_rank": hours_rank[row.key],
        }
        for position, (row, rank) in enumerate(zip(by_rate, shared_ranks(by_rate, rate), strict=True))
    ]


@dataclass
class Figures:
    """The rows to freeze into a bulletin: its ranked agencies, and the branches and members it names."""

    units: list[dict]
    shortfalls: list[dict]


def read_figures(area: Area, year: int, *, name_members: bool) -> Figures:
    """The tallies' figures of this moment: a few grouped queries, whatever the number of agencies. Refused
    when no agency of the area has members to count."""
    units = ranked_units(tallies.agencies_under(year, area))
    if not units:
        raise ServiceError(
            _("No agency of %(area)s has members to count in %(year)d: there is nothing to bulletin.", area=area.name,
              year=year),
            "area_id",
        )  # fmt: skip
    shortfalls = [
        {"kind": "branch", "branch_id": row.branch_id, "agency": row.agency, "branch": row.branch, "member": "",
         "member_id": None, "reasons": BulletinShortfall.encode(row.standing.reasons)}
        for row in tallies.branch_shortfalls(year, area)
        if row.standing.named_in_bulletin
    ]  # fmt: skip
    if name_members:
        shortfalls += [
            {"kind": "member", "branch_id": row.branch_id, "agency": row.agency, "branch": row.branch,
             "member": row.name, "member_id": row.member_id, "reasons": BulletinShortfall.encode(row.standing.reasons)}
            for row in tallies.member_rows(year, employer_area=area, shortfall_only=True)
            if row.standing is not None and row.standing.named_in_bulletin
        ]  # fmt: skip
    return Figures(units, shortfalls)


def _freeze(bulletin: Bulletin, figures: Figures) -> None:
    """Replace the bulletin's figures: two deletes and two bulk inserts."""
    for table in (BulletinUnit, BulletinShortfall):
        db.session.execute(delete(table).where(table.bulletin_id == bulletin.id))
    db.session.execute(insert(BulletinUnit), [{**row, "bulletin_id": bulletin.id} for row in figures.units])
    if figures.shortfalls:
        db.session.execute(
            insert(BulletinShortfall),
            [{**row, "position": index, "bulletin_id": bulletin.id} for index, row in enumerate(figures.shortfalls)],
        )
    bulletin.figures_at = utcnow()
    db.session.expire(bulletin, ["units", "shortfalls"])


def _draft_only(bulletin: Bulletin) -> None:
    if not bulletin.draft:
        raise ServiceError(_("This bulletin is published and can no longer be changed; nothing was changed."))


def _clean(value: str | None, limit: int, field: str, label: str, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ServiceError(_("Enter the %(what)s.", what=label), field)
    if len(text) > limit:
        raise ServiceError(_("Keep the %(what)s under %(limit)d characters.", what=label, limit=limit), field)
    return text


def edit_text(bulletin: Bulletin, actor: User, text: Text) -> None:
    _draft_only(bulletin)
    cleaned = Text(
        title=_clean(text.title, TITLE_MAX, "title", _("title")),
        issuer=_clean(text.issuer, ISSUER_MAX, "issuer", _("issuing department")),
        preamble=_clean(text.preamble, TEXT_MAX, "preamble", _("preamble"), required=False),
        closing=_clean(text.closing, TEXT_MAX, "closing", _("closing"), required=False),
    )
    before = {name: getattr(bulletin, name) for name in cleaned.__dict__}
    changed = {name: value for name, value in cleaned.__dict__.items() if before[name] != value}
    for name, value in changed.items():
        setattr(bulletin, name, value)
    if changed:
        audit.record(
            "bulletin.edited",
            bulletin,
            scope_path=bulletin.area.path,
            summary=bulletin.title,
            before={name: before[name] for name in changed},
            after=changed,
            actor_id=actor.id,
        )


def _under(area: Area):
    return Area.path.startswith(area.path, autoescape=True)


def add_example(
    bulletin: Bulletin,
    actor: User,
    *,
    text: str,
    agency_id: int | None = None,
    branch_id: int | None = None,
    name: str = "",
) -> BulletinExample:
    """A good example: a branch or an agency of the bulletin's area (named as it is now), or a free title."""
    _draft_only(bulletin)
    sentence = _clean(text, EXAMPLE_MAX, "text", _("sentence"))
    if len(bulletin.examples) >= EXAMPLES_MAX:
        raise ServiceError(_("A bulletin holds at most %(count)d good examples.", count=EXAMPLES_MAX))
    if branch_id is not None:
        found = db.session.execute(
            select(Branch.id, Branch.name, Agency.id, Agency.name)
            .join(Agency, Branch.agency_id == Agency.id)
            .join(Area, Agency.area_id == Area.id)
            .where(Branch.id == branch_id, Branch.active, _under(bulletin.area))
        ).one_or_none()
        if found is None:
            raise ServiceError(_("Choose a branch of an agency of %(area)s.", area=bulletin.area.name), "branch_id")
        agency_id, title = found[2], f"{found[3]} {found[1]}"
    elif agency_id is not None:
        title = db.session.scalar(
            select(Agency.name)
            .join(Area, Agency.area_id == Area.id)
            .where(Agency.id == agency_id, _under(bulletin.area))
        )
        if title is None:
            raise ServiceError(_("Choose an agency of %(area)s.", area=bulletin.area.name), "agency_id")
    else:
        title = _clean(name, 100, "name", _("unit or title of the example"))
    position = 1 + max((example.position for example in bulletin.examples), default=0)
    example = BulletinExample(
        bulletin=bulletin, position=position, agency_id=agency_id, branch_id=branch_id, name=title, text=sentence
    )
    db.session.add(example)
    audit.record(
        "bulletin.example_added",
        bulletin,
        scope_path=bulletin.area.path,
        summary=f"{title}: {sentence}",
        after={"name": title, "text": sentence},
        actor_id=actor.id,
    )
    return example


def remove_example(bulletin: Bulletin, actor: User, example_id: int | None) -> None:
    _draft_only(bulletin)
    example = next((e for e in bulletin.examples if e.id == example_id), None)
    if example is None:
        raise ServiceError(_("That example is not in this bulletin."))
    bulletin.examples.remove(example)
    audit.record(
        "bulletin.example_removed",
        bulletin,
        scope_path=bulletin.area.path,
        summary=example.name,
        before={"name": example.name, "text": example.text},
        actor_id=actor.id,
    )


def delete_draft(bulletin: Bulletin, actor: User) -> None:
    """A draft may be thrown away; a published bulletin never."""
    _draft_only(bulletin)
    audit.record(
        "bulletin.deleted",
        bulletin,
        scope_path=bulletin.area.path,
        summary=bulletin.title,
        before={"title": bulletin.title, "year": bulletin.year},
        actor_id=actor.id,
    )
    db.session.delete(bulletin)


def serial_of(area_id: int, year: int, number: int) -> str:
    """The ASCII serial printed beside 第N号: TB, the year, the area's id and the number."""
    return f"TB{year}-{area_id}-{number:03d}"


def publish(bulletin: Bulletin, actor: User) -> None:
    """Number the draft (the next 第N号 of its area and year) and publish it; it never changes again."""
    number = 1 + (
        db.session.scalar(
            select(func.max(Bulletin.number)).where(
                Bulletin.area_id == bulletin.area_id, Bulletin.year == bulletin.year
            )
        )
        or 0
    )
    serial = serial_of(bulletin.area_id, bulletin.year, number)
    try:
        with db.session.begin_nested():
            BULLETINS.perform(
                bulletin,
                "publish",
                actor_id=actor.id,
                scope_path=bulletin.area.path,
                summary=f"{bulletin.title} {serial}",
                values={"number": number, "serial": serial, "published_at": utcnow(), "published_by_id": actor.id},
                after={"number": number, "serial": serial},
            )
    except IntegrityError as error:  # another bulletin of the area took the number a moment ago
        raise ServiceError(_("Another bulletin was published at the same moment. Publish again.")) from error
