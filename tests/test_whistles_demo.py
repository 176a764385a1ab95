"""The generated city's whistles (whistles/demo_city.py), bulk-written: they must read as the services would
have written them — statuses and steps of the declared machines, deadlines of deadlines.py, the timeline's
audit entries with ``late``, escalations linked one tier up — and the pages and statistics must read them."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from kmvolunteer import demo
from kmvolunteer.auth.models import RoleGrant, User
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.time import local_today, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area
from kmvolunteer.tallies.whistles import period, whistle_stats
from kmvolunteer.whistles import deadlines, services
from kmvolunteer.whistles.models import SUMMONSES, WHISTLES, Summons, Whistle, WhistleStatus
from tests.conftest import KEPT


@pytest.fixture(scope="module")
def demo_city(app):
    """A small generated city with its three years of whistles, committed once for this module (the
    conftest's fixture of this name, for a generated city)."""
    KEPT.empty(app)
    KEPT.written = True
    with app.app_context():
        demo.seed(generated=demo.Sizes(communities=30, branches=40, members=400), echo=lambda *_: None)
        db.session.remove()
    yield
    KEPT.empty(app)


def _entries(kind: str) -> dict[int, list[AuditEntry]]:
    found: dict[int, list[AuditEntry]] = {}
    for entry in db.session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == kind).order_by(AuditEntry.at, AuditEntry.id)
    ):
        found.setdefault(entry.object_id, []).append(entry)
    return found


def test_every_status_came_by_declared_steps_with_their_audit(demo_city, ctx):
    codes = {machine: {t.audit: t for t in machine.transitions.values()} for machine in (WHISTLES, SUMMONSES)}
    whistles = {w.id: w for w in db.session.scalars(select(Whistle))}
    statuses = Counter(w.status for w in whistles.values())
    assert set(statuses) == {s.value for s in WhistleStatus}, statuses
    for machine, kind, objects, created in (
        (WHISTLES, "Whistle", whistles, "whistle.blown"),
        (SUMMONSES, "Summons", {s.id: s for s in db.session.scalars(select(Summons))}, "summons.summoned"),
    ):
        trails = _entries(kind)
        assert set(trails) == set(objects)
        for object_id, obj in objects.items():
            entries = trails[object_id]
            assert entries[0].action == created
            status = machine.statuses[0]
            for entry in entries[1:]:
                transition = codes[machine].get(entry.action)
                if transition is None:
                    assert entry.action == "summons.progress"
                    continue
                assert status in transition.source and entry.before_data()["status"] == status, (kind, object_id)
                status = entry.after_data()["status"]
                assert status == transition.target
            assert status == obj.status, (kind, object_id)
            # People take every step but the system's: settling, and the pass's escalations (a new whistle too).
            people = [e for e in entries if e.action not in ("whistle.handled", "whistle.escalated", "whistle.blown")]
            assert all(e.actor_id is not None for e in people), (kind, object_id)
    serials = {w.serial for w in whistles.values()}
    assert len(serials) == len(whistles)
    ordered = sorted(whistles.values(), key=lambda w: w.id)
    assert all(a.created_at <= b.created_at for a, b in zip(ordered, ordered[1:], strict=False))


def test_deadlines_and_lateness_are_those_of_the_services(demo_city, ctx):
    summonses = db.session.scalars(
        select(Summons).where(Summons.unsatisfied_count == 0).order_by(Summons.id).limit(300)
    ).all()
    trails = _entries("Summons")
    late_steps = 0
    for s in summonses:
        limits = deadlines.limits_for(s.whistle.area.level, s.whistle.urgency)
        assert deadlines.deadlines_from(s.summoned_at, limits) == deadlines.Deadlines(
            s.sign_due_at, s.contact_due_at, s.handle_due_at
        )
        for entry in trails[s.id]:
            due = services.LATE_CHECKS.get(entry.action)
            if due:
                assert entry.after_data()["late"] == (entry.at > getattr(s, due))
                late_steps += entry.after_data()["late"]
    assert 0 < late_steps < len(summonses) / 4


def test_escalations_are_linked_one_tier_up_and_the_pass_finds_nothing_old(demo_city, ctx):
    escalated = db.session.scalars(select(Whistle).where(Whistle.status == WhistleStatus.escalated.value)).all()
    assert escalated
    kinds = Counter()
    for lower in escalated:
        higher = lower.escalated_to
        assert higher is not None and higher.area_id == lower.area.parent_id
        assert higher.escalation_reason
        (entry,) = [e for e in _entries_of(lower) if e.action == "whistle.escalated"]
        assert entry.at == higher.created_at
        assert entry.after_data()["escalation_reason"] == higher.escalation_reason
        assert entry.after_data()["reason"] == lower.reason
        kinds[higher.escalation_reason] += 1
    assert kinds["overdue"] > kinds["manual"] > 0
    # The worker's pass would have escalated what is overdue a few minutes after its deadline: a pass now
    # finds only what fell due in the last minutes (the seed ran a little before).
    now = utcnow()
    for higher in services.escalation_pass(now):
        lower = higher.escalated_from
        due = min(
            min(s.sign_due_at, s.contact_due_at, s.handle_due_at) for s in lower.summonses if s.status != "declined"
        )
        assert due > now - timedelta(minutes=30), lower.serial
    db.session.rollback()


def _entries_of(whistle: Whistle) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.object_type == "Whistle", AuditEntry.object_id == whistle.id)
        )
    )


def test_the_pages_show_generated_whistles(demo_city, app, login):
    with app.app_context():
        picks = []
        for status in (WhistleStatus.closed, WhistleStatus.escalated, WhistleStatus.open):
            whistle = db.session.scalar(
                select(Whistle)
                .where(Whistle.status == status.value, Whistle.blower_id.is_not(None))
                .order_by(Whistle.id.desc())
                .limit(1)
            )
            picks.append((whistle.id, whistle.serial, db.session.get(User, whistle.blower_id).username))
        overdue = db.session.scalar(
            select(Summons)
            .where(Summons.status == "summoned", Summons.sign_due_at < utcnow())
            .order_by(Summons.sign_due_at)
            .limit(1)
        )
        officer = db.session.scalar(
            select(User.username)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(RoleGrant.department_id == overdue.department_id)
        )
        late_serial = overdue.whistle.serial
        city = db.session.scalar(select(Area.id).where(Area.level == "city"))
        db.session.remove()
    for whistle_id, serial, blower in picks:
        page = login(blower, demo.DEMO_PASSWORD).get(f"/whistles/{whistle_id}")
        assert page.status_code == 200 and serial in page.get_data(as_text=True)
    page = login(officer, demo.DEMO_PASSWORD).get("/whistles/queue?status=overdue")
    assert page.status_code == 200 and late_serial in page.get_data(as_text=True)
    year = local_today().year - 1
    url = f"/tallies/whistles/areas/{city}?from={year}-01-01&to={year}-12-31"
    page = login("city_org", demo.DEMO_PASSWORD).get(url)
    assert page.status_code == 200


def test_a_generated_years_statistics_agree_with_counting(demo_city, ctx):
    city = db.session.scalar(select(Area).where(Area.level == "city"))
    year = local_today().year - 1
    start, end = date(year, 1, 1), date(year, 12, 31)
    stats = whistle_stats(city, start, end, utcnow())
    begin, stop = period(start, end)
    in_year = (Whistle.created_at >= begin, Whistle.created_at < stop)
    whistles = db.session.scalar(select(func.count(Whistle.id)).where(*in_year))
    by_level = dict(
        db.session.execute(
            select(Area.level, func.count(Whistle.id)).join(Area, Whistle.area_id == Area.id).where(*in_year)
            .group_by(Area.level)
        ).all()
    )  # fmt: skip
    summonses = db.session.scalar(select(func.count(Summons.id)).join(Whistle).where(*in_year))
    escalated = db.session.scalar(select(func.count(Whistle.id)).where(*in_year, Whistle.status == "escalated"))
    assert stats.total.whistles == whistles == sum(by_level.values())
    assert {t.key: t.whistles for t in stats.tiers} == by_level
    assert stats.total.summonses == summonses and stats.total.whistles_escalated == escalated
    # A year of a city of 121 communities (the curated ones, more than asked for) at about 40 whistles a
    # community: mostly community → subdistrict, then subdistrict → district, a few district → city.
    assert 121 * 40 * 0.85 < whistles < 121 * 40 * 1.2
    assert by_level["community"] > 0.85 * whistles and 0.06 * whistles < by_level["subdistrict"] < 0.13 * whistles
    assert 0 < by_level["district"] < 0.01 * whistles
    total = stats.total
    assert 0.9 < total.signed_rate < 1 and 0.9 < total.handled_rate < 1 and 0.9 < total.satisfaction_rate < 1
    assert 0 < total.median_hours < 24 * 5
    assert len(stats.departments) > 50
