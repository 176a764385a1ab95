"""The columns of each tally table: shared by the page, the print view, XLSX and CSV."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from kmvolunteer.core.exports import Column
from kmvolunteer.reports.services import RATING_LABELS
from kmvolunteer.tallies.services import RATINGS, GroupRow, MemberRow
from kmvolunteer.years.rules import CONSEQUENCES


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


def member_columns(*, consequences: bool = False) -> list[Column]:
    """The member table's columns (with what follows from falling short, for the shortfall list and the
    评议 sheets of an agency and a branch), the words of its cells translated once, not once per member."""
    words = {
        "no_rule": _("No rule set"),
        "yes": _("Yes"),
        "no": _("No"),
        "separator": _("; "),
    }
    review = {None: "—", True: _("Marked"), False: "—"}
    honours = {None: "—", True: _("Eligible"), False: _("Not eligible")}
    ratings = {key: str(label) for key, label in RATING_LABELS.items()}

    def shortfall(row: MemberRow) -> str:
        return words["no_rule"] if row.standing is None else row.standing.why(words["separator"])

    def meets(row: MemberRow) -> str:
        if row.compliant is None:
            return "—"
        return words["yes"] if row.compliant else words["no"]

    columns = [
        Column(_("Name"), lambda r: r.name, 10),
        Column(_("Agency"), lambda r: r.agency, 24),
        Column(_("Branch"), lambda r: r.branch, 18),
        Column(_("Reported in to"), lambda r: r.community or "—", 16),
        Column(_("Approved hours"), lambda r: r.hours, 10, "0.0"),
        Column(_("Activities"), lambda r: r.entries, 8, "0"),
        Column(_("Pending entries"), lambda r: r.pending, 8, "0"),
        Column(_("Reports submitted"), lambda r: r.reports_submitted, 8, "0"),
        Column(_("Community rating"), lambda r: ratings[r.rating] if r.rating else "—", 10),
        Column(_("Service and reports met"), meets, 8),
        Column(_("Why it falls short"), shortfall, 28),
    ]
    if consequences:  # the 评议 sheet's columns: what follows from falling short, under the year's rule
        columns += [
            Column(_("Democratic review"), lambda r: review[r.standing and r.standing.marked_in_review], 8),
            Column(_("Honours this year"), lambda r: honours[r.standing and r.standing.eligible_for_honours], 8),
        ]
    return columns


def branch_short_columns() -> list[Column]:
    """The columns of the branches that fall short of the year's unit thresholds, and what follows."""
    separator = _("; ")
    follows = [(name, str(label)) for name, label in CONSEQUENCES.items()]
    return [
        Column(_("Agency"), lambda r: r.agency, 24),
        Column(_("Branch"), lambda r: r.branch, 18),
        Column(_("Members"), lambda r: r.members, 8, "0"),
        Column(_("Reported in"), lambda r: r.reported_in, 8, "0"),
        Column(_("Projects done"), lambda r: r.projects_done, 8, "0"),
        Column(_("Why it falls short"), lambda r: r.standing.why(separator), 28),
        Column(
            _("What follows"),
            lambda r: separator.join(label for name, label in follows if getattr(r.standing.rule, name)),
            28,
        ),
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
