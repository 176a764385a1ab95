"""吹哨报到 over HTTP: blowing (good and bad input), the blower's list and whistle page, the department's
queue and its steps (plain POST and htmx fragment), scope (404s), CSRF, and hostile input."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kmvolunteer.auth.models import Role, RoleGrant
from kmvolunteer.extensions import db
from kmvolunteer.notices.models import Notice
from kmvolunteer.org.models import Department, Grid
from kmvolunteer.whistles import deadlines, services
from kmvolunteer.whistles.models import Summons, SummonsProgress, Whistle, WhistleCategory, WhistlePhoto
from kmvolunteer.whistles.services import WhistleData
from tests.conftest import PASSWORD, row_count
from tests.factories import make_user
from tests.images import jpeg, png, png_claiming, stored_files, upload

HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the pages' messages, written in English."""


@pytest.fixture
def town(world):
    """Departments of 华山街道 (answering its communities) and of another subdistrict, their officers, and
    the category list."""
    w = world
    street = Department(name="华山街道城管中队", area=w.subdistrict)
    far = Department(name="关上街道城管中队", area=w.other_community.parent)
    db.session.add_all([street, far])
    db.session.flush()
    w.officer = make_user(
        "street_officer", PASSWORD, w.subdistrict, RoleGrant(role=Role.department_officer.value, department=street)
    )
    make_user("far_officer", PASSWORD, w.subdistrict, RoleGrant(role=Role.department_officer.value, department=far))
    w.street, w.far = street, far
    w.category_id = services.ensure_default_categories()[0].id
    db.session.commit()
    return w


def blow(w, uploads=(), **fields) -> Whistle:
    values = {
        "title": "景虹街路面渗水",
        "problem": "路面长期渗水",
        "address": "景虹街 12 号",
        "category_id": w.category_id,
    }
    whistle = services.blow(
        w.community, w.users["community_secretary"], WhistleData(**{**values, **fields}), [w.street.id], uploads
    )
    db.session.commit()
    return whistle


def form(w, **changes) -> dict:
    data = {
        "title": "景虹街路面渗水",
        "problem": "路面长期渗水，居民出行不便",
        "address": "景虹街 12 号",
        "category_id": str(w.category_id),
        "urgency": "normal",
        "departments": [str(w.street.id)],
    }
    return {**data, **changes}


def summons_of(whistle_id: int) -> Summons:
    db.session.expire_all()
    return db.session.scalars(select(Summons).where(Summons.whistle_id == whistle_id)).one()


# ---------------------------------------------------------------- blowing


def test_secretary_blows_a_whistle_listing_only_departments_of_the_tier_above(login, town):
    w = town
    grid = Grid(community_id=w.community.id, name="第三网格")
    elsewhere = Grid(community_id=w.community2.id, name="第九网格")
    db.session.add_all([grid, elsewhere])
    db.session.commit()
    b = login("community_secretary")
    page = b.get("/whistles/new").get_data(as_text=True)
    assert "华山街道城管中队" in page and "关上街道城管中队" not in page
    assert f'value="grid:{grid.id}"' in page and "第九网格" not in page  # the community's own grids to choose
    refused = b.post("/whistles/new", form(w, spot=f"grid:{elsewhere.id}"))
    assert refused.status_code == 422 and "Choose one of this community&#39;s estates" in refused.get_data(as_text=True)
    response = b.post("/whistles/new", form(w, spot=f"grid:{grid.id}"))
    assert response.status_code == 303
    whistle = db.session.scalars(select(Whistle)).one()
    assert response.headers["Location"].endswith(f"/whistles/{whistle.id}")
    assert (whistle.place, whistle.grid_id, whistle.area_id) == ("第三网格", grid.id, w.community.id)
    page = b.get(f"/whistles/{whistle.id}").get_data(as_text=True)
    assert "华山街道城管中队" in page and "left" in page  # the summons with its time left
    assert f'/communities/{w.community.id}/structure#grid-{grid.id}">Grid: 第三网格</a>' in page
    assert "Whistle blown" in page  # the timeline


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": ""}, "Say in a line what the problem is."),
        ({"departments": []}, "Summon at least one department."),
        ({"departments": ["999999"]}, "There is no such department."),
        ({"departments": ["abc"]}, "There is no such department."),
        ({"departments": ["99999999999999999999"]}, "There is no such department."),
        ({"departments": ["far"]}, "is not a department of"),
        ({"category_id": "999999"}, "Choose a category from the list."),
        ({"urgency": "extreme"}, "Choose normal or urgent."),
        ({"problem": "x" * 2001}, "2000"),
    ],
)
def test_bad_whistles_come_back_with_the_message_and_change_nothing(login, town, changes, message):
    w = town
    if changes.get("departments") == ["far"]:
        changes = {"departments": [str(w.far.id)]}
    b = login("community_secretary")
    b.get("/whistles/new")
    before = row_count()
    response = b.post("/whistles/new", form(w, **changes))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert row_count() == before


def test_csrf_is_required(login, town):
    b = login("community_secretary")
    before = row_count()
    assert b.post("/whistles/new", form(town), csrf=False).status_code == 400
    whistle = blow(town)
    officer = login("street_officer")
    assert officer.post(f"/whistles/summons/{summons_of(whistle.id).id}/sign", csrf=False).status_code == 400
    assert summons_of(whistle.id).status == "summoned"
    told = db.session.scalar(select(func.count(Notice.id)).where(Notice.whistle_id == whistle.id))
    assert told >= 1  # the summoned department's officers
    assert row_count() == before + 2 + told  # only the whistle, its summons and its notices blown above


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("community_secretary", 200),
        ("subdistrict_officer", 200),
        ("district_org", 200),
        ("street_officer", 200),  # the summoned department
        ("far_officer", 404),
        ("other_secretary", 404),
        ("other_org", 404),
        ("13800000001", 404),
    ],
)
def test_whistle_page_scope(login, town, who, status):
    whistle = blow(town)
    assert login(who).get(f"/whistles/{whistle.id}").status_code == status


@pytest.mark.parametrize(
    ("who", "new", "queue"),
    [
        ("community_secretary", 200, 404),
        ("subdistrict_officer", 200, 404),
        ("district_org", 200, 404),
        ("city_org", 404, 404),  # the city blows no whistles
        ("street_officer", 404, 200),
        ("13800000001", 404, 404),
    ],
)
def test_menu_pages_by_role(login, town, who, new, queue):
    b = login(who)
    assert b.get("/whistles/new").status_code == new
    assert b.get("/whistles/queue").status_code == queue
    home = b.get("/").get_data(as_text=True)
    assert ("/whistles/queue" in home) == (queue == 200)


# ---------------------------------------------------------------- the department's side


def test_department_steps_with_plain_posts(login, town):
    whistle = blow(town)
    officer = login("street_officer")
    queue = officer.get("/whistles/queue").get_data(as_text=True)
    assert "景虹街路面渗水" in queue and "To act on (1)" in queue
    sid = summons_of(whistle.id).id
    for action, data, status in [
        ("sign", {}, "signed"),
        ("contact", {"note": "电话联系王女士"}, "contacted"),
        ("progress", {"text": "已派人现场查看"}, "contacted"),
        ("handle", {"result": "已修复管道"}, "handled"),
    ]:
        response = officer.post(f"/whistles/summons/{sid}/{action}", data)
        assert response.status_code == 303, action
        assert summons_of(whistle.id).status == status
    page = officer.get(f"/whistles/{whistle.id}").get_data(as_text=True)
    assert "已修复管道" in page and "Progress recorded" in page and "on time" in page


def test_queue_fragment_for_htmx_and_refusal_in_the_row(login, town):
    whistle = blow(town)
    sid = summons_of(whistle.id).id
    officer = login("street_officer")
    officer.get("/whistles/queue")
    response = officer.post(f"/whistles/summons/{sid}/sign", {"from": "queue"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith("<article")
    assert "Signed for." in html and "<html" not in html
    assert "whistles-changed" in response.headers["HX-Trigger"]
    response = officer.post(f"/whistles/summons/{sid}/sign", {"from": "queue"}, headers=HX)
    assert response.status_code == 422 and "nothing was changed" in response.get_data(as_text=True)


def test_decline_extension_and_rerouting(login, town):
    w = town
    whistle = blow(w)
    sid = summons_of(whistle.id).id
    officer = login("street_officer")
    officer.get("/whistles/queue")
    officer.post(f"/whistles/summons/{sid}/extend", {"working_days": "3", "reason": "需协调供水公司"})
    secretary = login("community_secretary")
    secretary.get(f"/whistles/{whistle.id}")
    assert secretary.post(f"/whistles/summons/{sid}/approve").status_code == 303
    assert summons_of(whistle.id).extension.status == "approved"
    # a second request is refused, nothing changes
    before = row_count()
    response = officer.post(f"/whistles/summons/{sid}/extend", {"working_days": "2", "reason": "再等等"}, headers=HX)
    assert response.status_code == 422  # an htmx request outside the queue: the message in the alert region
    assert "only once" in response.get_data(as_text=True)
    assert row_count() == before
    assert officer.post(f"/whistles/summons/{sid}/decline", {"reason": "不属本部门职责"}).status_code == 303
    assert summons_of(whistle.id).status == "declined"
    page = secretary.get(f"/whistles/{whistle.id}").get_data(as_text=True)
    assert 'id="no-other-department"' in page  # nobody else to summon here: the page says what is left
    other = Department(name="华山街道市场监管所", area=w.subdistrict)
    db.session.add(other)
    db.session.commit()
    response = secretary.post(f"/whistles/{whistle.id}/summon", {"departments": [str(other.id)]})
    assert response.status_code == 303
    db.session.expire_all()
    assert len(db.session.get(Whistle, whistle.id).summonses) == 2


def test_summons_actions_are_refused_out_of_scope_and_on_the_wrong_side(login, town):
    whistle = blow(town)
    sid = summons_of(whistle.id).id
    before = row_count()
    assert login("far_officer").post(f"/whistles/summons/{sid}/sign").status_code == 404
    assert login("other_secretary").post(f"/whistles/{whistle.id}/close").status_code == 404
    secretary = login("community_secretary")
    secretary.get(f"/whistles/{whistle.id}")
    response = secretary.post(f"/whistles/summons/{sid}/sign")
    assert response.status_code == 303  # the blower cannot sign for the department: flashed, nothing changed
    assert secretary.get(f"/whistles/{whistle.id}").status_code == 200
    assert summons_of(whistle.id).status == "summoned"
    assert row_count() == before
    assert login("street_officer").post(f"/whistles/summons/{sid}/nonsense").status_code == 404


def test_hostile_text_and_actions_on_a_closed_whistle(login, town):
    whistle = blow(town)
    sid = summons_of(whistle.id).id
    officer = login("street_officer")
    officer.get("/whistles/queue")
    officer.post(f"/whistles/summons/{sid}/sign")
    officer.post(f"/whistles/summons/{sid}/contact")
    response = officer.post(f"/whistles/summons/{sid}/handle", {"result": "x" * 5000, "from": "queue"}, headers=HX)
    assert response.status_code == 422 and "2000" in response.get_data(as_text=True)
    officer.post(f"/whistles/summons/{sid}/handle", {"result": "已修复"})
    secretary = login("community_secretary")
    secretary.get(f"/whistles/{whistle.id}")
    secretary.post(f"/whistles/summons/{sid}/rate", {"rating": "satisfied", "comment": "及时"})
    assert secretary.post(f"/whistles/{whistle.id}/close").status_code == 303
    db.session.expire_all()
    assert db.session.get(Whistle, whistle.id).status == "closed"
    before = row_count()
    for url, data in [
        (f"/whistles/{whistle.id}/close", {}),
        (f"/whistles/{whistle.id}/escalate", {"reason": "再上报"}),
        (f"/whistles/{whistle.id}/summon", {"departments": [str(town.street.id)]}),
        (f"/whistles/summons/{sid}/rate", {"rating": "unsatisfied", "comment": "x"}),
    ]:
        response = secretary.post(url, data, headers={**HX, "HX-Boosted": "false"})
        assert response.status_code == 422, url
    assert row_count() == before
    page = secretary.get(f"/whistles/{whistle.id}").get_data(as_text=True)
    assert "Reopen" in page


def test_blower_list_filters_and_counts(login, town):
    blow(town)
    b = login("community_secretary")
    page = b.get("/whistles").get_data(as_text=True)
    assert "景虹街路面渗水" in page and "(1)" in page
    assert "景虹街路面渗水" not in b.get("/whistles?status=closed").get_data(as_text=True)
    assert login("13800000001").get("/whistles").status_code == 404


def test_department_home_shows_queue_counts(login, town):
    blow(town)
    home = login("street_officer").get("/").get_data(as_text=True)
    assert 'id="home-whistle-queue"' in home and "To act on" in home


# ---------------------------------------------------------------- the deadline rules


def rule(tier="community", urgency="normal", **changes) -> dict:
    return {
        "tier": tier,
        "urgency": urgency,
        "sign_minutes": "45",
        "contact_hours": "12",
        "handle_days": "2",
        **changes,
    }


def test_city_org_sets_a_deadline_rule_and_new_summons_follow_it(login, town):
    b = login("city_org")
    assert "Sign within" in b.get("/whistles/rules").get_data(as_text=True)
    assert b.post("/whistles/rules", rule()).status_code == 303
    assert deadlines.limits_for("community", "normal") == deadlines.Limits(45, 12, 2)
    whistle = blow(town)
    summons = summons_of(whistle.id)
    assert summons.contact_due_at - summons.summoned_at == timedelta(hours=12)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sign_minutes": "5"}, "from 10 to 480"),
        ({"contact_hours": "abc"}, "from 1 to 72"),
        ({"handle_days": "31"}, "from 1 to 30"),
        ({"handle_days": "99999999999"}, "6 characters"),
        ({"tier": "city"}, "no such tier"),
    ],
)
def test_deadline_rules_out_of_range_are_refused(login, town, changes, message):
    city_org_refused(login, "/whistles/rules", rule(**changes), 422, message)


def city_org_refused(login, url: str, data: dict, status: int, message: str | None) -> None:
    """The city's organization department posts ``data`` to ``url``: refused with ``status``, nothing changes."""
    b = login("city_org")
    b.get(url)
    before = row_count()
    response = b.post(url, data)
    assert response.status_code == status
    if message:
        assert message in response.get_data(as_text=True)
    assert row_count() == before


@pytest.mark.parametrize("who", ["district_org", "community_secretary", "street_officer"])
@pytest.mark.parametrize(("url", "data"), [("/whistles/rules", rule()), ("/whistles/categories", {"name": "某类"})])
def test_only_the_city_org_sets_deadlines_and_categories(login, town, who, url, data):
    b = login(who)
    assert b.get(url).status_code == 404
    assert b.post(url, data).status_code == 404


@pytest.mark.parametrize("years", [[2027], []])
def test_org_home_warns_of_a_year_on_the_monday_to_friday_fallback(login, town, monkeypatch, years):
    monkeypatch.setattr(deadlines, "years_on_fallback", lambda: years)
    home = login("city_org").get("/").get_data(as_text=True)
    assert ('id="home-whistle-calendar"' in home) == bool(years)
    assert ("Monday to Friday for 2027" in home) == bool(years)
    assert ("/service/workdays" in home) == bool(years)


# ---------------------------------------------------------------- the category list


def test_city_org_adds_renames_and_takes_off_categories(login, town):
    b = login("city_org")
    assert "道路交通" in b.get("/whistles/categories").get_data(as_text=True)
    assert b.post("/whistles/categories", {"name": "城市绿化"}).status_code == 303
    added = db.session.scalars(select(WhistleCategory).where(WhistleCategory.name == "城市绿化")).one()
    assert b.post("/whistles/categories", {"id": str(added.id), "name": "园林绿化"}).status_code == 303
    assert b.post("/whistles/categories", {"id": str(added.id), "name": "园林绿化", "action": "off"}).status_code == 303
    db.session.expire_all()
    assert (added.name, added.active) == ("园林绿化", False)
    secretary = login("community_secretary")
    assert "园林绿化" not in secretary.get("/whistles/new").get_data(as_text=True)
    # a category off the list is refused on a whistle
    response = secretary.post("/whistles/new", form(town, category_id=str(added.id)))
    assert response.status_code == 422 and "Choose a category from the list." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"name": ""}, 422, "Enter a name for the category."),
        ({"name": "道路交通"}, 422, "There is already a category of that name."),
        ({"name": "x" * 33}, 422, "32"),
        ({"id": "999999", "name": "某类"}, 404, None),
        ({"id": "99999999999999999999", "name": "某类"}, 404, None),
    ],
)
def test_bad_categories_are_refused(login, town, data, status, message):
    city_org_refused(login, "/whistles/categories", data, status, message)


# ---------------------------------------------------------------- what waits for the blower


def test_what_waits_for_the_blower_on_home_and_in_the_list(login, town):
    declined = blow(town, title="楼道堆物")
    services.decline(declined.summonses[0], town.officer, "不属于本队职责")
    handled = blow(town, title="路灯不亮")
    summons = handled.summonses[0]
    for step in (services.sign, services.record_contact):
        step(summons, town.officer)
    services.handle(summons, town.officer, "已更换灯泡")
    escalated = blow(town, title="占道经营")
    services.escalate(escalated, town.users["community_secretary"], "需街道协调")
    db.session.commit()

    secretary = login("community_secretary")
    home = secretary.get("/").get_data(as_text=True)
    assert 'id="home-whistles"' in home
    listing = secretary.get("/whistles").get_data(as_text=True)  # what waits comes first
    assert 'aria-current="page">waiting for you (2)' in listing
    assert "楼道堆物" in listing and "summon a department" in listing
    assert "路灯不亮" in listing and "rate the handling" in listing
    assert "占道经营" not in listing  # taken over by the subdistrict

    # The subdistrict routes the whistle escalated to it.
    officer = login("subdistrict_officer").get("/whistles?status=attention").get_data(as_text=True)
    assert "占道经营" in officer and "summon a department" in officer
    assert "路灯不亮" not in officer  # the community's to rate, not the subdistrict's
    assert login("street_officer").get("/").get_data(as_text=True).count('id="home-whistles"') == 0


def test_waiting_counts(town):
    from kmvolunteer.whistles import pages

    whistle = blow(town)
    extension = services.request_extension(whistle.summonses[0], town.officer, 2, "等待材料")
    db.session.commit()
    assert extension.status == "requested"
    counts = pages.waiting_counts(town.users["community_secretary"])
    assert counts == {"route": 0, "rate": 0, "decide": 1, "overdue": 0}
    later = pages.waiting_counts(town.users["community_secretary"], now=whistle.created_at + timedelta(days=30))
    assert later["overdue"] == 1


def test_a_progress_note_sent_twice_is_recorded_once(login, town):
    whistle = blow(town)
    sid = summons_of(whistle.id).id
    officer = login("street_officer")
    officer.post(f"/whistles/summons/{sid}/sign", {})
    page = officer.get(f"/whistles/{whistle.id}").get_data(as_text=True)
    key = re.search(r'name="submission_key" value="([0-9a-f]{32})"', page).group(1)
    note = {"text": "已派人现场查看", "submission_key": key}
    first = officer.post(f"/whistles/summons/{sid}/progress", note)
    second = officer.post(f"/whistles/summons/{sid}/progress", note)
    assert first.status_code == second.status_code == 303
    assert progress_notes() == 1
    # The queue's htmx form carries a key too: a repeat of it answers, and records nothing more.
    queue = officer.get("/whistles/queue").get_data(as_text=True)
    key = re.search(r'name="submission_key" value="([0-9a-f]{32})"', queue).group(1)
    note = {"text": "已协调施工班组", "submission_key": key, "from": "queue"}
    assert officer.post(f"/whistles/summons/{sid}/progress", note, headers=HX).status_code == 200
    officer.post(f"/whistles/summons/{sid}/progress", note, headers=HX)
    assert progress_notes() == 2


def progress_notes() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(SummonsProgress))


# ---------------------------------------------------------------- photos

THUMB = re.compile(r'src="(/whistles/\d+/photos/\d+/thumb\.jpg)"')


def files(*items: tuple[bytes, str]) -> list:
    """File fields for a test client's form data."""
    return [(io.BytesIO(data), name) for data, name in items]


def photos_on_disk(app) -> list:
    return stored_files(Path(app.config["PHOTO_DIR"]))


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true", "HX-Boosted": "true"}])
def test_a_whistle_blown_with_photos_shows_their_thumbnails(login, town, headers):
    b = login("community_secretary")
    page = b.get("/whistles/new").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'hx-encoding="multipart/form-data"' in page
    # A phone's photo of 6 MB (more than the site's other forms accept): the picture and what follows it.
    big = jpeg() + b"\0" * (6 * 1024 * 1024)
    response = b.post(
        "/whistles/new", form(town, photos=files((big, "IMG_1.jpg"), (png(), "plan.png"))), headers=headers
    )
    assert response.status_code == 303
    whistle = db.session.scalars(select(Whistle)).one()
    assert len(whistle.photos) == 2 and whistle.photos[0].size < 100_000
    page = b.get(f"/whistles/{whistle.id}").get_data(as_text=True)
    thumbs = THUMB.findall(page)
    assert len(thumbs) == 2 and thumbs[0].startswith(f"/whistles/{whistle.id}/photos/")
    assert f'href="{thumbs[0].replace("/thumb.jpg", "/photo.jpg")}" hx-boost="false"' in page
    # The department sees them in its queue, beside the whistle.
    assert len(THUMB.findall(login("street_officer").get("/whistles/queue").get_data(as_text=True))) == 2


@pytest.mark.parametrize(
    ("photos", "message"),
    [
        (((b"just some text", "road.jpg"),), "road.jpg is not a JPEG or PNG picture."),
        (((jpeg()[:3000], "cut.jpg"),), "cut.jpg could not be read"),
        (((jpeg() + b"\0" * (8 * 1024 * 1024), "huge.jpg"),), "huge.jpg is larger than 8 MB."),
        (((png_claiming(40000, 40000), "bomb.png"),), "bomb.png has too many pixels"),
        (tuple((jpeg(), f"{n}.jpg") for n in range(7)), "Attach at most 6 photos at a time."),
    ],
)
def test_bad_photos_bring_the_form_back_with_the_message_and_save_nothing(app, login, town, photos, message):
    b = login("community_secretary")
    b.get("/whistles/new")
    before, on_disk = row_count(), photos_on_disk(app)
    response = b.post("/whistles/new", form(town, photos=files(*photos)))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and 'id="photos-error"' in page and "路面长期渗水，居民出行不便" in page
    assert row_count() == before and photos_on_disk(app) == on_disk


def test_a_whistle_larger_than_every_photo_together_is_refused_whole(app, login, town):
    b = login("community_secretary")
    b.get("/whistles/new")
    before = row_count()
    too_much = jpeg() + b"\0" * (6 * 8 * 1024 * 1024 + 5 * 1024 * 1024)  # beyond request_limit()
    response = b.post("/whistles/new", form(town, photos=files((too_much, "a.jpg"), (jpeg(), "b.jpg"))))
    assert response.status_code == 413 and row_count() == before


def test_progress_notes_carry_photos_plain_and_in_the_queue(app, login, town):
    whistle = blow(town)
    sid = summons_of(whistle.id).id
    officer = login("street_officer")
    officer.post(f"/whistles/summons/{sid}/sign", {})
    queue = officer.get("/whistles/queue").get_data(as_text=True)
    assert re.search(r'<form [^>]*summons-form--progress" enctype="multipart/form-data" hx-encoding=', queue)
    response = officer.post(
        f"/whistles/summons/{sid}/progress", {"text": "已派人现场查看", "photos": files((jpeg(), "a.jpg"))}
    )
    assert response.status_code == 303
    response = officer.post(
        f"/whistles/summons/{sid}/progress",
        {"text": "已协调施工班组", "from": "queue", "photos": files((png(), "b.png"), (jpeg(), "c.jpg"))},
        headers=HX,
    )
    assert response.status_code == 200 and "Progress recorded." in response.get_data(as_text=True)
    notes = db.session.scalars(select(SummonsProgress).order_by(SummonsProgress.id)).all()
    assert [len(db.session.scalars(select(WhistlePhoto).filter_by(progress_id=n.id)).all()) for n in notes] == [1, 2]
    page = login("community_secretary").get(f"/whistles/{whistle.id}").get_data(as_text=True)
    timeline = page[page.index('id="timeline"') :]
    assert len(THUMB.findall(timeline)) == 3 and not THUMB.findall(page[: page.index('id="timeline"')])
    # A bad photo: the note is refused with it, in the queue's row and on the whistle page.
    before, on_disk = row_count(), photos_on_disk(app)
    bad = {"text": "再次查看", "from": "queue", "photos": files((b"not a photo", "d.jpg"))}
    response = officer.post(f"/whistles/summons/{sid}/progress", bad, headers=HX)
    assert response.status_code == 422 and "d.jpg is not a JPEG or PNG picture." in response.get_data(as_text=True)
    bad = {"text": "再次查看", "photos": files((b"not a photo", "d.jpg"))}
    response = officer.post(f"/whistles/summons/{sid}/progress", bad)
    assert response.status_code == 303
    assert "d.jpg is not a JPEG or PNG picture." in officer.get(response.headers["Location"]).get_data(as_text=True)
    assert row_count() == before and photos_on_disk(app) == on_disk


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("community_secretary", 200),  # the blower
        ("street_officer", 200),  # the summoned department
        ("subdistrict_officer", 200),  # the tiers above
        ("district_org", 200),
        ("other_secretary", 404),  # another community
        ("far_officer", 404),  # another department
    ],
)
def test_photos_are_served_to_whoever_may_read_the_whistle(app, login, town, who, status):
    whistle = blow(town, uploads=[upload(jpeg())])
    other = blow(town, title="另一个问题")
    photo_id = whistle.photos[0].id
    b = login(who)
    for kind in ("photo", "thumb"):
        response = b.get(f"/whistles/{whistle.id}/photos/{photo_id}/{kind}.jpg")
        assert response.status_code == status, kind
        if status == 200:
            assert response.mimetype == "image/jpeg" and response.data[:3] == b"\xff\xd8\xff"
            assert "private" in response.headers["Cache-Control"] and "public" not in response.headers["Cache-Control"]
            assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Not through another whistle, even one the user reads.
    assert b.get(f"/whistles/{other.id}/photos/{photo_id}/photo.jpg").status_code == 404


def test_photos_are_not_served_to_anyone_logged_out(client, town):
    whistle = blow(town, uploads=[upload(jpeg())])
    response = client.get(f"/whistles/{whistle.id}/photos/{whistle.photos[0].id}/photo.jpg")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
