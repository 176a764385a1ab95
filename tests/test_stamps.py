"""Stamps and kept fragments (core/stamps.py): a kept page is never older than what it shows."""

from __future__ import annotations

import ast
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask import g

from kmvolunteer.core import stamps
from kmvolunteer.core.stamps import FragmentCache
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.reportin import services as reportin_services
from kmvolunteer.service import services
from kmvolunteer.service.models import ServiceRecord
from kmvolunteer.service.services import EntryData
from tests.factories import make_claim, make_need, make_year_rule, service_report_in

YESTERDAY = local_today() - timedelta(days=1)
TOKEN = re.compile(r'(csrf_token" type="hidden" value="|csrf_token" value="|"X-CSRFToken": ")[^"]+')


def now_versions(*keys: str) -> dict[str, int]:
    g.pop(stamps.READ, None)
    return {key: stamps.versions(keys)[key] for key in keys}


def log(world, who: str = "member", community=None, day=YESTERDAY) -> ServiceRecord:
    data = EntryData(
        service_date=day, content="反诈宣传摊位值守", hours=Decimal("2"), community_id=(community or world.community).id
    )
    record = services.log_entry(world.members[who], world.users[who], data)
    db.session.commit()
    return record


@pytest.fixture
def setup(world):
    service_report_in(world.members["member"], world.community)
    service_report_in(world.members["member2"], world.community2)
    db.session.commit()
    return world


# ------------------------------------------------------------------ services


def test_a_changed_row_moves_the_stamps_of_its_owners_and_no_other(app, setup):
    w = setup
    record = log(w)
    member, area = f"member:{record.member_id}", f"area:{record.community_id}"
    before = now_versions(member, area, "rules", "org", f"area:{w.community2.id}")
    record.content = "改过的内容"
    db.session.commit()
    after = now_versions(member, area, "rules", "org", f"area:{w.community2.id}")
    assert after[member] != before[member] and after[area] != before[area]
    assert [after[k] == before[k] for k in ("rules", "org", f"area:{w.community2.id}")] == [True] * 3


def test_moving_a_row_moves_the_old_and_the_new_owner(app, setup):
    w = setup
    record = log(w)
    old, new = f"area:{w.community.id}", f"area:{w.community2.id}"
    before = now_versions(old, new)
    record.community_id = w.community2.id
    db.session.commit()
    after = now_versions(old, new)
    assert after[old] != before[old] and after[new] != before[new]


def test_an_entry_edited_into_another_community_moves_both_communities(app, setup):
    # edit_entry writes with a guarded bulk UPDATE: the new community comes from the UPDATE's values.
    w = setup
    record = log(w)
    old, new = f"area:{w.community.id}", f"area:{w.community2.id}"
    before = now_versions(old, new)
    need = make_need(w.community2)  # a member logs service elsewhere only on a need they claimed
    make_claim(need, w.members["member"])
    data = EntryData(
        service_date=YESTERDAY,
        content="反诈宣传摊位值守",
        hours=Decimal("2"),
        community_id=w.community2.id,
        need_id=need.id,
    )
    services.edit_entry(record, w.users["member"], data)
    db.session.commit()
    after = now_versions(old, new)
    assert db.session.get(ServiceRecord, record.id).community_id == w.community2.id
    assert after[old] != before[old] and after[new] != before[new]


def test_a_rolled_back_change_moves_nothing(app, setup):
    w = setup
    record = log(w)
    key = f"member:{record.member_id}"
    before = now_versions(key)
    record.content = "不会保存"
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert now_versions(key) == before


def test_a_decision_by_guarded_update_moves_the_stamps(app, setup):
    # approve() changes the row with UPDATE … WHERE status = 'submitted', which the ORM does not see.
    w = setup
    record = log(w)
    keys = (f"member:{record.member_id}", f"area:{record.community_id}")
    before = now_versions(*keys)
    services.approve(record, w.users["community_secretary"])
    db.session.commit()
    after = now_versions(*keys)
    assert all(after[k] != before[k] for k in keys)


def test_a_need_closed_by_bulk_update_moves_its_community(app, setup):
    w = setup
    need = make_need(w.community)
    db.session.commit()
    key = f"area:{w.community.id}"
    before = now_versions(key)
    reportin_services.set_need_status(need, "closed")
    db.session.commit()
    assert now_versions(key) != before


def test_nothing_is_kept_while_the_transaction_has_changes_of_its_own(app, setup):
    w = setup
    calls = []

    def build() -> str:
        calls.append(1)
        return "x"

    with app.test_request_context():
        assert stamps.cached("probe", ["org"], build) == "x"
        assert stamps.cached("probe", ["org"], build) == "x"
        assert len(calls) == 1  # kept
        w.branch.name = "改名中的支部"  # not committed: its stamp has not moved yet
        assert stamps.cached("probe", ["org"], build) == "x"
        assert len(calls) == 2
        db.session.rollback()


def test_the_cache_drops_the_least_recently_used_beyond_its_size():
    cache = FragmentCache(max_chars=100)
    cache.put(("a",), "a" * 9)
    cache.put(("b",), "b" * 9)
    assert cache.get(("a",)) == "a" * 9  # a is now the most recently used
    for index in range(11):
        cache.put(("filler", index), "f" * 9)
    assert cache.get(("a",)) is None and cache.get(("b",)) is None
    cache.put(("huge",), "h" * 11)  # over a tenth of the cache: not kept at all
    assert cache.get(("huge",)) is None


def _stamped_models() -> set[str]:
    from kmvolunteer.extensions import db as database

    return {
        mapper.class_.__name__
        for mapper in database.Model.registry.mappers
        if getattr(mapper.class_, "__stamps__", None)
    }


def test_every_bulk_change_of_a_stamped_model_touches_its_stamps(app):
    """UPDATE/DELETE/INSERT statements bypass the ORM's bookkeeping: the function running one must
    call stamps.touch or stamps.touch_row. (The demo seeders fill a database before it is served.)"""
    stamped = _stamped_models()
    assert {"ServiceRecord", "ReportIn", "Need", "Claim", "Report", "Member", "YearRule"} <= stamped
    missing = []
    root = Path(__file__).resolve().parent.parent / "kmvolunteer"
    for path in root.rglob("*.py"):
        if path.name == "demo.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            calls = [n for n in ast.walk(function) if isinstance(n, ast.Call)]
            bulk = [
                c
                for c in calls
                if isinstance(c.func, ast.Name)
                and c.func.id in ("update", "delete", "insert")
                and c.args
                and isinstance(c.args[0], ast.Name)
                and c.args[0].id in stamped
            ]
            touches = any(
                isinstance(c.func, ast.Attribute)
                and c.func.attr in ("touch", "touch_row")
                and isinstance(c.func.value, ast.Name)
                and c.func.value.id == "stamps"
                for c in calls
            )
            if bulk and not touches:
                missing.append(f"{path.relative_to(root)}:{function.name}")
    assert missing == []


# ------------------------------------------------------------------ pages


def _without_tokens(html: str) -> str:
    return TOKEN.sub(r"\1…", html)


def _kept_equals_fresh(app, browser, url: str) -> str:
    """The page as kept (asked twice: built, then reused) equals the page built afresh."""
    browser.get(url)
    kept = browser.get(url).get_data(as_text=True)
    app.extensions["kmvolunteer.fragments"].clear()
    fresh = browser.get(url).get_data(as_text=True)
    assert _without_tokens(kept) == _without_tokens(fresh)
    return _without_tokens(fresh)


def test_the_member_home_follows_every_change_it_shows(app, login, setup):
    w = setup
    member = login("13800000001")
    page = _kept_equals_fresh(app, member, "/")
    steps = {
        "an entry logged": lambda: log(w),
        "the entry approved": lambda: services.approve(
            db.session.scalars(db.select(ServiceRecord)).one(), w.users["community_secretary"]
        ),
        "a need published in the member's community": lambda: make_need(w.community, title="新的需求"),
        "the year's rule set": lambda: make_year_rule(w.city, local_today().year),
        "the community renamed": lambda: setattr(w.community, "name", "翠湖新社区"),
    }
    for step, change in steps.items():
        change()
        db.session.commit()
        before, page = page, _kept_equals_fresh(app, member, "/")
        assert page != before, f"the home page did not change after {step}"
    assert "翠湖新社区" in page


def test_a_reminder_shows_on_the_kept_home_page(app, login, world):
    member = login("13800000003")  # no report-in yet
    before = _kept_equals_fresh(app, member, "/")
    assert 'id="reminder-notice"' not in before
    assert reportin_services.remind_members(world.other_branch, [world.members["other_member"]]) == 1
    db.session.commit()
    assert 'id="reminder-notice"' in _kept_equals_fresh(app, member, "/")


def test_the_member_home_is_kept_until_something_changes(app, login, setup):
    member = login("13800000001")
    member.get("/")
    cache = app.extensions["kmvolunteer.fragments"]
    kept = len(cache._items)
    assert kept >= 3  # the member's three sections
    member.get("/")
    assert len(cache._items) == kept  # reused, not built again
    log(setup)
    member.get("/")
    assert len(cache._items) > kept  # built again under the new stamps


def test_the_queue_follows_entries_decisions_and_names(app, login, setup, english):
    w = setup
    secretary = login("community_secretary")
    assert "反诈宣传摊位值守" not in secretary.get("/service/queue").get_data(as_text=True)
    record = log(w)
    assert "反诈宣传摊位值守" in _kept_equals_fresh(app, secretary, "/service/queue")
    w.members["member"].name = "张明明"
    db.session.commit()
    assert "张明明" in _kept_equals_fresh(app, secretary, "/service/queue")
    response = secretary.post(f"/service/records/{record.id}/approve", headers={"HX-Request": "true"})
    assert response.status_code == 200
    page = _kept_equals_fresh(app, secretary, "/service/queue")
    assert "张明明" not in page and "No entries match." in page
    fragment = secretary.get("/service/queue?status=approved", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True) and "张明明" in fragment.get_data(as_text=True)


def test_each_session_gets_its_own_token_in_a_kept_queue(app, login, setup):
    """The bulk form of the queue carries the session's CSRF token: a second session of the same
    account must not be given the first one's page."""
    w = setup
    log(w)
    log(w, day=YESTERDAY - timedelta(days=1))
    first, second = login("community_secretary"), login("community_secretary")
    pages = [browser.get("/service/queue").get_data(as_text=True) for browser in (first, second)]
    for index, (browser, html) in enumerate(zip((first, second), pages, strict=True)):
        token = re.search(r'id="bulk-form">\s*<input type="hidden" name="csrf_token" value="([^"]+)"', html).group(1)
        one_id = re.findall(r'name="ids" value="(\d+)"', html)[index]
        response = browser.post("/service/queue/bulk", {"csrf_token": token, "ids": [one_id], "bulk_action": "approve"})
        assert response.status_code == 303
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(ServiceRecord.id)).where(ServiceRecord.status == "approved")) == 2
