"""The columns of each tally table: shared by the page, the print view, XLSX and CSV."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from kmvolunteer.core.exports import Column
from kmvolunteer.tallies.services import RATINGS, GroupRow, MemberRow

RATING_LABELS = {
    "excellent": _l("Excellent"),
    "good": _l("Good"),
    "fair": _l("Fair"),
    "poor": _l("Poor"),
}


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value / 100, 4)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def group_columns(first_header: str) -> list[Column]:
    columns = [
        Column(first_header, lambda r: r.name, 28),
        Column(_l("Members"), lambda r: r.headcount, 9, "0"),
        Column(_l("Reported in"), lambda r: r.reported_in, 9, "0"),
        Column(_l("Report-in rate"), lambda r: _pct(r.report_in_rate), 10, "0.0%"),
        Column(_l("Hours"), lambda r: r.hours, 10, "0.0"),
        Column(_l("Average hours"), lambda r: _round(r.average_hours), 10, "0.0"),
        Column(_l("Meet the rule"), lambda r: r.compliant, 9, "0"),
        Column(_l("Compliance rate"), lambda r: _pct(r.compliance_rate), 10, "0.0%"),
        Column(_l("Reports submitted"), lambda r: r.reports, 9, "0"),
    ]
    for rating in RATINGS:
        columns.append(Column(RATING_LABELS[rating], lambda r, key=rating: r.ratings.get(key, 0), 7, "0"))
    return columns


def _shortfall(row: MemberRow) -> str:
    if row.compliant is None:
        return str(_l("No rule set"))
    parts = []
    if row.hours_short:
        parts.append(str(_l("%(h)s h short", h=f"{row.hours_short:g}")))
    if row.activities_short:
        parts.append(str(_l("%(n)d activities short", n=row.activities_short)))
    if row.report_missing:
        parts.append(str(_l("report missing")))
    return "；".join(parts)


def _meets(row: MemberRow) -> str:
    if row.compliant is None:
        return "—"
    return str(_l("Yes")) if row.compliant else str(_l("No"))


MEMBER_COLUMNS = [
    Column(_l("Name"), lambda r: r.name, 10),
    Column(_l("Agency"), lambda r: r.agency, 24),
    Column(_l("Branch"), lambda r: r.branch, 18),
    Column(_l("Reported in to"), lambda r: r.community or "—", 16),
    Column(_l("Approved hours"), lambda r: r.hours, 10, "0.0"),
    Column(_l("Activities"), lambda r: r.entries, 8, "0"),
    Column(_l("Pending entries"), lambda r: r.pending, 8, "0"),
    Column(_l("Reports submitted"), lambda r: r.reports_submitted, 8, "0"),
    Column(_l("Community rating"), lambda r: str(RATING_LABELS[r.rating]) if r.rating else "—", 10),
    Column(_l("Meets the rule"), _meets, 8),
    Column(_l("What is missing"), _shortfall, 28),
]


def total_label(row: GroupRow) -> GroupRow:
    row.name = str(_l("Total"))
    return row
