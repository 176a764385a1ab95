"""What the busiest pages cost (issue 14, item 7): a member's home and the approval queue are built for
each request, so their budget is the SQL statements they send, whatever the data and the grants."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from kmvolunteer.auth.models import Role, RoleGrant
from kmvolunteer.core.audit import record as audit_record
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.reportin.services import REMINDER_ACTION
from tests.factories import make_claim, make_need, make_record, make_report_in, make_rule

# Each request of a test runs in a savepoint of the test's transaction (tests/conftest.py); production
# sends none of these, so they are not counted.
SAVEPOINTS = re.compile(r"(RELEASE |ROLLBACK TO )?SAVEPOINT ")
HOME_BUDGET = 6
QUEUE_BUDGET = 6
APPROVAL_BUDGET, APPROVAL_WRITES = 10, 4


@contextmanager
def statements(app):
    """The statements sent to the database while the block runs."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if not SAVEPOINTS.match(statement):
            sent.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("report_in", ["confirmed", "pending", None])
def test_member_home_within_budget(app, world, login, report_in):
    member = world.members["member"]
    today = local_today()
    for year in (today.year - 1, today.year):
        make_rule(world.city, year)
    make_rule(world.district, today.year, min_half_hours=60)
    if report_in is not None:
        make_report_in(member, world.community, report_in)
    else:
        audit_record(REMINDER_ACTION, member, scope_path=world.district.path, summary="reminded")
    make_claim(make_need(world.community), member)
    make_need(world.community, title="敬老院探访")
    for status in ("approved", "submitted", "returned"):
        make_record(member, world.community, today - timedelta(days=1), status=status)
    db.session.commit()
    browser = login("13800000001")

    with statements(app) as sent:
        response = browser.get("/")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="home-service"' in page and 'id="home-reportin"' in page and 'id="home-reports"' in page
    assert ('id="reminder-notice"' in page) == (report_in is None)
    assert len(sent) <= HOME_BUDGET, "\n".join(sent)


def test_queue_within_budget_and_the_menu_whatever_the_grants(app, world, login):
    today = local_today()
    for days in range(5):
        make_record(world.members["member"], world.community, today - timedelta(days=days), status="submitted")
    make_report_in(world.members["member2"], world.community2, "pending")
    db.session.commit()

    browser = login("community_secretary")
    with statements(app) as sent:
        response = browser.get("/service/queue")
    assert response.status_code == 200
    assert len(sent) <= QUEUE_BUDGET, "\n".join(sent)
    one_grant = len(sent)

    secretary = world.users["community_secretary"]
    for community in (world.community2, world.other_community):
        secretary.grants.append(RoleGrant(role=Role.community_secretary.value, area=community))
    db.session.commit()
    browser = login("community_secretary")
    with statements(app) as sent:
        response = browser.get("/service/queue")

    assert response.status_code == 200
    assert len(sent) == one_grant, "\n".join(sent)
    page = response.get_data(as_text=True)
    # Each community's badge in the menu counts its own report-ins waiting.
    for community, waiting in ((world.community, 0), (world.community2, 1), (world.other_community, 0)):
        assert re.search(rf'id="reportin-badge-{community.id}"[^>]*>{waiting}</span>', page), community.name
    # The menu's count of entries waiting is the queue's.
    assert re.search(r'id="pending-badge"[^>]*>5</span>', page)


def test_one_approval_within_budget(app, world, login):
    """One approval from the queue, the whole HTTP request as `make bench` counts it: the record, its audit
    entry and at most two counter rows (the member's kept facts and their cell) are the only writes.

    Today 7 statements on SQLite; PostgreSQL adds the tallies' shared advisory lock (tallies/rollup.py),
    without which a concurrent recount of the whole year could miss this approval or deadlock with it."""
    from kmvolunteer.tallies import rollup

    today = local_today()
    make_rule(world.city, today.year)
    make_report_in(world.members["member"], world.community, "confirmed")
    record = make_record(world.members["member"], world.community, today - timedelta(days=1), status="submitted")
    rollup.refresh_year(today.year)
    db.session.commit()
    record_id = record.id
    browser = login("community_secretary")
    browser.get("/service/queue")

    with statements(app) as sent:
        response = browser.post(f"/service/records/{record_id}/approve", headers={"HX-Request": "true"})

    assert response.status_code == 200
    writes = [s for s in sent if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    db.session.refresh(record)
    assert record.status == "approved"
    assert len(sent) <= APPROVAL_BUDGET and len(writes) <= APPROVAL_WRITES, "\n".join(sent)


def test_the_whistle_list_costs_the_same_for_one_whistle_or_many(app, world, login):
    """However many whistles, of however many areas, the subdistrict's list sends the same statements."""
    from kmvolunteer.org.models import Department
    from kmvolunteer.whistles import services
    from kmvolunteer.whistles.services import WhistleData

    street = Department(name="华山街道城管中队", area=world.subdistrict)
    db.session.add(street)
    db.session.flush()
    category = services.ensure_default_categories()[0]
    secretary = world.users["community_secretary"]
    secretary.grants.append(RoleGrant(role=Role.community_secretary.value, area=world.community2))

    def blow(*communities) -> None:
        for community in communities:
            data = WhistleData(title="井盖缺失", problem="井盖缺失", address="翠湖南路", category_id=category.id)
            services.blow(community, secretary, data, [street.id])
        db.session.commit()

    def cost() -> int:
        browser = login("subdistrict_officer")
        with statements(app) as sent:
            assert browser.get("/whistles?status=all").status_code == 200
        return len(sent)

    blow(world.community)
    one = cost()
    blow(world.community2, world.community, world.community2)
    assert cost() == one


def test_the_department_queue_costs_the_same_for_one_whistle_or_many_with_photos(app, world, login):
    """However many summonses, each whistle with photos, the department's queue sends the same statements."""
    from kmvolunteer.org.models import Department
    from kmvolunteer.whistles import services
    from kmvolunteer.whistles.services import WhistleData
    from tests.factories import make_user
    from tests.images import jpeg, upload

    street = Department(name="华山街道城管中队", area=world.subdistrict)
    db.session.add(street)
    db.session.flush()
    make_user(
        "street_officer",
        "secret-2026",
        world.subdistrict,
        RoleGrant(role=Role.department_officer.value, department=street),
    )
    category = services.ensure_default_categories()[0]
    secretary = world.users["community_secretary"]

    def blow(times: int) -> None:
        for _ in range(times):
            data = WhistleData(title="井盖缺失", problem="井盖缺失", address="翠湖南路", category_id=category.id)
            services.blow(world.community, secretary, data, [street.id], [upload(jpeg()), upload(jpeg())])
        db.session.commit()

    def cost(whistles: int) -> int:
        browser = login("street_officer")
        with statements(app) as sent:
            page = browser.get("/whistles/queue")
        assert page.status_code == 200 and page.get_data(as_text=True).count("/thumb.jpg") == 2 * whistles
        return len(sent)

    blow(1)
    one = cost(1)
    blow(3)
    assert cost(4) == one


def test_a_feedback_letter_is_counted_in_statements_that_do_not_grow_with_its_members(app, world):
    """A community's letters to all its agencies come within seconds however many members they name: each
    letter's statements depend on its agency's branches, not on its members (issue 16, item 8)."""
    from datetime import date

    from kmvolunteer.letters import services
    from tests.conftest import PASSWORD
    from tests.factories import add_members, letters_world, make_record, report_in_at

    year = local_today().year - 1
    w = letters_world(world, year, PASSWORD)

    def counted() -> int:
        db.session.expire_all()
        with statements(app) as sent:
            content = services.letter_content(w.community, w.agency, year, "Y")
        return len(sent), len(content["members"])

    few, named = counted()
    assert named == 1
    for member in add_members(w.branch, 15, PASSWORD, w.district):
        report_in_at(w.community, member=member)
        make_record(member, w.community, date(year, 4, 1))
    db.session.commit()
    assert counted() == (few, 16)
