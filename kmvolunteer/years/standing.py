"""Where a member or a branch stands for a year, and why (DESIGN §11): the one place that decides it.

The tallies' member lists and shortfall lists, the branch's year view (its 评议 sheet, printed and in XLSX)
and what members see of themselves all call ``member_standing`` or ``unit_standing`` with the figures they
have read; nothing else decides whether someone falls short or what follows from it.

A member falls short when, under the year's rule: they have not reported in, or reported in after the
rule's deadline (N days from the year's start or from joining the roster later), or have too few approved
hours or activities, or a report due by today is missing, or the community rated them 不合格. A branch
falls short when it has not reported in, fewer of its members reported in than the rule's share, it did
fewer co-building projects than the rule asks, or a community rated it 较差. What follows (marked in the
民主评议, no 评先评优 that year, named in the 通报) is switched on or off by the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext

from kmvolunteer.years.models import YearRule

POOR_MEMBER = "poor"  # reports.models.Rating.poor: 不合格
POOR_UNIT = "poor"  # reports.models.UnitRatingLevel.poor: 较差


@dataclass(frozen=True)
class Reason:
    """Why a member or a branch falls short: a code, and the figures its words need (put into words only
    when shown, so a list of 200,000 members does not translate what it never prints)."""

    code: str
    figures: tuple = ()

    @property
    def text(self) -> str:
        return WORDS[self.code](*self.figures)


WORDS = {
    "not_reported_in": lambda: _("not reported in"),
    "late_report_in": lambda day: _("reported in late (due by %(day)s)", day=day.isoformat()),
    "hours_short": lambda half_hours: _("%(h)s h short", h=_hours(half_hours)),
    "activities_short": lambda n: ngettext("%(num)d activity short", "%(num)d activities short", n),
    "report_missing": lambda: _("report missing"),
    "rated_poor": lambda: _("rated unsatisfactory by the community"),
    "unit_not_reported_in": lambda: _("the branch has not reported in to a community"),
    "rate_low": lambda rate, need: _("%(rate)d%% of members reported in, below %(need)d%%", rate=rate, need=need),
    "projects_short": lambda have, need: _("%(have)d of %(need)d co-building projects done", have=have, need=need),
    "unit_rated_poor": lambda: _("rated “Poor” by a community"),
}


@dataclass(frozen=True)
class Standing:
    """A member's or a branch's year under ``rule``: the reasons it falls short (none: it does not)."""

    rule: YearRule
    reasons: tuple[Reason, ...]

    @property
    def short(self) -> bool:
        return bool(self.reasons)

    @property
    def marked_in_review(self) -> bool:
        return self.short and self.rule.mark_review

    @property
    def eligible_for_honours(self) -> bool:
        return not (self.short and self.rule.bar_honours)

    @property
    def named_in_bulletin(self) -> bool:
        return self.short and self.rule.name_in_bulletin

    def why(self, separator: str = "；") -> str:
        return separator.join(reason.text for reason in self.reasons)

    def has(self, code: str) -> bool:
        return any(reason.code == code for reason in self.reasons)


@dataclass(frozen=True)
class MemberYear:
    """What a member's standing rests on."""

    reported_in: bool  # a report-in in force (confirmed) for the year
    reported_in_on: date | None  # the local day that report-in was sent
    joined_on: date | None  # the local day the member joined the roster
    half_hours: int  # approved
    entries: int  # approved
    reports_submitted: int
    reports_required: int  # reports due by today
    rating: str | None  # the community's published rating


@dataclass(frozen=True)
class UnitYear:
    """What a branch's standing rests on."""

    reported_in: bool  # a branch report-in in force at some moment of the year
    members: int
    members_reported_in: int
    projects_done: int
    rated_poor: bool  # by any community it co-builds with


def report_in_deadline(rule: YearRule, joined_on: date | None) -> date | None:
    """The last day to report in: N days from the year's start, or from joining later (None: no deadline)."""
    if rule.report_in_days is None:
        return None
    start = date(rule.year, 1, 1)
    return max(start, joined_on or start) + timedelta(days=rule.report_in_days - 1)


def _hours(half_hours: int) -> str:
    return f"{half_hours // 2}" if half_hours % 2 == 0 else f"{half_hours / 2:.1f}"


def member_standing(rule: YearRule | None, m: MemberYear) -> Standing | None:
    """Where the member stands under ``rule`` (None when no rule is set for the year: nobody can say)."""
    if rule is None:
        return None
    reasons = []
    if not m.reported_in:
        reasons.append(Reason("not_reported_in"))
    else:
        deadline = report_in_deadline(rule, m.joined_on)
        if deadline is not None and m.reported_in_on is not None and m.reported_in_on > deadline:
            reasons.append(Reason("late_report_in", (deadline,)))
    if m.half_hours < rule.min_half_hours:
        reasons.append(Reason("hours_short", (rule.min_half_hours - m.half_hours,)))
    if m.entries < rule.min_activities:
        reasons.append(Reason("activities_short", (rule.min_activities - m.entries,)))
    if m.reports_submitted < m.reports_required:
        reasons.append(Reason("report_missing"))
    if m.rating == POOR_MEMBER:
        reasons.append(Reason("rated_poor"))
    return Standing(rule, tuple(reasons))


def unit_standing(rule: YearRule | None, u: UnitYear) -> Standing | None:
    """Where the branch stands under ``rule`` (None when no rule is set for the year)."""
    if rule is None:
        return None
    reasons = []
    if not u.reported_in:
        reasons.append(Reason("unit_not_reported_in"))
    if rule.unit_report_in_rate is not None and u.members_reported_in * 100 < rule.unit_report_in_rate * u.members:
        rate = u.members_reported_in * 100 // u.members
        reasons.append(Reason("rate_low", (rate, rule.unit_report_in_rate)))
    if u.projects_done < rule.unit_min_projects:
        reasons.append(Reason("projects_short", (u.projects_done, rule.unit_min_projects)))
    if u.rated_poor:
        reasons.append(Reason("unit_rated_poor"))
    return Standing(rule, tuple(reasons))
