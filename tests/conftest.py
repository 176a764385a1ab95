"""Fixtures: one app and schema per session (built by the migrations); each test's changes are undone.

DATABASE_URL picks the engine: unset → a SQLite file in a temp folder;
postgresql+psycopg://... → that database (its public schema is rebuilt).
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import Select, func, select, text
from sqlalchemy.exc import OperationalError

from kmvolunteer import create_app, demo
from kmvolunteer.auth.models import User
from kmvolunteer.config import TestConfig
from kmvolunteer.extensions import db
from tests.factories import World, build_world

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
PASSWORD = "secret-2026"


def pytest_configure(config) -> None:
    """Declare the ``committing`` marker; compile the translations the suite needs (the .mo files are not
    committed), so that `pytest` alone works as well as `make test`."""
    config.addinivalue_line(
        "markers",
        "committing: the test commits for real (other threads or connections must see its data); every "
        "table is emptied after it instead of its transaction being rolled back",
    )
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (Path(__file__).resolve().parent.parent / "kmvolunteer" / "translations").glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source:
                catalog = read_po(source)
            with mo.open("wb") as target:
                write_mo(target, catalog)


def _database_url(tmp_dir: Path) -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_dir / 'test.db'}"


@pytest.fixture(scope="session")
def app():
    tmp_dir = Path(tempfile.mkdtemp(prefix="kmv-test-"))
    os.environ.setdefault("KMV_INSTANCE_DIR", str(tmp_dir))
    application = create_app(TestConfig(_database_url(tmp_dir)))
    application.config["PHOTO_DIR"] = tmp_dir / "photos"
    with application.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
    yield application


@pytest.fixture(autouse=True)
def _isolated(request):
    """Each test that uses the database leaves it as it found it: most run in a transaction rolled back at
    their end; those marked ``committing`` (or served by a live server) commit for real and have every table
    emptied after them. Between tests the database holds the test world (built once, kept while the tests
    that use it roll back) or nothing: a test without the world has the database emptied before it (not
    inside its transaction: PostgreSQL's sequences, which a bulk insert may move, are not rolled back)."""
    if "app" not in request.fixturenames:
        yield
        return
    application = request.getfixturevalue("app")
    on_demo_city = "demo_city" in request.fixturenames  # (emptied at the end of its module)
    if "world" in request.fixturenames:
        KEPT.build_world(application)
    elif not on_demo_city:
        KEPT.empty(application)
    if request.node.get_closest_marker("committing") or "live_server" in request.fixturenames:
        KEPT.written = True
        yield
        if not on_demo_city:
            KEPT.empty(application)
    else:
        with _rolled_back(application):
            yield


class _Kept:
    """What the database holds between tests: nothing, or the test world (``world`` is then its objects,
    detached; each test gets copies in its own session)."""

    def __init__(self) -> None:
        self.world: World | None = None
        self.written = False  # anything committed that emptying would remove

    def build_world(self, application) -> None:
        if self.world is None:
            self.empty(application)
            with application.app_context():
                self.world = build_world(PASSWORD)
                db.session.remove()
            self.written = True

    def empty(self, application) -> None:
        if self.written:
            _empty_every_table(application)
        self.world = None
        self.written = False


KEPT = _Kept()


@contextmanager
def _rolled_back(application):
    """Every session of the test (its own, each request's) joins one outer transaction on one connection,
    rolled back at the end: a commit in the app releases a savepoint instead (SQLAlchemy's "joining a
    session into an external transaction")."""
    with application.app_context():
        connection = db.engine.connect()
    transaction = connection.begin()
    if connection.dialect.name == "sqlite":
        # pysqlite begins a transaction only before a write: begin it now, or the first SAVEPOINT would
        # begin one of its own, which its RELEASE would commit.
        connection.exec_driver_sql("BEGIN")
    test_thread = threading.get_ident()

    def bind(session, *args, **kwargs):
        assert threading.get_ident() == test_thread, "a thread used the database: mark the test committing"
        return connection

    factory = db.session.session_factory
    try:
        with pytest.MonkeyPatch.context() as patch:
            # Flask-SQLAlchemy's sessions pick the app's engine whatever their ``bind``; each new one
            # (there is one per app context) takes the test's connection instead.
            patch.setattr(factory.class_, "get_bind", bind)
            patch.setitem(factory.kw, "join_transaction_mode", "create_savepoint")
            yield
    finally:
        transaction.rollback()
        connection.close()


def _empty_every_table(application) -> None:
    with application.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        # A live-server thread may still be finishing a request a browser test left behind: on a
        # lock conflict, wait a moment and try again.
        for attempt in range(5):
            try:
                with db.engine.begin() as conn:
                    if db.engine.dialect.name == "postgresql":
                        conn.execute(
                            text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
                        )
                    else:
                        for table in tables:
                            conn.execute(text(f'DELETE FROM "{table}"'))
                return
            except OperationalError:
                if attempt == 4:
                    raise
                time.sleep(0.5)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def world(app, ctx) -> World:
    """The world kept between tests (see _isolated), its objects in this test's session."""
    return KEPT.world.attached()


@pytest.fixture(scope="module")
def demo_city(app):
    """The demo city, committed once for the tests of a module: they roll back, or only read it."""
    KEPT.empty(app)
    KEPT.written = True
    with app.app_context():
        demo.seed(echo=lambda *_: None)
        db.session.remove()
    yield
    KEPT.empty(app)


@pytest.fixture
def client(app):
    return app.test_client()


def row_count() -> int:
    """Rows in every table but the logs: a refused request must leave it unchanged."""
    db.session.expire_all()
    return sum(db.session.execute(_counts_of_every_table()).one())


@cache
def _counts_of_every_table() -> Select:
    """One query for all the tables (the hostile and fuzz tests ask after every request)."""
    return select(
        *(
            select(func.count()).select_from(t).scalar_subquery()
            for t in db.metadata.sorted_tables
            if t.name not in ("audit_entry", "login_failure", "login_throttle")
        )
    )


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


class Browser:
    """A test client that logs in and posts forms with the page's CSRF token.

    Each request runs in its own app context, like a real one: otherwise it would
    share ``g`` and the database session with the test's context.
    """

    def __init__(self, client) -> None:
        self.client = client
        self.token = ""

    def _send(self, method: str, url: str, **kwargs):
        with self.client.application.app_context():
            response = self.client.open(url, method=method, **kwargs)
            response.get_data()  # run a streamed body to the end inside this request's contexts
            response.close()
            return response

    def get(self, url: str, **kwargs):
        response = self._send("GET", url, **kwargs)
        if response.content_type.startswith("text/html"):
            match = CSRF_RE.search(response.get_data(as_text=True))
            if match:
                self.token = match.group(1) or match.group(2)
        return response

    def post(self, url: str, data: dict | None = None, csrf: bool = True, **kwargs):
        payload = dict(data or {})
        if csrf:
            if not self.token:
                self.get("/login")
            payload.setdefault("csrf_token", self.token)
        return self._send("POST", url, data=payload, **kwargs)

    def login(self, username: str, password: str = PASSWORD):
        self.get("/login")
        response = self.post("/login", {"username": username, "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        self.get("/")
        return response


@pytest.fixture
def browser(client) -> Browser:
    return Browser(client)


@pytest.fixture
def login(app):
    """login('username') → a Browser logged in as that user (a fresh client each call).

    A login made earlier in the session for the same account, with the same password and the same row in
    the database, is reused: its session cookie and CSRF token are as good as a new login's, which would
    only add an audit entry and touch the login throttle. (Tests of logging in itself use Browser.login.)"""

    def _login(username: str, password: str = PASSWORD) -> Browser:
        b = Browser(app.test_client())
        key = (username, password, _account_row(app, username))
        if key in _LOGINS:
            cookie, b.token = _LOGINS[key]
            b.client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
            return b
        b.login(username, password)
        _LOGINS[key] = (b.client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value, b.token)
        return b

    return _login


_LOGINS: dict[tuple, tuple[str, str]] = {}  # (username, password, account row) → (session cookie, CSRF token)


def _account_row(app, username: str) -> tuple | None:
    """What a login's session depends on in the account's row."""
    with app.app_context():
        row = db.session.execute(
            select(
                User.id, User.session_version, User.password_hash, User.active, User.must_change_password, User.locale
            ).where(User.username == username)
        ).one_or_none()
        db.session.remove()
    return tuple(row) if row else None


@pytest.fixture
def english(app):
    """Service messages in English (the default UI language is Chinese), for tests that read them."""
    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    yield
    app.config["BABEL_DEFAULT_LOCALE"] = "zh_Hans_CN"
