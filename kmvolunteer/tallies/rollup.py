"""Keeping the tallies of open years current, so a city tally reads thousands of rows, not millions.

For every kept year (KeptYear) each active member has a MemberFact row, and the members
of one agency serving in one community are summed in a TallyCell: these are the only
counters of service records. What a member's figures depend on is followed through the
features' events (``core.machine.transitioned``, ``org.models.members_changed``):

* a service record created or changed moves its difference (hours, entries, hours of its
  month) into the member's fact of the record's year — one ``UPDATE … RETURNING``, which
  also tells whether the member now meets the rule — and into their cell: two rows;
* anything else (report-ins, reports, ratings, the roster) ``touch``es the member, whose
  facts are recomputed from the records (in the report's year only, for a report);

both just before the transaction commits, facts in member order and then cells in key order,
so two transactions never wait for each other in a circle. A change of the year's rule, or
reopening a year, recomputes the whole year (``touch_year``). A closed year's cells are frozen
with its snapshot (``freeze_year``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    and_,
    case,
    delete,
    event,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.orm import Session

from kmvolunteer.core import machine
from kmvolunteer.core.db import add_to, forget_on_rollback
from kmvolunteer.core.time import local_today, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import bulk_loaded, members_changed
from kmvolunteer.reportin.models import ReportIn, ReportInStatus
from kmvolunteer.reports.models import Rating, Report
from kmvolunteer.service.models import RecordStatus, ServiceRecord
from kmvolunteer.tallies.facts import COUNTERS, RAW_COLUMNS, live_raw, members_raw
from kmvolunteer.tallies.models import MONTHS, KeptYear, MemberFact, TallyCell
from kmvolunteer.years import rules
from kmvolunteer.years.models import Year, year_is_closed

TOUCHED_MEMBERS = "tallies.touched_members"
TOUCHED_YEARS = "tallies.touched_years"
RECORD_DELTAS = "tallies.record_deltas"
CHUNK = 500
NEVER_DUE = date(9999, 12, 31)
SUMS = (
    "headcount",
    "half_hours",
    "reports",
    "met_service",
    "met_all",
    *(f"rating_{r.value}" for r in Rating),
    *MONTHS,
)
# The columns of a member's fact that decide what it adds to the cell, read back after a change.
CONTRIBUTING = (
    "agency_id",
    "community_id",
    "agency_area_id",
    "report_due",
    *COUNTERS,
    "reports_submitted",
    "rating",
    "min_half_hours",
    "min_activities",
    "reports_needed",
    *MONTHS,
)


def touch(*member_ids: int, year: int | None = None) -> None:
    """Recompute these members' facts (of ``year`` only, when given) when the current transaction commits."""
    db.session.info.setdefault(TOUCHED_MEMBERS, set()).update((member_id, year) for member_id in member_ids)


# What a member's figures depend on, followed through the features' events: every change of a
# service record, a report-in that is or was confirmed, a member's report, the roster and ratings.


def _counted(year: int, status: str, half_hours: int, month: int) -> dict[tuple[int, str], int]:
    """What one record in this state adds to its member's counters, by (year, counter)."""
    if status == RecordStatus.approved.value:
        return {
            (year, "approved_half_hours"): half_hours,
            (year, "approved_entries"): 1,
            (year, MONTHS[month - 1]): half_hours,
        }
    if status == RecordStatus.submitted.value:
        return {(year, "pending_entries"): 1}
    return {}


@machine.transitioned.connect_via(ServiceRecord)
def _service_record_changed(sender: type, *, obj: Any, previous: dict[str, Any] | None, **_: Any) -> None:
    """Move the record's difference into its member's counters when the transaction commits."""
    now = _counted(obj.year, obj.status, obj.half_hours, obj.service_date.month)
    deltas = db.session.info.setdefault(RECORD_DELTAS, {})
    changes = [(now, 1)]
    if previous is not None:
        was = {**{key: getattr(obj, key) for key in ("year", "status", "half_hours", "service_date")}, **previous}
        changes.append((_counted(was["year"], was["status"], was["half_hours"], was["service_date"].month), -1))
    for counted, sign in changes:
        for (year, name), value in counted.items():
            delta = deltas.setdefault((year, obj.member_id), Counter())
            delta[name] += sign * value


forget_on_rollback(RECORD_DELTAS)


@machine.transitioned.connect_via(Report)
def _member_report_changed(sender: type, *, obj: Any, **_: Any) -> None:
    if obj.member_id is not None:
        touch(obj.member_id, year=obj.year)


@machine.transitioned.connect_via(ReportIn)
def _report_in_changed(sender: type, *, obj: Any, previous: dict[str, Any] | None, **_: Any) -> None:
    confirmed = ReportInStatus.confirmed.value
    if obj.member_id is not None and confirmed in (obj.status, (previous or {}).get("status")):
        touch(obj.member_id)


@members_changed.connect
def _members_changed(sender: Any, *, member_ids: Iterable[int]) -> None:
    touch(*member_ids)


@bulk_loaded.connect
def _bulk_loaded(sender: Any) -> None:
    for year in years_in_use():
        touch_year(year)


@rules.rule_changed.connect
def touch_year(year: int) -> None:
    """Recompute (and from now on keep) the whole year when the current transaction commits."""
    db.session.info.setdefault(TOUCHED_YEARS, set()).add(year)


@event.listens_for(Session, "before_commit")
def _refresh_touched(session: Session) -> None:
    """Only db.session is ever touched, so ``session`` is the one db.session stands for."""
    if session.in_nested_transaction():
        return  # a savepoint is being released; the refresh waits for the real commit
    years = session.info.pop(TOUCHED_YEARS, set())
    touched = session.info.pop(TOUCHED_MEMBERS, set())
    everywhere = {member_id for member_id, year in touched if year is None}
    in_year = {
        (year, member_id)
        for member_id, year in touched
        if year is not None and year not in years and member_id not in everywhere
    }
    # A member or year recomputed from the records needs no deltas; nor does a delta that adds up to nothing.
    deltas = {
        key: {name: value for name, value in delta.items() if value}
        for key, delta in session.info.pop(RECORD_DELTAS, {}).items()
        if key[0] not in years and key[1] not in everywhere and key not in in_year
    }
    deltas = {key: delta for key, delta in deltas.items() if delta}
    for year in sorted(years):
        if not year_is_closed(year):  # a closed year's cells stay as frozen with its snapshot
            refresh_year(year)
    cells = CellChanges()
    if deltas:
        _lock_kept_tallies(exclusive=False)
        in_year |= _move_facts(deltas, cells)
    if everywhere:
        refresh_members(everywhere, cells)
    for year in sorted({year for year, _member_id in in_year}):
        refresh_members({member_id for y, member_id in in_year if y == year}, cells, only_year=year)
    cells.write()


# PostgreSQL: a year being recomputed is locked against the refresh of single members, which
# would otherwise miss the year (not yet visible as kept) or collide with its deleted rows.
# SQLite has one writer at a time, so it needs no lock.
_LOCK_KEY = 0x6B6D7674  # "kmvt"


def _lock_kept_tallies(exclusive: bool) -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        db.session.execute(select(getattr(func, function)(_LOCK_KEY)))


def _move_facts(deltas: dict[tuple[int, int], dict[str, int]], cells: CellChanges) -> set[tuple[int, int]]:
    """Add each (year, member)'s deltas to their fact, one UPDATE … RETURNING each, and gather what
    that changes in their cells. Returns the (year, member)s without a fact (a year not kept, or a
    member not counted yet): they are recomputed instead."""
    missing: set[tuple[int, int]] = set()
    for year, member_id in sorted(deltas):
        delta = deltas[(year, member_id)]
        new = db.session.execute(
            update(MemberFact)
            .where(MemberFact.year == year, MemberFact.member_id == member_id)
            .values({name: getattr(MemberFact, name) + value for name, value in delta.items()})
            .returning(*(getattr(MemberFact, name) for name in CONTRIBUTING))
            .execution_options(synchronize_session=False)
        ).one_or_none()
        if new is None:
            missing.add((year, member_id))
            continue
        old = {name: getattr(new, name) - value for name, value in delta.items()}
        cells.add(year, SimpleNamespace(**{**new._asdict(), **old}), -1)
        cells.add(year, new, 1)
    return missing


def freeze_year(year: int) -> None:
    """The year is being closed: its cells stop changing, and a report not yet due now never will be
    (as in the snapshot, which counts reports due by the day of closing)."""
    db.session.execute(
        update(TallyCell)
        .where(TallyCell.year == year, TallyCell.report_due >= local_today())
        .values(report_due=NEVER_DUE)
        .execution_options(synchronize_session=False)
    )


def open_kept_years() -> list[int]:
    closed = select(Year.year).where(Year.status == "closed")
    return list(db.session.scalars(select(KeptYear.year).where(KeptYear.year.not_in(closed)).order_by(KeptYear.year)))


def contribution(fact: Any) -> Counter:
    """What one member's facts add to their cell."""
    ruled = fact.min_half_hours is not None
    met_service = (
        ruled and fact.approved_half_hours >= fact.min_half_hours and fact.approved_entries >= fact.min_activities
    )
    met_all = met_service and fact.reports_submitted >= (fact.reports_needed or 0)
    parts = Counter(
        headcount=1,
        half_hours=fact.approved_half_hours,
        reports=int(fact.reports_submitted > 0),
        met_service=int(met_service),
        met_all=int(met_all),
    )
    if fact.rating:
        parts[f"rating_{fact.rating}"] = 1
    for name in MONTHS:
        parts[name] = getattr(fact, name)
    return parts


def _cell_key(fact: Any) -> tuple[int, int]:
    return fact.agency_id, fact.community_id or 0


class CellChanges:
    """What facts moved add to their cells, gathered to be written once per cell, in key order."""

    def __init__(self) -> None:
        self.deltas: dict[tuple[int, int, int], Counter] = {}
        self.shapes: dict[tuple[int, int, int], Any] = {}

    def add(self, year: int, fact: Any, sign: int) -> None:
        key = (year, *_cell_key(fact))
        delta = self.deltas.setdefault(key, Counter())
        for name, value in contribution(fact).items():
            delta[name] += sign * value
        if sign == 1:
            self.shapes[key] = fact

    def write(self) -> None:
        for key in sorted(self.deltas):
            delta = {name: value for name, value in self.deltas[key].items() if value}
            if delta:
                _add_to_cell(key[0], key[1:], delta, self.shapes.get(key))


def refresh_members(member_ids: Iterable[int], cells: CellChanges, only_year: int | None = None) -> None:
    """Recompute these members' facts in every open kept year (or in ``only_year``, if kept and open) and
    gather the difference in ``cells``, for the caller to write."""
    session = db.session
    ids = sorted(set(member_ids))
    _lock_kept_tallies(exclusive=False)
    for year in open_kept_years():
        if only_year not in (None, year):
            continue
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            old = session.execute(
                select(MemberFact.__table__)
                .where(MemberFact.year == year, MemberFact.member_id.in_(chunk))
                .order_by(MemberFact.member_id)
                .with_for_update()
            ).all()
            new = session.execute(
                members_raw(),
                {"year": year, "member_ids": chunk, "report_member_ids": chunk, "record_member_ids": chunk},
            ).all()
            for fact in old:
                cells.add(year, fact, -1)
            for fact in new:
                cells.add(year, fact, 1)
            _store(year, old, new)


def _store(year: int, old: list[Any], new: list[Any]) -> None:
    """Write the new facts over the old in place: a concurrent refresh of the same member waits
    on the row lock and then reads these values as its ``old`` (a delete and insert would not)."""
    existing = {fact.member_id for fact in old}
    rows = [{"year": year, **row._asdict()} for row in new]
    changed = [row for row in rows if row["member_id"] in existing]
    added = [row for row in rows if row["member_id"] not in existing]
    gone = existing - {row["member_id"] for row in rows}
    if changed:
        db.session.execute(update(MemberFact), changed)
    if added:
        db.session.execute(insert(MemberFact), added)
    if gone:
        db.session.execute(
            delete(MemberFact)
            .where(MemberFact.year == year, MemberFact.member_id.in_(gone))
            .execution_options(synchronize_session=False)
        )


def _add_to_cell(year: int, key: tuple[int, int], delta: dict[str, int], fact: Any) -> None:
    agency_id, community_id = key
    keys = {"year": year, "agency_id": agency_id, "community_id": community_id}
    if fact is None:  # the member left the cell, which holds them still
        db.session.execute(
            update(TallyCell)
            .where(*(getattr(TallyCell, name) == value for name, value in keys.items()))
            .values({name: getattr(TallyCell, name) + value for name, value in delta.items()})
            .execution_options(synchronize_session=False)
        )
        return
    shape = {
        "agency_area_id": fact.agency_area_id,
        "ruled": fact.min_half_hours is not None,
        "report_due": fact.report_due,
    }
    add_to(TallyCell, keys, delta, {**shape, **{name: 0 for name in SUMS if name not in delta}})


def _met_service(f):
    return and_(
        f.min_half_hours.is_not(None), f.approved_half_hours >= f.min_half_hours, f.approved_entries >= f.min_activities
    )


def _one_if(condition):
    return case((condition, 1), else_=0)


def cells_from_facts(year: int):
    """The cells of ``year`` computed from its MemberFact rows (to fill them, and to check them)."""
    f = MemberFact
    met_service = _met_service(f)
    met_all = and_(met_service, f.reports_submitted >= func.coalesce(f.reports_needed, 0))
    # A literal, not a bound 0: PostgreSQL must see the same expression in SELECT and GROUP BY.
    community_id = func.coalesce(f.community_id, literal_column("0"))
    return (
        select(
            f.agency_id,
            community_id.label("community_id"),
            func.max(f.agency_area_id).label("agency_area_id"),
            (func.max(_one_if(f.min_half_hours.is_not(None))) == 1).label("ruled"),
            func.max(f.report_due).label("report_due"),
            func.count().label("headcount"),
            func.sum(f.approved_half_hours).label("half_hours"),
            func.sum(_one_if(f.reports_submitted > 0)).label("reports"),
            func.sum(_one_if(met_service)).label("met_service"),
            func.sum(_one_if(met_all)).label("met_all"),
            *(func.sum(_one_if(f.rating == r.value)).label(f"rating_{r.value}") for r in Rating),
            *(func.sum(getattr(f, name)).label(name) for name in MONTHS),
        )
        .where(f.year == year)
        .group_by(f.agency_id, community_id)
    )


def refresh_year(year: int) -> None:
    """Recompute every member's facts and every cell of ``year`` from the records, and keep the year."""
    session = db.session
    _lock_kept_tallies(exclusive=True)
    session.execute(delete(TallyCell).where(TallyCell.year == year))
    session.execute(delete(MemberFact).where(MemberFact.year == year))
    raw = live_raw(year).subquery()
    session.execute(
        insert(MemberFact).from_select(
            ["year", *RAW_COLUMNS], select(literal(year), *(raw.c[name] for name in RAW_COLUMNS))
        )
    )
    cells = cells_from_facts(year).subquery()
    columns = ["agency_id", "community_id", "agency_area_id", "ruled", "report_due", *SUMS]
    session.execute(
        insert(TallyCell).from_select(["year", *columns], select(literal(year), *(cells.c[name] for name in columns)))
    )
    kept = session.get(KeptYear, year)
    if kept is None:
        session.add(KeptYear(year=year, refreshed_at=utcnow()))
    else:
        kept.refreshed_at = utcnow()
    session.flush()


def years_in_use() -> list[int]:
    """This year and every open year that has a rule or service records: the years worth keeping."""
    from kmvolunteer.years.models import YearRule

    years = set(db.session.scalars(select(YearRule.year).distinct()))
    years |= set(db.session.scalars(select(ServiceRecord.year).distinct()))
    years.add(local_today().year)
    closed = set(db.session.scalars(select(Year.year).where(Year.status == "closed")))
    return sorted(years - closed)


def differences(year: int) -> dict[str, int]:
    """How many member facts and cells of a kept year differ from a recount (0 and 0 when all is well)."""
    fact_columns = [getattr(MemberFact, name) for name in RAW_COLUMNS]
    stored_facts = set(db.session.execute(select(*fact_columns).where(MemberFact.year == year)).all())
    live_facts = {tuple(row) for row in db.session.execute(live_raw(year)).all()}
    cell_columns = ["agency_id", "community_id", "agency_area_id", "ruled", "report_due", *SUMS]
    stored_cells = {
        tuple(row)
        for row in db.session.execute(
            select(*(getattr(TallyCell, name) for name in cell_columns)).where(
                TallyCell.year == year, TallyCell.headcount != 0
            )
        )
    }
    counted = cells_from_facts(year).subquery()
    counted_cells = {tuple(row) for row in db.session.execute(select(*(counted.c[name] for name in cell_columns)))}
    return {"facts": len(stored_facts ^ live_facts), "cells": len(stored_cells ^ counted_cells)}
