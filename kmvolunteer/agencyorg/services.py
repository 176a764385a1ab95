"""What the agency's party organization reads: its agencies' and branches' figures of a year, as the tallies
count them (the same rule, the same shortfall), never counted again here."""

from __future__ import annotations

from kmvolunteer.org.models import Agency, Area
from kmvolunteer.tallies import services as tallies
from kmvolunteer.tallies.services import GroupRow


def agencies_overview(year: int, agencies: list[Agency], areas: list[Area]) -> list[GroupRow]:
    """One row of figures per agency: those named, and every agency with members under the areas given."""
    rows: dict[int, GroupRow] = {}
    for area in areas:
        rows.update((row.key, row) for row in tallies.agencies_under(year, area))
    for agency in agencies:
        if agency.id not in rows:
            total = tallies.agency_rows(year, agency)[1]
            total.kind = "agency"
            rows[agency.id] = total
    return sorted(rows.values(), key=lambda row: row.name)
