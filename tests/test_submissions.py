"""One-time submission keys: a create form sent twice creates one record (issue 13, item 18)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, update

from kmvolunteer.auth.models import User
from kmvolunteer.config import PROJECT_ROOT
from kmvolunteer.core import submissions
from kmvolunteer.core.submissions import Submission
from kmvolunteer.core.time import local_today, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.service import services
from kmvolunteer.service.models import ServiceRecord
from tests.conftest import Browser
from tests.factories import service_report_in

KEY_RE = re.compile(r'name="submission_key" value="([0-9a-f]{32})"')

# Every POST route of the site, sorted: those that create something carry a key in their form.
CREATES = {
    "accounts.add_grant",
    "bodies.change",
    "bodies.new_meeting",
    "accounts.new",
    "letters.correct",
    "letters.issue",
    "bulletins.add_example",
    "bulletins.new",
    "org.add_member",
    "org.roster_import",
    "reportin.categories",
    "reportin.claim",
    "reportin.new",
    "reportin.new_cobuild",
    "reportin.new_need",
    "reportin.new_resource",
    "reportin.remind",
    "reportin.resource_action",
    "reports.generate",
    "reports.rule_edit",
    "reports.sheet",
    "reports.write",
    "reports.write_branch",
    "points.scheme",
    "resident.ask",
    "onsite.need_sessions",
    "onsite.add",
    # A sign-in sent twice must not sign the member out again: the scan signs in, or out when already in.
    "onsite.sign",
    "onsite.sign_any",
    "service.attendance",
    "service.certificate",
    "service.new_entry",
    "service.workdays_page",
    "whistles.categories",
    "whistles.new",
    "whistles.rules",
}
# Decisions, edits, withdrawals and sessions: guarded state changes, or nothing is created.
OTHERS = {
    # A token is shown once, on the answer to its form: a second send makes a second token, listed beside the
    # first for its keeper to revoke. Revoking is a guarded transition.
    "api_tokens.create_integration",
    "api_tokens.create_personal",
    "api_tokens.revoke",
    # The open API: calls with a token, no form (a client retrying a claim is refused: already claimed).
    "api_v1.NeedClaims",
    "api_v1.ServiceEntries",
    "accounts.reset_password",
    "letters.acknowledge",
    "accounts.revoke_grant",
    "accounts.set_active",
    "auth.change_password",
    "auth.language",
    "auth.login",
    "auth.logout",
    "bulletins.delete",
    "bulletins.edit_text",
    "bulletins.publish",
    "bulletins.refresh",
    "bulletins.remove_example",
    "notices.read",
    "notices.read_all",
    "org.deactivate_member",
    "reportin.category",
    "reportin.confirm",
    "reportin.confirm_bulk",
    "reportin.end",
    "reportin.need_status",
    "reportin.project_action",
    "reportin.reject",
    "reportin.remind_one",
    "reportin.withdraw",
    "reportin.withdraw_claim",
    "reports.acknowledge",
    "reports.publish",
    "reports.rate_all",
    "reports.rate_bulk",
    "reports.rate_one",
    "reports.rate_unit",
    "resident.triage",
    "estates.save_grid",
    "estates.save_estate",
    "estates.home",
    "estates.rate_property",
    "onsite.close",
    "onsite.cancel",
    "onsite.correct",
    "onsite.sign_out",
    "service.bulk",
    "service.decide",
    "service.edit_entry",
    "service.withdraw",
    "service.workday_remove",
    "tallies.close",
    "tallies.reopen",
    "whistles.summons_action",
    "whistles.whistle_action",
}
# Forms whose action the view passes in.
ACTION_CHOSEN_BY_VIEW = {
    "letters.correct": "letters/correct.html",
    "service.new_entry": "service/_entry_form.html",
    "reports.write": "reports/write.html",
    "reports.write_branch": "reports/write.html",
}


def test_every_post_route_is_sorted_and_every_create_form_carries_a_key(app):
    posts = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    unsorted = posts - CREATES - OTHERS
    assert not unsorted, f"new POST routes: add each to CREATES (its form needs submission_key()) or OTHERS: {unsorted}"
    forms = []
    for template in (PROJECT_ROOT / "templates").rglob("*.html"):
        forms += re.findall(r"<form\b[^>]*method=\"post\".*?</form>", template.read_text(), flags=re.DOTALL)
    for endpoint in CREATES & posts:
        if endpoint in ACTION_CHOSEN_BY_VIEW:
            mine = re.findall(
                r"<form\b.*?</form>",
                (PROJECT_ROOT / "templates" / ACTION_CHOSEN_BY_VIEW[endpoint]).read_text(),
                flags=re.DOTALL,
            )
        else:
            mine = [f for f in forms if re.search(rf"""<form\b[^>]*url_for\(['"]{re.escape(endpoint)}['"]""", f)]
        assert mine, f"no form posts to {endpoint}"
        for form in mine:
            assert "submission_key()" in form, f"a form posting to {endpoint} has no submission key"


@pytest.fixture
def member(login, world):
    service_report_in(world.members["member"], world.community)
    db.session.commit()
    b = login("13800000001")
    page = b.get("/service/new").get_data(as_text=True)
    key = KEY_RE.search(page).group(1)
    assert KEY_RE.search(b.get("/service/new").get_data(as_text=True)).group(1) != key  # fresh each time
    entry = {
        "service_date": (local_today() - timedelta(days=1)).isoformat(),
        "hours": "2",
        "content": "社区巡逻",
        "community_id": str(world.community.id),
        "submission_key": key,
    }
    return b, entry


def _records() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(ServiceRecord))


def test_the_same_form_sent_twice_creates_one_record_and_answers_the_same(member):
    b, entry = member
    first = b.post("/service/new", entry)
    second = b.post("/service/new", entry)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert _records() == 1
    assert "第一次提交时已保存" in b.get(second.headers["Location"]).get_data(as_text=True)
    # Another rendering of the form (a new key) creates another record.
    other = dict(
        entry,
        content="社区夜间巡逻",
        submission_key=KEY_RE.search(b.get("/service/new").get_data(as_text=True)).group(1),
    )
    assert b.post("/service/new", other).status_code == 303 and _records() == 2


def test_a_refused_form_does_not_use_up_its_key(member):
    b, entry = member
    assert b.post("/service/new", dict(entry, hours="abc")).status_code == 422
    assert _records() == 0
    assert b.post("/service/new", entry).status_code == 303 and _records() == 1


def test_a_repeat_whose_first_answer_was_lost_says_it_was_saved(member, monkeypatch):
    monkeypatch.setattr(submissions, "FIRST_ANSWER_WAIT", 0.2)  # for the first answer, which never comes
    b, entry = member
    b.post("/service/new", entry)
    # As if the worker died between the commit and writing the answer.
    db.session.execute(update(Submission).values(status=None, location=None))
    db.session.commit()
    again = b.post("/service/new", entry, headers={"Referer": "http://localhost/service/new"})
    assert again.status_code == 200
    page = again.get_data(as_text=True)
    assert "此前已保存" in page and 'href="/service/new"' in page
    fragment = b.post("/service/new", entry, headers={"HX-Request": "true"})
    assert 'hx-swap-oob="true"' in fragment.get_data(as_text=True)
    assert _records() == 1


@pytest.mark.committing
def test_two_identical_posts_at_once_create_one_record(app, member):
    b, entry = member
    twin = Browser(app.test_client())
    twin.token = b.token
    cookie = b.client.get_cookie("session")
    twin.client.set_cookie("session", cookie.value, domain=cookie.domain)
    start = threading.Barrier(2)
    answers = []

    def send(browser: Browser) -> None:
        start.wait()
        answers.append(browser.post("/service/new", entry))

    threads = [threading.Thread(target=send, args=(x,)) for x in (b, twin)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [303, 303], [a.get_data(as_text=True)[:300] for a in answers]
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    assert _records() == 1


def test_keys_older_than_a_week_are_forgotten_on_the_next_save(member):
    b, entry = member
    db.session.add(Submission(key="0" * 32, user_id=None, created_at=utcnow() - timedelta(days=8)))
    db.session.commit()
    b.post("/service/new", entry)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 1


@pytest.mark.committing
def test_a_twin_that_commits_first_makes_the_commit_fail_and_the_answer_a_repeat(member, monkeypatch):
    b, entry = member
    log_entry = services.log_entry

    def twin_first(*args, **kwargs):
        # The twin request saves its record and key while this one is still working.
        with db.engine.begin() as connection:
            connection.execute(
                insert(Submission).values(
                    key=entry["submission_key"],
                    user_id=b_user_id,
                    created_at=utcnow(),
                    status=303,
                    location="/service/my",
                )
            )
        return log_entry(*args, **kwargs)

    b_user_id = db.session.scalar(select(User.id).where(User.username == "13800000001"))
    monkeypatch.setattr(services, "log_entry", twin_first)
    answer = b.post("/service/new", entry)
    assert answer.status_code == 303 and answer.headers["Location"] == "/service/my"
    assert _records() == 0  # this request's record went with its failed commit
