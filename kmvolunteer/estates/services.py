"""A community's grids (网格, each with its grid leader) and estates (小区, in a grid, with their party
branch), kept by the community's secretaries; and a reported-in member's home in the community (estate,
grid) with the households they keep in touch with (联系户: a count and a note, no residents' data).

Never touches ``request``; refusals are ServiceErrors and change nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kmvolunteer.core import audit
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.text import checked_text, parse_id
from kmvolunteer.estates.red_property import company_named
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Estate, Grid
from kmvolunteer.reportin.models import ReportIn

NAME_MAX, LEADER_MAX, BRANCH_MAX, NOTE_MAX = 50, 50, 100, 200
HOUSEHOLDS_MAX = 200


@dataclass
class GridRow:
    """A grid (or, with ``grid`` None, the estates in no grid) with its estates and who lives there."""

    grid: Grid | None
    estates: list[Estate] = field(default_factory=list)
    members: int = 0
    households: int = 0


def grids(community: Area, *, active_only: bool = True) -> list[Grid]:
    stmt = select(Grid).where(Grid.community_id == community.id).order_by(Grid.id)
    return list(db.session.scalars(stmt.where(Grid.active.is_(True)) if active_only else stmt))


def estates(community: Area, *, active_only: bool = True) -> list[Estate]:
    stmt = select(Estate).where(Estate.community_id == community.id).order_by(Estate.id)
    return list(db.session.scalars(stmt.where(Estate.active.is_(True)) if active_only else stmt))


def structure(community: Area) -> tuple[list[GridRow], Counter]:
    """The community's grids with their estates, members living there and contact households; and the
    members per estate id."""
    rows = {g.id: GridRow(g) for g in grids(community, active_only=False)}
    loose = GridRow(None)
    for estate in estates(community, active_only=False):
        rows.get(estate.grid_id, loose).estates.append(estate)
    per_estate: Counter = Counter()
    for grid_id, estate_id, members, households in db.session.execute(
        select(ReportIn.grid_id, ReportIn.estate_id, func.count(), func.sum(ReportIn.contact_households))
        .where(ReportIn.community_id == community.id, ReportIn.kind == "member", ReportIn.status == "confirmed")
        .where(ReportIn.grid_id.is_not(None) | ReportIn.estate_id.is_not(None))
        .group_by(ReportIn.grid_id, ReportIn.estate_id)
    ):
        row = rows.get(grid_id, loose)
        row.members += members
        row.households += int(households or 0)
        if estate_id is not None:
            per_estate[estate_id] += members
    return [*rows.values(), *([loose] if loose.estates or loose.members else [])], per_estate


def _flush_unique(message: str) -> None:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ServiceError(message, "name") from None


def _grid_of(community: Area, raw) -> Grid | None:
    """The community's active grid chosen by ``raw`` (an id, or empty for none)."""
    if raw in (None, ""):
        return None
    grid = db.session.get(Grid, parse_id(raw) or 0)
    if grid is None or grid.community_id != community.id or not grid.active:
        raise ServiceError(_("Choose one of this community's grids."), "grid_id")
    return grid


def save_grid(
    community: Area, grid: Grid | None, name: str, leader: str, *, active: bool = True, actor_id: int | None
) -> Grid:
    """Add a grid to ``community`` (``grid`` None) or change one of its grids."""
    name = checked_text(name, "name", NAME_MAX, _("Name the grid."))
    leader = checked_text(leader, "leader", LEADER_MAX, None)
    before = None if grid is None else {"name": grid.name, "leader": grid.leader, "active": grid.active}
    if grid is None:
        grid = Grid(community_id=community.id)
        db.session.add(grid)
    grid.name, grid.leader, grid.active = name, leader, active
    _flush_unique(_("This community already has a grid called %(name)s.", name=name))
    audit.record(
        "grid.saved",
        grid,
        scope_path=community.path,
        summary=f"{community.name} {name}",
        before=before,
        after={"name": name, "leader": leader, "active": active},
        actor_id=actor_id,
    )
    return grid


def save_estate(
    community: Area,
    estate: Estate | None,
    name: str,
    grid_id,
    party_branch: str,
    *,
    property_company: str = "",
    active: bool = True,
    actor_id: int | None,
) -> Estate:
    """Add an estate to ``community`` (``estate`` None) or change one of its estates."""
    name = checked_text(name, "name", NAME_MAX, _("Name the estate."))
    party_branch = checked_text(party_branch, "party_branch", BRANCH_MAX, None)
    grid = _grid_of(community, grid_id)
    company = company_named(community, property_company)
    before = (
        None
        if estate is None
        else {
            "name": estate.name,
            "grid_id": estate.grid_id,
            "party_branch": estate.party_branch,
            "active": estate.active,
        }
    )
    if estate is None:
        estate = Estate(community_id=community.id)
        db.session.add(estate)
    estate.name, estate.grid_id, estate.party_branch, estate.active = (
        name,
        grid.id if grid else None,
        party_branch,
        active,
    )
    estate.property_company_id = company.id if company else None
    _flush_unique(_("This community already has an estate called %(name)s.", name=name))
    audit.record(
        "estate.saved",
        estate,
        scope_path=community.path,
        summary=f"{community.name} {name}",
        before=before,
        after={"name": name, "grid_id": estate.grid_id, "party_branch": party_branch, "active": active},
        actor_id=actor_id,
    )
    return estate


def set_home(report_in: ReportIn, estate_id, grid_id, households, note: str, *, actor_id: int | None) -> None:
    """Where the member of a confirmed report-in lives in its community, and their contact households. An
    estate in a grid puts the member in that grid."""
    if report_in.kind != "member" or report_in.status != "confirmed":
        raise ServiceError(_("Only a confirmed report-in to a community has a home there."))
    community = report_in.community
    estate = None
    if estate_id not in (None, ""):
        estate = db.session.get(Estate, parse_id(estate_id) or 0)
        if estate is None or estate.community_id != community.id or not estate.active:
            raise ServiceError(_("Choose one of this community's estates."), "estate_id")
    grid = _grid_of(community, grid_id)
    if estate is not None and estate.grid_id is not None:
        if grid is not None and grid.id != estate.grid_id:
            raise ServiceError(_("%(estate)s is in another grid.", estate=estate.name), "grid_id")
        grid = estate.grid
    count = parse_id(households) if str(households or "").strip() not in ("", "0") else 0
    if count is None or count > HOUSEHOLDS_MAX:
        raise ServiceError(_("Contact households: a number from 0 to %(num)d.", num=HOUSEHOLDS_MAX), "households")
    note = checked_text(note, "note", NOTE_MAX, None)
    before = {
        "estate_id": report_in.estate_id,
        "grid_id": report_in.grid_id,
        "contact_households": report_in.contact_households,
    }
    report_in.estate_id = estate.id if estate else None
    report_in.grid_id = grid.id if grid else None
    report_in.contact_households, report_in.contact_note = count, note
    db.session.flush()
    audit.record(
        "report_in.home_set",
        report_in,
        scope_path=community.path,
        summary=community.name,
        before=before,
        after={"estate_id": report_in.estate_id, "grid_id": report_in.grid_id, "contact_households": count},
        actor_id=actor_id,
    )
