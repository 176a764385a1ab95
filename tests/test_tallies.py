"""Tallies: every level equals a recount from the records; print, XLSX and CSV agree; closing a year."""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import date
from decimal import Decimal
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import delete, func, select

from kmvolunteer.core.errors import ServiceError
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Member
from kmvolunteer.reportin.models import ReportIn
from kmvolunteer.reports.models import Evaluation, Report
from kmvolunteer.service.models import ServiceRecord
from kmvolunteer.service.services import EntryData
from kmvolunteer.tallies import rollup, services, years
from kmvolunteer.tallies.models import KeptYear, MemberFact, TallyCell, TallySnapshot
from kmvolunteer.years.models import Year, YearRule
from kmvolunteer.years.rules import RuleValues, set_rule
from tests.factories import make_member

YEAR = 2026
RATINGS = ["excellent", "good", "fair", "poor"]


def _wipe_facts() -> None:
    for model in (
        TallyCell,
        MemberFact,
        KeptYear,
        TallySnapshot,
        Evaluation,
        Report,
        ServiceRecord,
        ReportIn,
        YearRule,
        Year,
    ):
        db.session.execute(delete(model))
    db.session.execute(delete(Member).where(Member.user_id.is_(None)))
    db.session.commit()


def _random_city(world, rng: random.Random, members: int) -> None:
    """Random members, report-ins, records (with counters recounted from them), reports, ratings, rules."""
    branches = [world.branch, world.branch2, world.other_branch]
    communities = [world.community, world.community2, world.other_community]
    db.session.add(
        YearRule(
            year=YEAR,
            area_id=world.city.id,
            min_half_hours=rng.choice([0, 4, 8]),
            min_activities=rng.choice([0, 1, 2]),
            report_required=rng.random() < 0.5,
        )
    )
    if rng.random() < 0.5:
        db.session.add(
            YearRule(
                year=YEAR,
                area_id=world.district.id,
                min_half_hours=10,
                min_activities=2,
                report_required=True,
                report_period="half",
            )
        )
    people = [make_member(f"成员{i}", f"137{i:08d}", rng.choice(branches)) for i in range(members)]
    db.session.flush()
    for person in people:
        community = rng.choice(communities + [None])
        if community is not None:
            db.session.add(
                ReportIn(
                    kind="member",
                    member=person,
                    community=community,
                    status=rng.choice(["confirmed", "confirmed", "pending"]),
                )
            )
        for _ in range(rng.randint(0, 4)):
            db.session.add(
                ServiceRecord(
                    member=person,
                    community=community or world.community,
                    service_date=date(YEAR, rng.randint(1, 12), 1),
                    year=YEAR,
                    half_hours=rng.randint(1, 8),
                    content="服务",
                    status=rng.choice(["approved", "approved", "submitted", "returned", "revoked"]),
                )
            )
        for period in rng.sample(["Y", "H1", "H2"], rng.randint(0, 2)):
            db.session.add(
                Report(
                    kind="member",
                    member=person,
                    branch=person.branch,
                    community=community or world.community,
                    year=YEAR,
                    period=period,
                    status=rng.choice(["draft", "submitted", "acknowledged"]),
                )
            )
    db.session.flush()
    for person in people:
        confirmed = db.session.scalar(
            select(ReportIn).where(ReportIn.member_id == person.id, ReportIn.status == "confirmed")
        )
        if confirmed and rng.random() < 0.7:
            db.session.add(
                Evaluation(
                    community_id=confirmed.community_id,
                    member=person,
                    year=YEAR,
                    rating=rng.choice(RATINGS),
                    published=rng.random() < 0.8,
                )
            )
    db.session.commit()


def _recount_member(member: Member) -> dict:
    """What the tallies should say of one member, from the raw records."""
    approved = [
        r
        for r in db.session.scalars(
            select(ServiceRecord).where(
                ServiceRecord.member_id == member.id, ServiceRecord.year == YEAR, ServiceRecord.status == "approved"
            )
        )
    ]
    confirmed = db.session.scalar(
        select(ReportIn).where(ReportIn.member_id == member.id, ReportIn.status == "confirmed")
    )
    reports = db.session.scalar(
        select(func.count(Report.id)).where(
            Report.member_id == member.id, Report.year == YEAR, Report.status.in_(("submitted", "acknowledged"))
        )
    )
    rating = None
    if confirmed:
        rating = db.session.scalar(
            select(Evaluation.rating).where(
                Evaluation.member_id == member.id,
                Evaluation.community_id == confirmed.community_id,
                Evaluation.published.is_(True),
            )
        )
    agency_area = member.branch.agency.area
    rule = db.session.scalar(
        select(YearRule).where(YearRule.year == YEAR, YearRule.area_id == agency_area.id)
    ) or db.session.scalar(select(YearRule).where(YearRule.year == YEAR, YearRule.area.has(level="city")))
    required = (2 if rule.report_period == "half" else 1) if rule and rule.report_required else 0
    hh, n = sum(r.half_hours for r in approved), len(approved)
    return {
        "community": confirmed.community if confirmed else None,
        "agency_area": agency_area,
        "hh": hh,
        "n": n,
        "reports": reports,
        "rating": rating,
        "compliant": None
        if rule is None
        else int(hh >= rule.min_half_hours and n >= rule.min_activities and reports >= required),
    }


def _expected(members: list[Member], facts: dict) -> tuple:
    chosen = [facts[m.id] for m in members]
    return (
        len(chosen),
        sum(1 for f in chosen if f["community"]),
        sum(f["hh"] for f in chosen),
        sum(f["compliant"] or 0 for f in chosen),
        sum(1 for f in chosen if f["reports"]),
        tuple(sum(1 for f in chosen if f["rating"] == r) for r in RATINGS),
    )


def _got(row: services.GroupRow) -> tuple:
    return (
        row.headcount,
        row.reported_in,
        row.half_hours,
        row.compliant or 0,
        row.reports,
        tuple(row.ratings[r] for r in RATINGS),
    )


def _check_every_level(world) -> None:
    members = list(db.session.scalars(select(Member).where(Member.active.is_(True))))
    facts = {m.id: _recount_member(m) for m in members}
    # By employer, city and district level.
    for area in (world.city, world.district, world.other_district):
        rows, total = services.employer_rows(YEAR, area)
        under = [m for m in members if facts[m.id]["agency_area"].path.startswith(area.path)]
        assert _got(total) == _expected(under, facts)
        for row in rows:
            if row.kind == "agency":
                group = [m for m in under if m.branch.agency_id == row.key and facts[m.id]["agency_area"] == area]
            else:
                child = db.session.get(Area, row.key)
                group = [m for m in under if facts[m.id]["agency_area"].path.startswith(child.path)]
            assert _got(row) == _expected(group, facts), row.name
    # By place of service, every level down to the community.
    for area in db.session.scalars(select(Area)):
        rows, total = services.service_rows(YEAR, area)
        serving = [
            m for m in members if facts[m.id]["community"] and facts[m.id]["community"].path.startswith(area.path)
        ]
        assert _got(total) == _expected(serving, facts), area.name
        for row in rows:
            child = db.session.get(Area, row.key)
            group = [m for m in serving if facts[m.id]["community"].path.startswith(child.path)]
            assert _got(row) == _expected(group, facts)
    # Agencies, branches, members.
    for agency in (world.agency, world.other_agency):
        rows, total = services.agency_rows(YEAR, agency)
        assert _got(total) == _expected([m for m in members if m.branch.agency_id == agency.id], facts)
        for row in rows:
            assert _got(row) == _expected([m for m in members if m.branch_id == row.key], facts)
    for row in services.member_rows(YEAR, employer_area=world.city):
        f = facts[row.member_id]
        assert (row.half_hours, row.entries, row.reports_submitted, row.rating) == (
            f["hh"],
            f["n"],
            f["reports"],
            f["rating"],
        )
        assert row.compliant == (None if f["compliant"] is None else bool(f["compliant"]))


@settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(min_value=0, max_value=10**6), size=st.integers(min_value=0, max_value=25))
def test_tallies_equal_a_recount_at_every_level(world, seed, size):
    _wipe_facts()
    _random_city(world, random.Random(seed), size)
    _check_every_level(world)
    # The same figures from the kept facts and cells.
    rollup.refresh_year(YEAR)
    db.session.commit()
    _check_every_level(world)
    # A closed year's tallies come from the snapshot and still equal the recount.
    years.close_year(YEAR, actor=world.users["city_org"]) if not db.session.scalar(
        select(func.count(ServiceRecord.id)).where(ServiceRecord.status == "submitted")
    ) else None
    db.session.commit()
    _check_every_level(world)


def test_no_rule_means_compliance_unknown(world):
    make_member("无规则", "13799999999", world.branch)
    db.session.commit()
    _rows, total = services.employer_rows(YEAR, world.city)
    assert total.compliant is None
    row = next(services.member_rows(YEAR, branch=world.branch, shortfall_only=False))
    assert row.compliant is None


def test_closing_is_refused_while_entries_wait_then_locks_and_reopens_with_reason(world):
    member = world.members["member"]
    db.session.add(YearRule(year=YEAR, area_id=world.city.id, min_half_hours=2, min_activities=1))
    record = ServiceRecord(
        member=member,
        community=world.community,
        service_date=date(YEAR, 3, 1),
        year=YEAR,
        half_hours=4,
        content="巡逻",
        status="submitted",
    )
    db.session.add(record)
    db.session.commit()
    with pytest.raises(ServiceError):
        years.close_year(YEAR, actor=world.users["city_org"])
    db.session.rollback()
    record.status = "approved"
    db.session.commit()
    row = years.close_year(YEAR, actor=world.users["city_org"])
    db.session.commit()
    assert row.status == "closed" and row.serial.startswith(f"ND{YEAR}-")
    assert db.session.scalar(select(func.count()).select_from(TallySnapshot)) == 3
    # The snapshot is what the tallies read now: later changes to the records do not show.
    db.session.execute(delete(ServiceRecord))
    db.session.commit()
    _rows, total = services.employer_rows(YEAR, world.city)
    assert total.half_hours == 4
    with pytest.raises(ServiceError):
        years.close_year(YEAR, actor=world.users["city_org"])
    db.session.rollback()
    with pytest.raises(ServiceError):
        years.reopen_year(YEAR, reason="  ", actor=world.users["city_org"])
    db.session.rollback()
    years.reopen_year(YEAR, reason="补录遗漏的服务记录", actor=world.users["city_org"])
    db.session.commit()
    assert db.session.get(Year, YEAR).status == "open"
    assert db.session.scalar(select(func.count()).select_from(TallySnapshot)) == 0


# ---- HTTP --------------------------------------------------------------------------------


def _seed_small(world) -> None:
    _random_city(world, random.Random(7), 30)


def test_print_xlsx_and_csv_agree_with_the_page(world, login):
    _seed_small(world)
    b = login("city_org")
    base = f"/tallies/areas/{world.city.id}?year={YEAR}&table=employer"
    page = b.get(base).get_data(as_text=True)
    printed = b.get(base + "&format=print").get_data(as_text=True)
    sheet = load_workbook(io.BytesIO(b.get(base + "&format=xlsx").data), read_only=True).worksheets[0]
    xlsx_rows = [[("" if v is None else v) for v in row] for row in sheet.iter_rows(values_only=True)]
    csv_rows = list(csv.reader(io.StringIO(b.get(base + "&format=csv").data.decode("utf-8-sig"))))
    assert xlsx_rows[0] == csv_rows[0]
    assert len(xlsx_rows) == len(csv_rows)
    for x_row, c_row in zip(xlsx_rows[1:], csv_rows[1:], strict=True):
        assert [str(v) for v in x_row][0] == c_row[0]
        assert [float(v) if isinstance(v, (int, float)) else v for v in x_row[1:3]] == [float(c) for c in c_row[1:3]]
    for name_cell in [r[0] for r in csv_rows[1:]]:
        assert name_cell in page and name_cell in printed
    assert "第 " not in printed  # page numbers come from the print stylesheet, not the HTML
    assert f'href="{base.replace("&", "&amp;")}"' in printed  # the Back button returns to the page
    download = b.get(base + "&format=xlsx").headers["Content-Disposition"]
    assert "filename*=UTF-8''" in download and quote(f"{YEAR}年度统计") in download
    assert re.search(r"ND\d{4}-|\d{4}-A\d+-\d{12}", printed)


def test_tally_scoping(world, login):
    _seed_small(world)
    district = login("district_org")
    assert district.get(f"/tallies/areas/{world.district.id}").status_code == 200
    assert district.get(f"/tallies/areas/{world.other_district.id}").status_code == 404
    assert district.get(f"/tallies/agencies/{world.other_agency.id}").status_code == 404
    assert district.get(f"/tallies/branches/{world.other_branch.id}").status_code == 404
    assert district.get(f"/tallies/areas/{world.city.id}").status_code == 404
    secretary = login("branch_secretary")
    assert secretary.get(f"/tallies/branches/{world.branch.id}").status_code == 200
    assert secretary.get(f"/tallies/branches/{world.branch2.id}").status_code == 404
    assert secretary.get(f"/tallies/areas/{world.community.id}").status_code == 404
    community = login("community_secretary")
    html = community.get(f"/tallies/areas/{world.community.id}").get_data(as_text=True)
    assert "By employer" not in html and "按单位" not in html
    for name in ("district_org", "community_secretary", "branch_secretary"):
        assert login(name).get("/tallies/years").status_code == 404


def test_fragment_for_htmx_filters(world, login):
    _seed_small(world)
    b = login("city_org")
    fragment = b.get(f"/tallies/areas/{world.district.id}?year={YEAR}", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in html
    # The whole body follows the year: heading, links and tables.
    assert 'id="tally-body"' in html and 'id="tally-tables"' in html and f"{YEAR}年度统计" in html
    assert f"shortfall?year={YEAR}" in html


def test_cells_show_hours_without_exponents_and_rates_as_percentages():
    from kmvolunteer.tallies.views import tally_cell

    assert tally_cell(1626982.0, "0.0") == "1626982" and tally_cell(2687.5, "0.0") == "2687.5"
    assert tally_cell(0.825, "0.0%") == "82.5%" and tally_cell(None, "0") == "—" and tally_cell(3, "0") == 3


def test_shortfall_lists_only_members_who_fall_short(world, login):
    _seed_small(world)
    b = login("city_org")
    text = b.get(f"/tallies/areas/{world.city.id}/shortfall?year={YEAR}&format=csv").data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    expected = [r for r in services.member_rows(YEAR, employer_area=world.city) if r.compliant is False]
    assert len(rows) == len(expected)


def test_close_year_over_http(world, login):
    _seed_small(world)
    b = login("city_org")
    b.get("/tallies/years")
    pending = db.session.scalar(select(func.count(ServiceRecord.id)).where(ServiceRecord.status == "submitted"))
    response = b.post(f"/tallies/years/{YEAR}/close")
    if pending:
        assert response.status_code == 422
        db.session.execute(delete(ServiceRecord).where(ServiceRecord.status == "submitted"))
        db.session.commit()
        response = b.post(f"/tallies/years/{YEAR}/close")
    assert response.status_code == 303
    assert b.post(f"/tallies/years/{YEAR}/reopen", {"reason": ""}).status_code == 422
    assert b.post(f"/tallies/years/{YEAR}/reopen", {"reason": "更正"}).status_code == 303


def test_a_report_not_yet_due_is_not_a_shortfall(world):
    from datetime import timedelta

    from kmvolunteer.core.time import local_today

    member = world.members["member"]
    rule = YearRule(
        year=YEAR,
        area_id=world.city.id,
        min_half_hours=0,
        min_activities=0,
        report_required=True,
        report_due=local_today() + timedelta(days=30),
    )
    db.session.add(rule)
    db.session.commit()
    row = next(r for r in services.member_rows(YEAR, branch=world.branch) if r.member_id == member.id)
    assert row.compliant is True and not row.standing.has("report_missing")
    rule.report_due = local_today() - timedelta(days=1)
    db.session.commit()
    row = next(r for r in services.member_rows(YEAR, branch=world.branch) if r.member_id == member.id)
    assert row.compliant is False and row.standing.has("report_missing")


# ---- kept tallies: facts and cells follow every change ---------------------------------------


def _kept_and_correct(world) -> None:
    db.session.commit()
    assert rollup.differences(YEAR) == {"facts": 0, "cells": 0}
    _check_every_level(world)


def test_hours_by_month_are_those_of_the_members_the_area_counts_kept_or_not(world):
    """The hours-by-month line of an area adds up the approved hours of the members reported in to its
    communities (the same members as its table), whether read from the records or the kept cells."""
    _random_city(world, random.Random(31), 30)
    db.session.commit()
    expected = {area.id: [0] * 12 for area in (world.city, world.district)}
    confirmed = {
        r.member_id: r.community
        for r in db.session.scalars(select(ReportIn).where(ReportIn.kind == "member", ReportIn.status == "confirmed"))
    }
    for record in db.session.scalars(select(ServiceRecord).where(ServiceRecord.status == "approved")):
        community = confirmed.get(record.member_id)
        for area in (world.city, world.district):
            if community is not None and community.path.startswith(area.path) and record.member.active:
                expected[area.id][record.service_date.month - 1] += record.half_hours
    assert any(expected[world.district.id])
    live = {area.id: services.monthly_half_hours(YEAR, area) for area in (world.city, world.district)}
    rollup.refresh_year(YEAR)
    db.session.commit()
    kept = {area.id: services.monthly_half_hours(YEAR, area) for area in (world.city, world.district)}
    assert live == kept == expected


def test_kept_tallies_follow_every_kind_of_change(world):
    """Keep the year, then change what the figures depend on through the services, one kind at a
    time: after each commit the kept facts and cells equal a recount, and every level still does."""
    from kmvolunteer.org import services as org_services
    from kmvolunteer.reportin import services as reportin_services
    from kmvolunteer.reports import services as report_services
    from kmvolunteer.service import services as service_services
    from kmvolunteer.years import rules as rulebook

    _random_city(world, random.Random(11), 20)
    assert not rollup.open_kept_years()
    rollup.refresh_year(YEAR)
    _kept_and_correct(world)
    secretary = world.users["community_secretary"]
    here = select(ServiceRecord).where(ServiceRecord.community_id == world.community.id)

    # Entries: approve, return, revoke.
    waiting = db.session.scalars(here.where(ServiceRecord.status == "submitted")).all()
    service_services.approve(waiting[0], secretary)
    _kept_and_correct(world)
    service_services.return_entry(waiting[1], secretary, "请补充服务内容")
    _kept_and_correct(world)
    approved = db.session.scalars(here.where(ServiceRecord.status == "approved")).first()
    service_services.revoke(approved, secretary, "重复登记")
    _kept_and_correct(world)

    # Report-ins: confirm a pending one, end a confirmed one (the member's community changes).
    pending = db.session.scalar(select(ReportIn).where(ReportIn.status == "pending"))
    reportin_services.confirm_report_in(pending)
    _kept_and_correct(world)
    confirmed = db.session.scalar(select(ReportIn).where(ReportIn.status == "confirmed"))
    reportin_services.end_report_in(confirmed, reason="工作调动")
    _kept_and_correct(world)

    # A report submitted, a published rating changed, ratings published.
    reporter = db.session.scalar(
        select(Member)
        .join(ReportIn, ReportIn.member_id == Member.id)
        .where(
            ReportIn.status == "confirmed",
            ~Member.id.in_(select(Report.member_id).where(Report.year == YEAR, Report.period == "Y")),
        )
    )
    rule = db.session.scalar(select(YearRule).where(YearRule.area_id == world.city.id))
    rule.report_required, rule.report_period = True, "year"
    rollup.touch_year(YEAR)
    _kept_and_correct(world)
    report_services.submit_member_report(reporter, YEAR, "Y", "全年参加社区服务", today=date(YEAR, 12, 1))
    _kept_and_correct(world)
    published = db.session.scalar(select(Evaluation).where(Evaluation.published.is_(True)))
    if published is not None:
        new_rating = "poor" if published.rating != "poor" else "fair"
        report_services.set_rating(
            published.community, published.member, YEAR, new_rating, reason="复核后调整", today=date(YEAR, 12, 1)
        )
        _kept_and_correct(world)
    unpublished = db.session.scalars(select(Evaluation)).first()
    unpublished.published = False  # set up: a rating not yet published (the facts are stale until publishing)
    db.session.commit()
    report_services.publish_evaluations(unpublished.community, YEAR)
    _kept_and_correct(world)

    # The roster: a member added, a member deactivated.
    org_services.add_member(world.branch, name="新成员", phone="13912345678", post="科员")
    _kept_and_correct(world)
    org_services.deactivate_member(db.session.scalar(select(Member).where(Member.user_id.is_(None))))
    _kept_and_correct(world)

    # The rule: a district tightens it (the whole year is recomputed).
    values = rulebook.RuleValues(
        min_half_hours=20,
        min_activities=3,
        report_required=True,
        report_period="half",
        report_due=None,
        evaluation_due=None,
        feedback_frequency="quarter",
    )
    rulebook.set_rule(world.other_district, YEAR, values)
    _kept_and_correct(world)


def test_a_closed_year_is_not_refreshed_and_reopening_recomputes_it(world):
    _random_city(world, random.Random(5), 10)
    db.session.execute(delete(ServiceRecord).where(ServiceRecord.status == "submitted"))
    rollup.refresh_year(YEAR)
    db.session.commit()
    years.close_year(YEAR, actor=world.users["city_org"])
    db.session.commit()
    assert rollup.open_kept_years() == []
    from kmvolunteer.org import services as org_services

    leaver = db.session.scalar(select(Member).where(Member.user_id.is_(None)))
    org_services.deactivate_member(leaver)
    db.session.commit()
    kept_rows = select(func.count()).select_from(MemberFact).where(MemberFact.member_id == leaver.id)
    assert db.session.scalar(kept_rows) == 1  # untouched while closed
    years.reopen_year(YEAR, reason="补录", actor=world.users["city_org"])
    _kept_and_correct(world)


def test_one_menu_item_is_current_on_a_branch_tally(world, login):
    html = login("branch_secretary").get(f"/tallies/branches/{world.branch.id}").get_data(as_text=True)
    nav = html[html.index("<nav") : html.index("</nav>")]
    assert nav.count('aria-current="page"') == 1


def test_a_closed_year_counts_reports_as_due_on_the_day_it_was_closed(world, monkeypatch):
    from datetime import timedelta

    from kmvolunteer.core.time import local_today

    db.session.add(
        YearRule(
            year=YEAR,
            area_id=world.city.id,
            min_half_hours=0,
            min_activities=0,
            report_required=True,
            report_due=local_today() + timedelta(days=30),
        )
    )
    db.session.commit()
    rollup.refresh_year(YEAR)
    db.session.commit()
    years.close_year(YEAR, actor=world.users["city_org"])
    db.session.commit()
    _rows, total = services.employer_rows(YEAR, world.city)
    assert total.compliant == total.headcount > 0  # nobody owed a report yet when the year was closed
    later = local_today() + timedelta(days=60)
    monkeypatch.setattr("kmvolunteer.tallies.services.local_today", lambda: later)
    monkeypatch.setattr("kmvolunteer.tallies.facts.local_today", lambda: later)
    _rows, total = services.employer_rows(YEAR, world.city)
    assert total.compliant == total.headcount  # still as frozen
    assert all(row.compliant for row in services.member_rows(YEAR, employer_area=world.city))


def test_a_district_sees_members_of_other_places_serving_here_without_links_it_cannot_open(world, login):
    from kmvolunteer.core.time import local_today
    from tests.factories import make_record, service_report_in

    today = local_today()
    for who in ("member", "other_member"):  # 王刚 works for an agency of 官渡区 and serves in 翠湖社区
        service_report_in(world.members[who], world.community)
        make_record(world.members[who], world.community, today)
    db.session.commit()
    district = login("district_org")
    html = district.get(f"/tallies/areas/{world.community.id}?year={today.year}").get_data(as_text=True)
    mine, theirs = world.members["member"], world.members["other_member"]
    assert "王刚" in html and f'href="/members/{theirs.id}"' not in html
    assert f'href="/members/{mine.id}"' in html
    assert district.get(f"/members/{theirs.id}").status_code == 404


def test_printing_a_long_member_list_offers_excel_first(world, login, monkeypatch):
    from kmvolunteer.tallies import views

    _seed_small(world)
    monkeypatch.setattr(views, "PRINT_MEMBER_LIMIT", 5)
    b = login("city_org")
    url = f"/tallies/areas/{world.city.id}?year={YEAR}&table=members&format=print"
    notice = b.get(url)
    html = notice.get_data(as_text=True)
    assert notice.status_code == 200 and 'id="print-long"' in html and "超过5人" in html
    assert "format=xlsx" in html and "all=1" in html and 'class="print-sheet' not in html
    printed = b.get(url + "&all=1").get_data(as_text=True)
    assert 'class="print-sheet' in printed and printed.count("<tr") > 6
    # A short list prints at once; so do the group tables, whatever their length.
    monkeypatch.setattr(views, "PRINT_MEMBER_LIMIT", 10_000)
    assert 'class="print-sheet' in b.get(url).get_data(as_text=True)
    assert 'class="print-sheet' in b.get(url.replace("table=members", "table=employer")).get_data(as_text=True)


def test_the_year_list_offers_years_with_something_in_them(world, login):
    from kmvolunteer.core.time import local_today

    this_year = local_today().year
    html = login("city_org").get(f"/tallies/areas/{world.city.id}").get_data(as_text=True)
    offered = {int(y) for y in re.findall(r'<option value="(\d{4})"', html)}
    assert offered == {this_year, this_year - 1}  # nothing kept or closed yet: not two years back
    rollup.refresh_year(this_year - 3)
    db.session.commit()
    html = login("city_org").get(f"/tallies/areas/{world.city.id}").get_data(as_text=True)
    assert this_year - 3 in {int(y) for y in re.findall(r'<option value="(\d{4})"', html)}


STEPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "approve",
                "return",
                "reject",
                "revoke",
                "withdraw_entry",
                "confirm",
                "reject_report_in",
                "withdraw_report_in",
                "end",
                "rate",
                "deactivate",
                "log",
                "edit",
                "rule",
            ]
        ),
        st.integers(0, 10_000),  # which object
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(steps=STEPS)
def test_random_transitions_through_the_services_keep_every_counter_equal_to_a_recount(world, steps):
    """Any sequence of the public services' transitions, refused or not: the kept facts and the cells (the
    only counters) equal a recount after every commit (they follow the events, not the callers)."""
    from kmvolunteer.org import services as org_services
    from kmvolunteer.reportin import services as reportin_services
    from kmvolunteer.reports import services as report_services
    from kmvolunteer.service import services as service_services

    if not rollup.open_kept_years():
        _random_city(world, random.Random(23), 12)
        db.session.add(ReportIn(kind="member", member=world.members["member"], community=world.community))
        db.session.flush()
        reportin_services.confirm_report_in(db.session.scalars(select(ReportIn).order_by(ReportIn.id.desc())).first())
        rollup.refresh_year(YEAR)
        db.session.commit()
    secretary = world.users["community_secretary"]
    author = world.members["member"]

    def entry(index: int) -> EntryData:
        return EntryData(
            service_date=date(YEAR, 1 + index % 11, 1 + index % 28),
            content=f"服务{index}",
            community_id=world.community.id,
            hours=Decimal(1 + index % 4),
            late_reason="补录",
        )

    def pick(model, index, *where):
        rows = db.session.scalars(select(model).where(*where).order_by(model.id)).all()
        return rows[index % len(rows)] if rows else None

    for action, index in steps:
        record = pick(ServiceRecord, index)
        report_in = pick(ReportIn, index, ReportIn.kind == "member")
        member = pick(Member, index, Member.active.is_(True))
        try:
            if action in ("approve", "withdraw_entry") and record is not None:
                do = service_services.approve if action == "approve" else service_services.withdraw
                do(record, secretary if action == "approve" else record.member.user or secretary)
            elif action in ("return", "reject", "revoke") and record is not None:
                decide = {"return": service_services.return_entry, "reject": service_services.reject}
                decide.get(action, service_services.revoke)(record, secretary, "原因")
            elif action == "confirm" and report_in is not None:
                reportin_services.confirm_report_in(report_in)
            elif action == "reject_report_in" and report_in is not None:
                reportin_services.reject_report_in(report_in, "不在辖区")
            elif action == "withdraw_report_in" and report_in is not None:
                reportin_services.withdraw_report_in(report_in)
            elif action == "end" and report_in is not None:
                reportin_services.end_report_in(report_in, reason="工作调动")
            elif action == "rate" and report_in is not None and report_in.status == "confirmed":
                report_services.set_rating(
                    report_in.community,
                    report_in.member,
                    YEAR,
                    RATINGS[index % 4],
                    reason="复核",
                    today=date(YEAR, 12, 1),
                )
            elif action == "deactivate" and member is not None and member.user_id is None:
                org_services.deactivate_member(member)
            elif action == "log":
                service_services.log_entry(author, author.user, entry(index))
            elif action == "edit" and (mine := pick(ServiceRecord, index, ServiceRecord.member_id == author.id)):
                service_services.edit_entry(mine, author.user, entry(index + 7))
            elif action == "rule":
                set_rule(world.city, YEAR, RuleValues(index % 9, index % 3, index % 2 == 0, "year", None, None, "year"))
            db.session.commit()
        except ServiceError:
            db.session.rollback()
        db.session.expire_all()
        assert rollup.differences(YEAR) == {"facts": 0, "cells": 0}


def test_shortfall_names_members_not_reported_in_and_lists_branches_without_a_report_in(world, login):
    from tests.factories import make_record, report_in_at

    _wipe_facts()
    db.session.add(
        YearRule(year=YEAR, area_id=world.city.id, min_half_hours=4, min_activities=1, report_required=False)
    )
    report_in_at(world.community, member=world.members["member"])
    make_record(world.members["member"], world.community, date(YEAR, 3, 1), half_hours=8)
    report_in_at(world.community, branch=world.branch)
    # 官渡区's branch co-built until the year before: it has not reported in this year.
    report_in_at(world.other_community, branch=world.other_branch, status="ended", ended_at=date(YEAR - 1, 6, 1))
    db.session.commit()
    b = login("district_org")
    text = b.get(f"/tallies/areas/{world.district.id}/shortfall?year={YEAR}&format=csv").data.decode("utf-8-sig")
    members = {r["姓名"]: r for r in csv.DictReader(io.StringIO(text))}
    assert set(members) == {"李红"}  # 张明 reported in and served; 王刚's agency is 官渡区's
    assert members["李红"]["不达标原因"].startswith("未报到")
    page = b.get(f"/tallies/areas/{world.district.id}/shortfall?year={YEAR}").get_data(as_text=True)
    assert "未达标的支部" in page, re.findall(r"<h[12][^>]*>[^<]*", page)
    text = b.get(f"/tallies/areas/{world.district.id}/shortfall?year={YEAR}&table=branches&format=csv").data.decode(
        "utf-8-sig"
    )
    assert [(r["支部"], r["党员数"]) for r in csv.DictReader(io.StringIO(text))] == [("离退休干部党支部", "1")]
    # The city's list, recounted: every active branch but those with a report-in in force during the year.
    city = [r.branch_id for r in services.branch_shortfalls(YEAR, world.city)]
    assert sorted(city) == sorted([world.branch2.id, world.other_branch.id])
    # A community's shortfall is by place of service: members reported in there; no branch table.
    secretary = login("community_secretary").get(f"/tallies/areas/{world.community.id}/shortfall?year={YEAR}")
    assert "未达标的支部" not in secretary.get_data(as_text=True)
