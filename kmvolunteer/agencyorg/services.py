"""What the agency's party organization reads: its agencies' and branches' figures of a year, as the tallies
count them (the same rule, the same shortfall), never counted again here. Agencies and branches with nobody
to count are listed too, with zeros: a unit that has not started is what these readers look for first."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import or_, select

from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area
from kmvolunteer.tallies import services as tallies
from kmvolunteer.tallies.services import GroupRow


def agencies_overview(year: int, agencies: list[Agency], areas: list[Area]) -> list[GroupRow]:
    """One row of figures per agency: those named, and every active agency administered under the areas."""
    rows: dict[int, GroupRow] = {}
    for area in areas:
        rows.update((row.key, row) for row in tallies.agencies_under(year, area))
    for agency in agencies:
        if agency.id not in rows:
            rows[agency.id] = replace(tallies.agency_rows(year, agency)[1], kind="agency")
    if areas:
        under = or_(*(Area.path.startswith(area.path, autoescape=True) for area in areas))
        stmt = select(Agency.id, Agency.name).join(Area, Agency.area_id == Area.id).where(Agency.active, under)
        for agency_id, name in db.session.execute(stmt):
            rows.setdefault(agency_id, GroupRow(agency_id, name, "agency"))
    return sorted(rows.values(), key=lambda row: row.name)


def agency_branches(year: int, agency: Agency) -> tuple[list[GroupRow], GroupRow]:
    """The agency's active branches with their figures (zeros for a branch with nobody to count), and its total."""
    rows, total = tallies.agency_rows(year, agency)
    counted = {row.key for row in rows}
    empty = [GroupRow(b.id, b.name, "branch") for b in agency.branches if b.active and b.id not in counted]
    order = {b.id: index for index, b in enumerate(agency.branches)}
    return sorted(rows + empty, key=lambda row: order.get(row.key, len(order))), total
