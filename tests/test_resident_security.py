"""居民点单 over HTTP, mostly as an attacker: the public form and status page are open to anyone, so they are
fuzzed, rate-limited, challenged, size-limited and CSRF-protected, refuse links, and never let HTML or script
through to any page — the public status page, the inbox, the request's page, or the need or whistle made
from it. Codes are not enumerable; secretaries of other communities get 404s."""

from __future__ import annotations

import re

import pytest
import segno
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from kmvolunteer.extensions import db
from kmvolunteer.org.models import Department
from kmvolunteer.reportin.models import Need
from kmvolunteer.resident import services
from kmvolunteer.resident.models import ResidentRequest
from kmvolunteer.whistles import services as whistles
from kmvolunteer.whistles.models import Whistle
from tests.conftest import Browser, row_count
from tests.test_fuzz_forms import nasty_text

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
TOKEN_RE = re.compile(r'name="token" type="hidden" value="([^"]+)"|name="token" value="([^"]+)"')


@pytest.fixture
def quick(app, monkeypatch):
    """The form needs no reading time (the challenge's minimum is tested on its own)."""
    monkeypatch.setitem(app.config, "RESIDENT_FORM_MIN_SECONDS", 0)


def _ask_url(world) -> str:
    return f"/ask/{world.community.id}"


def _form(browser: Browser, world) -> dict:
    """The public form as a browser gets it: its CSRF token and challenge token."""
    page = browser.get(_ask_url(world))
    assert page.status_code == 200
    match = TOKEN_RE.search(page.get_data(as_text=True))
    return {"token": match.group(1) or match.group(2), "website": ""}


def _send(browser: Browser, world, address: str = "127.0.0.1", **fields):
    data = {**_form(browser, world), "what": "单元门口的灯坏了", "place": "青云街 3 号院", "phone": "", **fields}
    return browser.post(_ask_url(world), data, environ_base={"REMOTE_ADDR": address})


def _requests() -> int:
    return db.session.scalar(select(func.count()).select_from(ResidentRequest))


def test_a_resident_sends_a_request_without_logging_in_and_checks_it(browser, world, quick):
    response = _send(browser, world, phone="139 8765 0001")
    assert response.status_code == 303
    location = response.headers["Location"]
    req = db.session.scalar(select(ResidentRequest))
    assert location.endswith(f"/ask/status/{req.code}") and req.phone == "13987650001"
    page = browser.get(location).get_data(as_text=True)
    assert req.code in page and "status-state" in page
    # Nothing personal: neither the phone (in any form), nor the request's words, nor the place.
    for private in ("13987650001", "139****0001", "单元门口的灯坏了", "青云街"):
        assert private not in page
    assert browser.get(location).headers["X-Robots-Tag"] == "noindex"


def test_the_form_is_only_for_active_communities(browser, world):
    assert browser.get(_ask_url(world)).status_code == 200
    for area_id in (world.subdistrict.id, world.city.id, 999999):
        assert browser.get(f"/ask/{area_id}").status_code == 404
    world.community2.active = False
    db.session.commit()
    assert browser.get(f"/ask/{world.community2.id}").status_code == 404


def test_the_n_plus_first_request_from_one_client_is_refused_with_429_and_not_stored(
    app, monkeypatch, browser, world, quick
):
    monkeypatch.setitem(app.config, "RESIDENT_REQUESTS_FREE", 3)
    answers = [_send(browser, world, what=f"第 {n} 个请求").status_code for n in range(3)]
    assert answers == [303, 303, 303]
    before = row_count()
    refused = _send(browser, world, what="第 4 个请求")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "ask-waiting" in refused.get_data(as_text=True)
    assert row_count() == before and _requests() == 3
    # Another client is not held up.
    other = Browser(app.test_client())
    assert _send(other, world, address="203.0.113.9").status_code == 303


def test_failed_challenges_store_nothing_and_count_against_the_client(app, monkeypatch, browser, world, english):
    before = row_count()
    too_quick = _send(browser, world)  # posted as soon as the form was shown
    assert too_quick.status_code == 422 and "very quick" in too_quick.get_data(as_text=True)
    monkeypatch.setitem(app.config, "RESIDENT_FORM_MIN_SECONDS", 0)
    assert _send(browser, world, website="http://bot.example").status_code == 422
    assert _send(browser, world, token="forged").status_code == 422
    other_form = _form(browser, world)
    other_form["token"] = services.URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="elsewhere").dumps(
        world.community.id
    )
    assert browser.post(_ask_url(world), {**other_form, "what": "灯坏了", "place": "3 号院"}).status_code == 422
    assert row_count() == before
    monkeypatch.setitem(app.config, "RESIDENT_REQUESTS_FREE", 5)
    assert _send(browser, world).status_code == 303  # the fifth try
    assert _send(browser, world).status_code == 429  # the failures counted


def test_the_public_form_needs_its_csrf_token(browser, world, quick):
    before = row_count()
    data = {**_form(browser, world), "what": "灯坏了", "place": "3 号院"}
    assert browser.post(_ask_url(world), data, csrf=False).status_code == 400
    assert browser.post(_ask_url(world), {**data, "csrf_token": "forged"}, csrf=False).status_code == 400
    fresh = Browser(browser.client.application.test_client())  # another visitor's session
    assert fresh.post(_ask_url(world), {**data, "csrf_token": browser.token}, csrf=False).status_code == 400
    assert row_count() == before


def test_oversized_bodies_and_texts_are_refused(browser, world, quick):
    before = row_count()
    huge = _send(browser, world, what="灯" * 20_000)  # 60 kB: over the form's 16 kB
    assert huge.status_code == 413
    long = _send(browser, world, what="灯" * 501)
    assert long.status_code == 422 and "500" in long.get_data(as_text=True)
    assert row_count() == before


@pytest.mark.parametrize(
    "fields",
    [
        {"what": "详情见 https://spam.example/x"},
        {"what": "加我 www.example.cn"},
        {"place": "example.com"},
        {"what": "ｈｔｔｐ：／／ｅｘａｍｐｌｅ．ｃｏｍ"},
        {"what": HOSTILE},
        {"place": "<b>3 号院</b>"},
        {"phone": "<script>"},
        {"phone": "10086"},
    ],
)
def test_links_html_and_bad_phones_are_refused_with_a_message(browser, world, quick, english, fields):
    before = row_count()
    response = _send(browser, world, **fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "error-summary" in page
    assert "<script>" not in page and "<b>" not in page  # the input shown back is escaped too
    assert row_count() == before


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    values=st.fixed_dictionaries(
        {name: nasty_text for name in ("what", "place", "phone", "website", "token")},
        optional={"extra": nasty_text},
    )
)
def test_the_public_form_survives_random_input(app, monkeypatch, world, quick, values):
    monkeypatch.setitem(app.config, "RESIDENT_REQUESTS_FREE", 10**6)
    browser = Browser(app.test_client())
    tokens = _form(browser, world)
    for name in ("token", "website"):
        values[name] = tokens[name] if len(values[name]) % 3 else values[name]  # sometimes the real ones
    before, stored = row_count(), _requests()
    response = browser.post(_ask_url(world), values)
    assert response.status_code < 500, (values, response.status_code)
    if response.status_code >= 400:
        assert row_count() == before, values
    else:
        assert response.status_code == 303 and _requests() == stored + 1
        req = db.session.scalar(select(ResidentRequest).order_by(ResidentRequest.id.desc()))
        assert req.what == values["what"].strip() and not services.TAG_RE.search(req.what)
        assert browser.get(response.headers["Location"]).status_code == 200


def test_wrong_codes_are_a_plain_404_and_rate_limited(app, monkeypatch, browser, world):
    req = services.submit(world.community, services.RequestData("灯坏了", "3 号院", ""))
    db.session.commit()
    monkeypatch.setitem(app.config, "RESIDENT_WRONG_CODES_FREE", 3)
    for _ in range(5):
        assert browser.get(f"/ask/status/{req.code}").status_code == 200  # right codes cost nothing
    answers = [browser.get(f"/ask/status/{code}").status_code for code in ("AAAAAAAA", "ZZZZZZZZ", "2345")]
    assert answers == [404, 404, 404]
    blocked = browser.get("/ask/status/BBBBBBBB")
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert browser.get(f"/ask/status/{req.code}").status_code == 429  # while blocked, nothing is looked up
    other = Browser(app.test_client())
    assert other.get(f"/ask/status/{req.code}", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200


def test_a_typed_code_is_tidied_by_a_redirect(browser, world):
    req = services.submit(world.community, services.RequestData("灯坏了", "3 号院", ""))
    db.session.commit()
    typed = browser.get(f"/ask/status?code={req.code[:4].lower()}-{req.code[4:].lower()}")
    assert typed.status_code == 303 and typed.headers["Location"].endswith(f"/ask/status/{req.code}")
    assert browser.get("/ask/status").status_code == 200
    for odd in ("---", "%20", "x" * 5000, "%3Cscript%3E"):
        answer = browser.get(f"/ask/status/{odd}")
        assert answer.status_code == 303 and answer.headers["Location"].startswith("/ask/status"), odd


def _hostile_request(world, **fields) -> ResidentRequest:
    """A request carrying markup in every text, stored as if the checks had been bypassed (an older row, a
    future bug): the pages must escape it all the same."""
    req = ResidentRequest(
        community_id=world.community.id,
        code="HST2345Z",
        what=HOSTILE,
        place=HOSTILE[:100],
        phone="13987650001",
        **fields,
    )
    db.session.add(req)
    db.session.commit()
    return req


def _assert_escaped(page: str) -> None:
    assert "<script>" not in page and "<img src=x" not in page, page
    assert "&lt;script&gt;" in page


def test_html_and_script_never_survive_into_any_page(login, browser, world):
    req = _hostile_request(world, reply=HOSTILE, status="answered")
    _assert_escaped(browser.get(f"/ask/status/{req.code}").get_data(as_text=True))  # the public status page
    secretary = login("community_secretary")
    _assert_escaped(secretary.get(f"/communities/{world.community.id}/requests?status=all").get_data(as_text=True))
    _assert_escaped(secretary.get(f"/requests/{req.id}").get_data(as_text=True))
    officer = login("subdistrict_officer")
    _assert_escaped(officer.get(f"/requests/{req.id}").get_data(as_text=True))


def test_markup_carried_into_a_need_or_a_whistle_is_escaped_there(login, world):
    team = Department(name="华山街道综合执法队", area=world.subdistrict)
    db.session.add(team)
    req = _hostile_request(world)
    second = ResidentRequest(community_id=world.community.id, code="HST2345Y", what=HOSTILE, place="3 号院")
    db.session.add(second)
    category = whistles.ensure_default_categories()[0]
    db.session.commit()
    secretary = login("community_secretary")
    page = secretary.get(f"/requests/{req.id}").get_data(as_text=True)
    _assert_escaped(page)  # the triage forms, filled with the resident's words
    response = secretary.post(
        f"/requests/{req.id}/need",
        {
            "need-kind": "need",
            "need-title": HOSTILE[:100],
            "need-description": HOSTILE,
            "need-place": HOSTILE[:100],
            "need-recurrence": "每周六",
            "need-headcount": "1",
            "need-reply": HOSTILE,
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    need = db.session.scalar(select(Need))
    _assert_escaped(secretary.get(f"/needs/{need.id}").get_data(as_text=True))
    response = secretary.post(
        f"/requests/{second.id}/whistle",
        {
            "whistle-title": HOSTILE[:100],
            "whistle-problem": HOSTILE,
            "whistle-address": HOSTILE[:100],
            "whistle-category_id": str(category.id),
            "whistle-urgency": "normal",
            "whistle-departments": str(team.id),
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    whistle = db.session.scalar(select(Whistle))
    _assert_escaped(secretary.get(f"/whistles/{whistle.id}").get_data(as_text=True))
    db.session.expire_all()
    assert (req.status, req.need_id, second.status, second.whistle_id) == ("to_need", need.id, "to_whistle", whistle.id)
    _assert_escaped(
        Browser(secretary.client.application.test_client()).get(f"/ask/status/{req.code}").get_data(as_text=True)
    )


def test_the_phone_is_full_only_for_the_communitys_secretaries(login, world):
    req = services.submit(world.community, services.RequestData("灯坏了 回电 13987650009", "3 号院", "13987650001"))
    db.session.commit()
    mine = login("community_secretary").get(f"/requests/{req.id}").get_data(as_text=True)
    assert "13987650001" in mine and "13987650009" in mine
    for reader in ("subdistrict_officer", "city_org"):
        page = login(reader).get(f"/requests/{req.id}").get_data(as_text=True)
        assert "13987650001" not in page and "139****0001" in page
        assert "13987650009" not in page and "139****0009" in page  # a number typed into the text too
        listing = login(reader).get(f"/communities/{world.community.id}/requests").get_data(as_text=True)
        assert "13987650001" not in listing and "139****0001" in listing


def test_out_of_scope_users_get_404_and_readers_cannot_triage(login, world, browser):
    req = services.submit(world.community, services.RequestData("灯坏了", "3 号院", ""))
    db.session.commit()
    before = row_count()
    for name in ("other_secretary", "branch_secretary", "department_officer", "13800000001", "other_org"):
        user = login(name)
        assert user.get(f"/requests/{req.id}").status_code == 404, name
        assert user.get(f"/communities/{world.community.id}/requests").status_code == 404, name
        assert user.get(f"/communities/{world.community.id}/requests/poster").status_code == 404, name
        assert user.post(f"/requests/{req.id}/answer", {"answer-reply": "好"}).status_code == 404, name
    officer = login("subdistrict_officer")
    assert officer.get(f"/requests/{req.id}").status_code == 200
    assert "triage-answer" not in officer.get(f"/requests/{req.id}").get_data(as_text=True)
    for action in ("answer", "need", "whistle", "reject"):
        assert officer.post(f"/requests/{req.id}/{action}", {}).status_code == 404
    assert officer.get(f"/communities/{world.community.id}/requests/poster").status_code == 404
    anonymous = browser.get(f"/requests/{req.id}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert row_count() == before


def test_the_secretary_answers_and_sees_the_count_on_the_home_page(login, world, browser, english):
    for what in ("灯坏了", "路面坑洼"):
        services.submit(world.community, services.RequestData(what, "3 号院", ""))
    db.session.commit()
    secretary = login("community_secretary")
    home = secretary.get("/").get_data(as_text=True)
    assert re.search(rf'id="resident-waiting-{world.community.id}">2<', home)
    req = db.session.scalar(select(ResidentRequest).order_by(ResidentRequest.id))
    refused = secretary.post(f"/requests/{req.id}/answer", {"answer-reply": " "})
    assert refused.status_code == 422
    assert secretary.post(f"/requests/{req.id}/answer", {"answer-reply": "已报修"}).status_code == 303
    assert re.search(rf'id="resident-waiting-{world.community.id}">1<', secretary.get("/").get_data(as_text=True))
    status = browser.get(f"/ask/status/{req.code}").get_data(as_text=True)
    assert "已报修" in status
    again = secretary.post(f"/requests/{req.id}/reject", {"reject-reason": "spam"})
    assert again.status_code == 422 and "already answered" in again.get_data(as_text=True)
    db.session.expire_all()
    assert req.status == "answered"


def test_the_poster_carries_the_qr_code_of_the_public_form(login, world):
    page = login("community_secretary").get(f"/communities/{world.community.id}/requests/poster")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "翠湖社区" in html
    assert f"/ask/{world.community.id}</p>" in html
    # The QR code is drawn here, as inline SVG: nothing is fetched from anywhere.
    assert (
        segno.make(f"http://localhost/ask/{world.community.id}", error="m").svg_inline(
            scale=8, border=2, omitsize=True, title="翠湖社区"
        )
        in html
    )


def test_the_poster_gives_the_public_address_when_one_is_set(app, monkeypatch, login, world):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://kmv.km.gov.cn/")
    html = login("community_secretary").get(f"/communities/{world.community.id}/requests/poster")
    assert f"https://kmv.km.gov.cn/ask/{world.community.id}</p>" in html.get_data(as_text=True)


def test_a_request_sent_twice_is_stored_once(browser, world, quick):
    page = browser.get(_ask_url(world)).get_data(as_text=True)
    key = re.search(r'name="submission_key" value="([0-9a-f]{32})"', page).group(1)
    data = {**_form(browser, world), "what": "灯坏了", "place": "3 号院", "submission_key": key}
    first = browser.post(_ask_url(world), data)
    again = browser.post(_ask_url(world), data)  # the answer was lost on a bad connection; the phone resends
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"] and _requests() == 1


def test_the_readers_find_the_requests_from_the_communitys_page(login, world):
    for name in ("community_secretary", "subdistrict_officer", "district_org"):
        page = login(name).get(f"/areas/{world.community.id}").get_data(as_text=True)
        assert f"/communities/{world.community.id}/requests" in page and f"/ask/{world.community.id}" in page
    page = login("district_org").get(f"/areas/{world.subdistrict.id}").get_data(as_text=True)
    assert "area-resident-requests" not in page


def test_a_community_name_with_markup_is_escaped_on_the_public_form_and_the_poster(login, browser, world):
    world.community.name = "<script>x</script>社区"
    db.session.commit()
    for page in (
        browser.get(_ask_url(world)),
        login("community_secretary").get(f"/communities/{world.community.id}/requests/poster"),
    ):
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "<script>x" not in html and "&lt;script&gt;x" in html
