"""Where a member or a branch stands for a year, and why (years/standing.py): each reason on its own, the
report-in deadline from the year's start or from joining, what follows under the rule's switches, and the
same answer from the tallies' shortfall list and the branch's year view."""

from __future__ import annotations

from datetime import date

import pytest

from kmvolunteer.extensions import db
from kmvolunteer.reports import services as report_services
from kmvolunteer.tallies import services as tally_services
from kmvolunteer.tallies import tables as tally_tables
from kmvolunteer.years.models import YearRule
from kmvolunteer.years.standing import MemberYear, UnitYear, member_standing, report_in_deadline, unit_standing
from tests.factories import make_member, make_record, report_in_at

YEAR = 2026


@pytest.fixture(autouse=True)
def _english_messages(english):
    """The reasons are read in English."""


def rule(**values) -> YearRule:
    terms = dict(
        year=YEAR, min_half_hours=8, min_activities=2, report_in_days=None, unit_report_in_rate=None,
        unit_min_projects=0, mark_review=True, bar_honours=True, name_in_bulletin=True,
    )  # fmt: skip
    return YearRule(**{**terms, **values})


def member(**values) -> MemberYear:
    figures = dict(
        reported_in=True, reported_in_on=date(2020, 3, 1), joined_on=date(2019, 5, 1), half_hours=8, entries=2,
        reports_submitted=1, reports_required=1, rating="good",
    )  # fmt: skip
    return MemberYear(**{**figures, **values})


def test_no_rule_no_standing(app):
    assert member_standing(None, member()) is None
    assert unit_standing(None, UnitYear(True, 10, 10, 3, False)) is None


@pytest.mark.parametrize(
    ("figures", "codes", "words"),
    [
        ({}, [], ""),
        ({"reported_in": False, "reported_in_on": None}, ["not_reported_in"], "not reported in"),
        ({"half_hours": 5}, ["hours_short"], "1.5 h short"),
        ({"entries": 1}, ["activities_short"], "1 activity short"),
        ({"reports_submitted": 0}, ["report_missing"], "report missing"),
        ({"reports_submitted": 0, "reports_required": 0}, [], ""),  # not due yet
        ({"rating": "poor"}, ["rated_poor"], "rated unsatisfactory by the community"),
        ({"half_hours": 0, "entries": 0}, ["hours_short", "activities_short"], "4 h short；2 activities short"),
    ],
)
def test_each_reason_a_member_falls_short(app, figures, codes, words):
    standing = member_standing(rule(), member(**figures))
    assert [r.code for r in standing.reasons] == codes
    assert standing.why() == words
    assert standing.short == bool(codes)
    assert standing.eligible_for_honours == (not codes) and standing.marked_in_review == bool(codes)


def test_the_report_in_deadline_runs_from_the_years_start_or_from_joining(app):
    thirty = rule(report_in_days=30)
    assert report_in_deadline(thirty, date(2019, 5, 1)) == date(YEAR, 1, 30)
    assert report_in_deadline(thirty, date(YEAR, 6, 10)) == date(YEAR, 7, 9)
    assert report_in_deadline(rule(), date(YEAR, 6, 10)) is None
    on_time = member(reported_in_on=date(YEAR, 1, 30))
    late = member(reported_in_on=date(YEAR, 1, 31))
    joined_late = member(joined_on=date(YEAR, 6, 10), reported_in_on=date(YEAR, 7, 9))
    assert not member_standing(thirty, on_time).short
    assert member_standing(thirty, late).why() == "reported in late (due by 2026-01-30)"
    assert not member_standing(thirty, joined_late).short
    assert not member_standing(rule(), late).short  # no deadline in the rule


def test_what_follows_is_the_rules_to_switch(app):
    lenient = rule(mark_review=False, bar_honours=False, name_in_bulletin=False)
    standing = member_standing(lenient, member(half_hours=0))
    assert standing.short and not standing.marked_in_review and standing.eligible_for_honours
    assert not standing.named_in_bulletin
    assert member_standing(rule(), member(half_hours=0)).named_in_bulletin


@pytest.mark.parametrize(
    ("figures", "codes", "words"),
    [
        (UnitYear(True, 20, 19, 2, False), [], ""),
        (UnitYear(False, 20, 19, 2, False), ["unit_not_reported_in"], "the branch has not reported in"),
        (UnitYear(True, 20, 18, 2, False), ["rate_low"], "90% of members reported in, below 95%"),
        (UnitYear(True, 20, 19, 1, False), ["projects_short"], "1 of 2 co-building projects done"),
        (UnitYear(True, 20, 19, 2, True), ["unit_rated_poor"], "rated “Poor” by a community"),
        (UnitYear(True, 0, 0, 2, False), [], ""),  # a branch with no members has no rate to miss
    ],
)
def test_each_reason_a_branch_falls_short(app, figures, codes, words):
    standing = unit_standing(rule(unit_report_in_rate=95, unit_min_projects=2), figures)
    assert [r.code for r in standing.reasons] == codes
    assert words in standing.why()


def test_the_shortfall_list_and_the_year_view_give_the_same_standing(world):
    """The same members, counted by the tallies (from the facts) and by the branch's year view (from the
    records): the same reasons, word for word."""
    db.session.add(
        YearRule(year=YEAR, area_id=world.city.id, min_half_hours=8, min_activities=2, report_required=False)
    )
    w = world
    served = w.members["member"]  # reported in, enough service
    report_in_at(w.community, member=served)
    make_record(served, w.community, date(YEAR, 3, 1), half_hours=6)
    make_record(served, w.community, date(YEAR, 4, 1), half_hours=2)
    short = make_member("赵亮", "13800000009", w.branch)  # reported in, too little
    report_in_at(w.community, member=short)
    make_record(short, w.community, date(YEAR, 3, 1), half_hours=3)
    make_member("钱七", "13800000010", w.branch)  # never reported in
    db.session.commit()
    tallies = {r.name: r.standing.why() for r in tally_services.member_rows(YEAR, branch=w.branch, shortfall_only=True)}
    year_view = {row[0]: row[8] for row in report_services.year_rows(w.branch, YEAR) if row[7] == "No"}
    assert (
        tallies
        == year_view
        == {"赵亮": "2.5 h short；1 activity short", "钱七": "not reported in；4 h short；2 activities short"}
    )
    # And what follows, in the agency's 评议 sheet (the tallies' member list) and the branch's year view.
    columns = tally_tables.member_columns(consequences=True)[-2:]
    sheet = {r.name: tuple(c.value(r) for c in columns) for r in tally_services.member_rows(YEAR, agency=w.agency)}
    view = {row[0]: row[9:] for row in report_services.year_rows(w.branch, YEAR)}
    assert {name: sheet[name] for name in view} == view
    assert view["钱七"] == ("Marked", "Not eligible") and view["张明"] == ("—", "Eligible")


def test_a_late_report_in_is_found_by_the_tallies_and_the_year_view_alike(world):
    from datetime import datetime

    w = world
    db.session.add(
        YearRule(
            year=YEAR, area_id=w.city.id, min_half_hours=0, min_activities=0, report_required=False, report_in_days=30
        )
    )
    late = w.members["member"]
    late.created_at = datetime(2020, 1, 1)
    ri = report_in_at(w.community, member=late, decided_at=datetime(YEAR, 3, 2, 2))
    ri.submitted_at = datetime(YEAR, 3, 1, 2)
    db.session.commit()
    (row,) = [r for r in tally_services.member_rows(YEAR, branch=w.branch, shortfall_only=True) if r.name == "张明"]
    assert row.standing.why() == "reported in late (due by 2026-01-30)"
    view = {r[0]: r[8] for r in report_services.year_rows(w.branch, YEAR)}
    assert view["张明"] == "reported in late (due by 2026-01-30)"
