"""年度要求: the year's rules, set by the city; a district may tighten them (never loosen) for its area.

``effective_rule(year, area)`` is the rule that applies to a place: the rule of the
deepest area on its path that has one (a district's over the city's), or None
when nobody has set a rule for that year — callers must say so, not guess.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, timedelta

from blinker import signal
from flask import has_request_context, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from kmvolunteer.core import audit
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area
from kmvolunteer.years.models import YearRule

REPORT_PERIODS = {"year": ("Y",), "half": ("H1", "H2")}
FEEDBACK_PERIODS = {"quarter": ("Q1", "Q2", "Q3", "Q4"), "half": ("H1", "H2"), "year": ("Y",)}
FREQUENCY_RANK = {"year": 1, "half": 2, "quarter": 4}  # times a year: more is stricter
PERIOD_RANK = {"year": 1, "half": 2}

PERIOD_LABELS = {
    "Y": _l("Whole year"),
    "H1": _l("First half"),
    "H2": _l("Second half"),
    "Q1": _l("First quarter"),
    "Q2": _l("Second quarter"),
    "Q3": _l("Third quarter"),
    "Q4": _l("Fourth quarter"),
}
REPORT_PERIOD_LABELS = {"year": _l("Once a year"), "half": _l("Every half year")}
FREQUENCY_LABELS = {"quarter": _l("Every quarter"), "half": _l("Every half year"), "year": _l("Once a year")}
YEAR_MIN, YEAR_MAX = 2000, 2100

#: Sent with the year whenever that year's rules change (the tallies recount it).
rule_changed = signal("years.rule-changed")


def _path_ids(area: Area) -> list[int]:
    return [int(part) for part in area.path.strip("/").split("/") if part]


def effective_rule(year: int, area: Area) -> YearRule | None:
    """The rule for ``area`` in ``year``: its district's if the district set one, else the city's, else None.

    Within a request the rules of a place, of every year, are read once (a member's home asks for this
    year's and last year's, from two sections); rules are changed only by requests that redirect afterwards.
    """
    ids = _path_ids(area)
    if not ids:
        return None
    known = request.environ.setdefault("kmvolunteer.rules", {}) if has_request_context() else {}
    if area.id not in known:
        known[area.id] = {
            (r.year, r.area_id): r for r in db.session.scalars(select(YearRule).where(YearRule.area_id.in_(ids)))
        }
    rules = known[area.id]
    for area_id in reversed(ids):
        if (year, area_id) in rules:
            return rules[(year, area_id)]
    return None


class RuleBook:
    """All rules of one year, to resolve many places without a query each."""

    def __init__(self, year: int) -> None:
        self.year = year
        self.by_area = {r.area_id: r for r in db.session.scalars(select(YearRule).where(YearRule.year == year))}
        self._by_path: dict[str, YearRule | None] = {}

    def for_path(self, path: str) -> YearRule | None:
        if path not in self._by_path:
            found = None
            for part in reversed([p for p in path.strip("/").split("/") if p]):
                found = self.by_area.get(int(part))
                if found is not None:
                    break
            self._by_path[path] = found
        return self._by_path[path]


def period_bounds(year: int, code: str) -> tuple[date, date]:
    """First and last day of a report or feedback period."""
    if code == "Y":
        return date(year, 1, 1), date(year, 12, 31)
    if code in ("H1", "H2"):
        return (date(year, 1, 1), date(year, 6, 30)) if code == "H1" else (date(year, 7, 1), date(year, 12, 31))
    if code in ("Q1", "Q2", "Q3", "Q4"):
        quarter = int(code[1])
        start = date(year, 3 * quarter - 2, 1)
        end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
        return start, end - timedelta(days=1)
    raise ValueError(code)


def report_periods(rule: YearRule) -> tuple[str, ...]:
    return REPORT_PERIODS.get(rule.report_period, ("Y",))


def feedback_periods(rule: YearRule) -> tuple[str, ...]:
    return FEEDBACK_PERIODS.get(rule.feedback_frequency, ("Q1", "Q2", "Q3", "Q4"))


def report_due(rule: YearRule, code: str) -> date | None:
    """The year's (or H2's) report is due on ``rule.report_due``; H1's as long after 30 June."""
    if rule.report_due is None:
        return None
    if code == "H1":
        return date(rule.year, 6, 30) + (rule.report_due - date(rule.year, 12, 31))
    return rule.report_due


@dataclass
class RuleValues:
    min_half_hours: int
    min_activities: int
    report_required: bool
    report_period: str
    report_due: date | None
    evaluation_due: date | None
    feedback_frequency: str
    report_in_days: int | None = None
    unit_report_in_rate: int | None = None
    unit_min_projects: int = 0
    mark_review: bool = True
    bar_honours: bool = True
    name_in_bulletin: bool = True
    brand_city_min: int | None = None
    brand_district_min: int | None = None


def _values_of(rule: YearRule) -> dict:
    return {f.name: getattr(rule, f.name) for f in fields(RuleValues)}


# What follows from falling short, each a switch of the rule that a district may not turn off.
CONSEQUENCES = {
    "mark_review": _l("marked in the democratic review (民主评议)"),
    "bar_honours": _l("not eligible for honours (评先评优) this year"),
    "name_in_bulletin": _l("named in the bulletin (通报)"),
}


def consequence_labels(rule: YearRule) -> str:
    """What follows from falling short under ``rule``, in words ("" when nothing does)."""
    return _("; ").join(str(label) for name, label in CONSEQUENCES.items() if getattr(rule, name))


def looser_points(values: RuleValues | YearRule, base: RuleValues | YearRule) -> list[str]:
    """Why ``values`` would be looser than ``base`` (empty when at least as strict)."""
    points = []
    if values.min_half_hours < base.min_half_hours:
        points.append(_("at least %(hours)s hours of service", hours=_hours(base.min_half_hours)))
    if values.min_activities < base.min_activities:
        points.append(_("at least %(num)d activities", num=base.min_activities))
    if base.report_required and not values.report_required:
        points.append(_("a report is required"))
    if PERIOD_RANK.get(values.report_period, 1) < PERIOD_RANK.get(base.report_period, 1):
        points.append(_("reports every half year"))
    if base.report_due and (values.report_due is None or values.report_due > base.report_due):
        points.append(_("reports due by %(day)s", day=base.report_due.isoformat()))
    if base.evaluation_due and (values.evaluation_due is None or values.evaluation_due > base.evaluation_due):
        points.append(_("evaluations due by %(day)s", day=base.evaluation_due.isoformat()))
    if FREQUENCY_RANK.get(values.feedback_frequency, 4) < FREQUENCY_RANK.get(base.feedback_frequency, 4):
        points.append(_("feedback %(freq)s", freq=FREQUENCY_LABELS[base.feedback_frequency]))
    if base.report_in_days is not None and (
        values.report_in_days is None or values.report_in_days > base.report_in_days
    ):
        points.append(_("report in within %(days)d days", days=base.report_in_days))
    if base.unit_report_in_rate is not None and (values.unit_report_in_rate or 0) < base.unit_report_in_rate:
        points.append(_("at least %(rate)d%% of a branch's members reported in", rate=base.unit_report_in_rate))
    if values.unit_min_projects < base.unit_min_projects:
        points.append(_("at least %(num)d co-building projects per branch", num=base.unit_min_projects))
    points += [str(label) for name, label in CONSEQUENCES.items() if getattr(base, name) and not getattr(values, name)]
    return points


def _hours(half_hours: int) -> str:
    return f"{half_hours // 2}" if half_hours % 2 == 0 else f"{half_hours / 2:.1f}"


def _check_values(year: int, values: RuleValues) -> None:
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise ServiceError(_("Choose a year between %(a)d and %(b)d.", a=YEAR_MIN, b=YEAR_MAX), "year")
    if not 0 <= values.min_half_hours <= 2 * 1000:
        raise ServiceError(_("Minimum hours must be between 0 and 1000."), "min_hours")
    if not 0 <= values.min_activities <= 366:
        raise ServiceError(_("Minimum activities must be between 0 and 366."), "min_activities")
    if values.report_in_days is not None and not 1 <= values.report_in_days <= 366:
        raise ServiceError(_("The report-in deadline must be between 1 and 366 days."), "report_in_days")
    if values.unit_report_in_rate is not None and not 1 <= values.unit_report_in_rate <= 100:
        raise ServiceError(_("A branch's report-in rate must be between 1 and 100 %."), "unit_report_in_rate")
    if not 0 <= values.unit_min_projects <= 50:
        raise ServiceError(_("Projects per branch must be between 0 and 50."), "unit_min_projects")
    for name in ("brand_city_min", "brand_district_min"):
        value = getattr(values, name)
        if value is not None and not 6 <= value <= 30:
            raise ServiceError(_("A brand's score must be between 6 and 30."), name)
    if values.brand_city_min is not None and (values.brand_district_min or 0) > values.brand_city_min:
        raise ServiceError(_("A city-level brand needs at least the score of a district-level one."), "brand_city_min")
    if values.report_period not in REPORT_PERIODS:
        raise ServiceError(_("Choose how often members report."), "report_period")
    if values.feedback_frequency not in FEEDBACK_PERIODS:
        raise ServiceError(_("Choose how often communities send feedback."), "feedback_frequency")
    for name, day in (("report_due", values.report_due), ("evaluation_due", values.evaluation_due)):
        if day is not None and not date(year, 1, 1) <= day <= date(year + 1, 12, 31):
            raise ServiceError(_("A due date must fall in %(year)d or the year after.", year=year), name)


def set_rule(area: Area, year: int, values: RuleValues, *, actor_id: int | None = None) -> YearRule:
    """Create or change the rule of a city or district for ``year``.

    A district's rule must be at least as strict as the city's; a city's rule may
    not become stricter than an existing district rule allows (the district must
    tighten first), so a district rule is never looser than its city's.
    """
    if area.level not in ("city", "district"):
        raise ServiceError(_("Year rules are set for the city or for a district."))
    _check_values(year, values)
    if area.level == "district" and area.parent is not None:
        city_rule = db.session.scalar(select(YearRule).where(YearRule.year == year, YearRule.area_id == area.parent_id))
        if city_rule is not None:
            points = looser_points(values, city_rule)
            if points:
                raise ServiceError(
                    _(
                        "A district may tighten the city's rule, not loosen it. The city requires: %(points)s.",
                        points="; ".join(points),
                    )
                )
    if area.level == "city":
        district_rules = db.session.scalars(
            select(YearRule)
            .join(Area, YearRule.area_id == Area.id)
            .where(YearRule.year == year, Area.parent_id == area.id)
        ).all()
        looser = [r.area.name for r in district_rules if looser_points(r, values)]
        if looser:
            raise ServiceError(
                _(
                    "These districts' rules for %(year)d would be looser than the new city rule: "
                    "%(names)s. Tighten them first.",
                    year=year,
                    names="、".join(looser),
                )
            )
    rule = db.session.scalar(select(YearRule).where(YearRule.year == year, YearRule.area_id == area.id))
    before = _values_of(rule) if rule is not None else None
    if rule is None:
        rule = YearRule(year=year, area_id=area.id)
        db.session.add(rule)
    for key, value in values.__dict__.items():
        setattr(rule, key, value)
    rule.updated_at = utcnow()
    rule.updated_by_id = actor_id
    db.session.flush()
    rule_changed.send(year)
    audit.record(
        "year_rule.set",
        rule,
        scope_path=area.path,
        summary=f"{year} {area.name}",
        before=before,
        after=_values_of(rule),
        actor_id=actor_id,
    )
    return rule


def delete_rule(rule: YearRule, *, actor_id: int | None = None) -> None:
    """A district goes back to the city's rule."""
    if rule.area.level != "district":
        raise ServiceError(_("Only a district's own rule can be removed; the city's rule can be changed."))
    audit.record(
        "year_rule.removed",
        rule,
        scope_path=rule.area.path,
        summary=f"{rule.year} {rule.area.name}",
        before=_values_of(rule),
        actor_id=actor_id,
    )
    rule_changed.send(rule.year)
    db.session.delete(rule)
    db.session.flush()
