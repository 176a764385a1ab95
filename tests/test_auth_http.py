"""Login, throttling, logout, passwords, language, CSRF, safe redirects, headers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from kmvolunteer.auth.models import LoginFailure, LoginThrottle, User
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.extensions import db
from tests.conftest import PASSWORD, Browser


def test_login_page_renders_in_chinese_by_default(client, world):
    response = client.get("/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="username"' in html and 'name="password"' in html
    assert '<html lang="zh-CN">' in html


def test_login_and_logout(browser, world):
    response = browser.login("city_org")
    assert response.headers["Location"] == "/"
    home = browser.get("/")
    assert home.status_code == 200
    assert "city_org" in home.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "auth.login")) == 1
    response = browser.post("/logout")
    assert response.status_code == 303
    assert browser.get("/").status_code == 302  # back to the login page


def test_anonymous_is_sent_to_login_with_next(client, world):
    response = client.get("/accounts/")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_wrong_password_and_unknown_user_get_the_same_message(browser, world):
    browser.get("/login")
    wrong = browser.post("/login", {"username": "city_org", "password": "nope"})
    unknown = browser.post("/login", {"username": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 422
    message = "用户名或密码错误"
    assert message in wrong.get_data(as_text=True) or "Wrong username or password" in wrong.get_data(as_text=True)
    strip = lambda r: r.get_data(as_text=True).replace("nobody", "").replace("city_org", "")  # noqa: E731
    assert strip(wrong).split("<main")[1].split("</form>")[0].count("error") == strip(unknown).split("<main")[1].split(
        "</form>"
    )[0].count("error")


def test_five_failures_make_the_account_wait_then_let_the_owner_in(browser, world, app):
    browser.get("/login")
    for _ in range(5):
        assert browser.post("/login", {"username": "city_org", "password": "wrong"}).status_code == 422
    # Even the right password waits (HTTP 429), without being checked.
    waiting = browser.post("/login", {"username": "city_org", "password": PASSWORD})
    assert waiting.status_code == 429
    assert db.session.scalar(select(func.count(LoginFailure.id))) == 5
    # The counter is kept in the database, so it holds for every worker: after the wait the owner gets in.
    throttle = db.session.get(LoginThrottle, "name:city_org")
    throttle.blocked_until -= timedelta(seconds=app.config["LOGIN_DELAY_SECONDS"] + 1)
    db.session.commit()
    ok = browser.post("/login", {"username": "city_org", "password": PASSWORD})
    assert ok.status_code == 303
    assert db.session.scalar(select(func.count(LoginFailure.id))) == 0  # told to the owner, then forgotten
    db.session.expire_all()
    assert db.session.get(LoginThrottle, "name:city_org").failures == 0


def test_unknown_user_waits_the_same_way(browser, world):
    browser.get("/login")
    answers = [browser.post("/login", {"username": "ghost", "password": "x"}) for _ in range(6)]
    assert [a.status_code for a in answers] == [422] * 5 + [429]
    assert "30" in answers[-1].get_data(as_text=True)


def test_login_refuses_post_without_csrf(browser, world):
    response = browser.post("/login", {"username": "city_org", "password": PASSWORD}, csrf=False)
    assert response.status_code == 400


def test_logout_refuses_post_without_csrf(login, world):
    b = login("city_org")
    assert b.post("/logout", csrf=False).status_code == 400
    assert b.get("/").status_code == 200  # still logged in


def test_next_is_followed_only_within_the_site(app, world):
    def login_with_next(target: str) -> str:
        b = Browser(app.test_client())
        b.get("/login")
        response = b.post("/login", {"username": "city_org", "password": PASSWORD, "next": target})
        assert response.status_code == 303
        return response.headers["Location"]

    assert login_with_next("/accounts/") == "/accounts/"
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", "/\t/x"):
        assert login_with_next(evil) == "/", evil


def test_deactivated_user_cannot_log_in_and_is_logged_out(login, world, browser):
    b = login("branch_secretary")
    user = db.session.get(User, world.users["branch_secretary"].id)
    user.active = False
    user.session_version += 1
    db.session.commit()
    assert b.get("/").status_code == 302
    browser.get("/login")
    assert browser.post("/login", {"username": "branch_secretary", "password": PASSWORD}).status_code == 422


def test_change_password(login, world):
    b = login("13800000001")
    page = b.get("/account/password")
    assert page.status_code == 200
    short = b.post("/account/password", {"current": PASSWORD, "new": "abc", "confirm": "abc"})
    assert short.status_code == 422
    wrong = b.post("/account/password", {"current": "nope", "new": "Dianchi-lake-2026", "confirm": "Dianchi-lake-2026"})
    assert wrong.status_code == 422
    ok = b.post("/account/password", {"current": PASSWORD, "new": "Dianchi-lake-2026", "confirm": "Dianchi-lake-2026"})
    assert ok.status_code == 303
    assert b.get("/").status_code == 200  # this session goes on
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.username == "13800000001"))
    assert user.session_version == 2
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "user.password_changed")) == 1


def test_initial_password_must_be_changed_first(login, world):
    user = db.session.get(User, world.users["member"].id)
    user.must_change_password = True
    db.session.commit()
    b = login("13800000001")
    response = b.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/password")


def test_language_switch_is_kept_per_user(login, world):
    b = login("city_org")
    assert '<html lang="zh-CN">' in b.get("/").get_data(as_text=True)
    response = b.post("/language", {"locale": "en", "next": "/"})
    assert response.status_code == 303
    assert '<html lang="en">' in b.get("/").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, world.users["city_org"].id).locale == "en"


def test_anonymous_language_switch_uses_the_session(browser, world):
    browser.get("/login")
    browser.post("/language", {"locale": "en", "next": "/login"})
    assert "Log in" in browser.get("/login").get_data(as_text=True)


def test_security_headers_and_vary(client, world):
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "HX-Request" in response.headers["Vary"]
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_healthz(client, world):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_error_pages_are_fragments_for_htmx(login, world):
    b = login("city_org")
    full = b.get("/areas/999999")
    assert full.status_code == 404 and "<html" in full.get_data(as_text=True)
    fragment = b.get("/areas/999999", headers={"HX-Request": "true"})
    assert fragment.status_code == 404 and "<html" not in fragment.get_data(as_text=True)
