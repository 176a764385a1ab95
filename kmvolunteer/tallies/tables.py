"""The columns of each tally table: shared by the page, the print view, XLSX and CSV."""

from __future__ import annotations

from typing import Any

from flask_babel import get_translations
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from kmvolunteer.core.exports import Column
from kmvolunteer.reports.services import RATING_LABELS
from kmvolunteer.tallies.services import RATINGS, GroupRow, MemberRow


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value / 100, 4)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def group_columns(first_header: str, *, report_in: bool = True) -> list[Column]:
    """``report_in=False`` for groups by place of service, where everyone counted has reported in there."""
    columns = [
        Column(first_header, lambda r: r.name, 28),
        Column(_l("Members"), lambda r: r.headcount, 9, "0"),
    ]
    if report_in:
        columns += [
            Column(_l("Reported in"), lambda r: r.reported_in, 9, "0"),
            Column(_l("Report-in rate"), lambda r: _pct(r.report_in_rate), 10, "0.0%"),
        ]
    columns += [
        Column(_l("Hours"), lambda r: r.hours, 10, "0.0"),
        Column(_l("Average hours"), lambda r: _round(r.average_hours), 10, "0.0"),
        Column(_l("Meet the rule"), lambda r: r.compliant, 9, "0"),
        Column(_l("Compliance rate"), lambda r: _pct(r.compliance_rate), 10, "0.0%"),
        Column(_l("Reports submitted"), lambda r: r.reports, 9, "0"),
    ]
    for rating in RATINGS:
        columns.append(Column(RATING_LABELS[rating], lambda r, key=rating: r.ratings.get(key, 0), 7, "0"))
    return columns


def member_columns() -> list[Column]:
    """The member table's columns, with the words of its cells translated once, not once per member."""
    words = {
        "no_rule": _("No rule set"),
        "not_reported_in": _("not reported in"),
        "report": _("report missing"),
        "yes": _("Yes"),
        "no": _("No"),
        "hours": _("%(h)s h short"),
        "separator": _("; "),
    }
    translations = get_translations()
    ratings = {key: str(label) for key, label in RATING_LABELS.items()}

    def shortfall(row: MemberRow) -> str:
        if row.compliant is None:
            return words["no_rule"]
        parts = [] if row.community else [words["not_reported_in"]]
        if row.hours_short:
            parts.append(words["hours"] % {"h": f"{row.hours_short:g}"})
        if row.activities_short:
            parts.append(
                translations.ungettext("%(num)d activity short", "%(num)d activities short", row.activities_short)
                % {"num": row.activities_short}
            )
        if row.report_missing:
            parts.append(words["report"])
        return words["separator"].join(parts)

    def meets(row: MemberRow) -> str:
        if row.compliant is None:
            return "—"
        return words["yes"] if row.compliant else words["no"]

    return [
        Column(_("Name"), lambda r: r.name, 10),
        Column(_("Agency"), lambda r: r.agency, 24),
        Column(_("Branch"), lambda r: r.branch, 18),
        Column(_("Reported in to"), lambda r: r.community or "—", 16),
        Column(_("Approved hours"), lambda r: r.hours, 10, "0.0"),
        Column(_("Activities"), lambda r: r.entries, 8, "0"),
        Column(_("Pending entries"), lambda r: r.pending, 8, "0"),
        Column(_("Reports submitted"), lambda r: r.reports_submitted, 8, "0"),
        Column(_("Community rating"), lambda r: ratings[r.rating] if r.rating else "—", 10),
        Column(_("Meets the rule"), meets, 8),
        Column(_("What is missing"), shortfall, 28),
    ]


def branch_short_columns() -> list[Column]:
    """The columns of the branches that did not report in: what each one is missing, said once."""
    reason = _("The branch has not reported in to a community")
    return [
        Column(_("Agency"), lambda r: r.agency, 24),
        Column(_("Branch"), lambda r: r.branch, 18),
        Column(_("Members"), lambda r: r.members, 8, "0"),
        Column(_("What is missing"), lambda r: reason, 28),
    ]


def total_label(row: GroupRow) -> GroupRow:
    row.name = str(_l("Total"))
    return row


def whistle_columns(first_header: Any, *, departments: bool = False) -> list[Column]:
    """吹哨报到 statistics (tallies/whistles.py): a sub-area's or tier's row, or a department's in the ranking."""
    columns = [Column(_l("Rank"), lambda r: r.rank, 6, "0")] if departments else []
    columns.append(Column(first_header, lambda r: r.name, 28))
    if departments:
        columns.append(Column(_l("Of"), lambda r: r.place, 12))
    else:
        columns.append(Column(_l("Whistles blown"), lambda r: r.whistles, 9, "0"))
    columns += [
        Column(_l("Summonses"), lambda r: r.summonses, 9, "0"),
        Column(_l("Signed on time"), lambda r: r.signed_rate, 10, "0.0%"),
        Column(_l("Contacted on time"), lambda r: r.contacted_rate, 10, "0.0%"),
        Column(_l("Handled on time"), lambda r: r.handled_rate, 10, "0.0%"),
        Column(_l("Median hours to handle"), lambda r: r.median_hours, 10, "0.0"),
        Column(_l("Satisfaction"), lambda r: r.satisfaction_rate, 10, "0.0%"),
    ]
    if departments:
        columns += [
            Column(_l("Declined"), lambda r: r.counts["declined"], 8, "0"),
            Column(_l("Escalated"), lambda r: r.counts["escalated"], 8, "0"),
        ]
    else:
        columns.append(Column(_l("Escalated"), lambda r: r.whistles_escalated, 8, "0"))
    return columns
