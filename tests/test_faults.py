"""Faults: a database that is busy, down or read-only gives a 503 that needs no database (issue 13, item 17)."""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select
from sqlalchemy.exc import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)

from kmvolunteer import config, create_app
from kmvolunteer.core.time import local_today
from kmvolunteer.errors import database_unavailable
from kmvolunteer.extensions import db
from kmvolunteer.service.models import ServiceRecord
from tests.conftest import PASSWORD, Browser
from tests.factories import build_world, service_report_in

HX = {"HX-Request": "true"}


@pytest.fixture(scope="module")
def sqlite_site(tmp_path_factory):
    """A site on its own SQLite file (whatever engine the suite runs on), with a member reported in."""
    path = tmp_path_factory.mktemp("faults") / "site.db"
    settings = config.TestConfig(f"sqlite:///{path}")
    settings.SQLITE_BUSY_TIMEOUT_MS = 500  # set shorter than the default, to answer the held lock sooner
    site = create_app(settings)
    with site.app_context():
        upgrade()
        world = build_world(PASSWORD)
        service_report_in(world.members["member"], world.community)
        db.session.commit()
        community_id = world.community.id
    yield site, path, community_id
    with site.app_context():
        db.engine.dispose()


def _entry(community_id: int, content: str) -> dict:
    return {
        "service_date": (local_today() - timedelta(days=1)).isoformat(),
        "hours": "1",
        "content": content,
        "community_id": str(community_id),
    }


def _records(site, content: str) -> int:
    with site.app_context():
        return db.session.scalar(
            select(func.count()).select_from(ServiceRecord).where(ServiceRecord.content == content)
        )


def test_a_locked_sqlite_file_gives_writers_a_quick_503_while_reads_go_on(sqlite_site):
    site, path, community_id = sqlite_site
    b = Browser(site.test_client())
    b.login("13800000001")
    b.get("/service/new")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        started = time.monotonic()
        response = b.post("/service/new", _entry(community_id, "锁住时提交"))
        waited = time.monotonic() - started
        assert response.status_code == 503
        assert 0.5 <= waited < 3, waited  # it waited for the lock the 0.5 s configured, not the default 5 s
        assert int(response.headers["Retry-After"]) > 0
        page = response.get_data(as_text=True)
        assert "尚未保存" in page  # "not saved", in the default language
        assert 'href="javascript' not in page and "<script" not in page
        fragment = b.post("/service/new", _entry(community_id, "锁住时提交"), headers=HX)
        assert fragment.status_code == 503 and "Retry-After" in fragment.headers
        assert 'hx-swap-oob="true"' in fragment.get_data(as_text=True)
        assert "<html" not in fragment.get_data(as_text=True)
        started = time.monotonic()
        assert b.get("/service/my").status_code == 200  # reads do not wait for the writer
        assert time.monotonic() - started < 1.5
    finally:
        holder.rollback()
        holder.close()
    assert _records(site, "锁住时提交") == 0
    again = b.post("/service/new", _entry(community_id, "锁住时提交"))
    assert again.status_code == 303 and _records(site, "锁住时提交") == 1


@pytest.fixture
def unreachable_site():
    """A site whose PostgreSQL does not answer (nothing listens on port 9)."""
    site = create_app(config.TestConfig("postgresql+psycopg://kmv@127.0.0.1:9/kmv?connect_timeout=2"))
    site.config["BABEL_DEFAULT_LOCALE"] = "en"
    return site


def _signed_in(site):
    client = site.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:0"  # loading the user needs the database
        session["_fresh"] = True
    return client


def test_a_database_that_is_down_gives_a_503_page_rendered_without_it(unreachable_site):
    client = _signed_in(unreachable_site)
    response = client.get("/service/my")
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    page = response.get_data(as_text=True)
    assert "<html" in page and "try again" in page.lower()
    fragment = client.get("/service/my", headers=HX)
    assert fragment.status_code == 503 and "<html" not in fragment.get_data(as_text=True)
    assert 'id="alerts"' in fragment.get_data(as_text=True)
    boosted = client.post("/service/new", headers={**HX, "HX-Boosted": "true"}, data={"content": "x"})
    # A boosted form gets the fragment too: swapped into the message region, the form stays as typed.
    assert boosted.status_code == 503 and 'hx-swap-oob="true"' in boosted.get_data(as_text=True)


class _DBAPIError(Exception):
    pass


@pytest.mark.parametrize(
    "error, unavailable",
    [
        (OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked")), True),
        (OperationalError("INSERT", {}, sqlite3.OperationalError("attempt to write a readonly database")), True),
        (OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: user")), False),
        (InterfaceError("SELECT", {}, _DBAPIError("connection already closed")), True),
        (ProgrammingError("SELECT", {}, _DBAPIError("syntax error")), False),
        (IntegrityError("INSERT", {}, _DBAPIError("duplicate key")), False),
        (ValueError("database is locked"), False),
    ],
)
def test_which_errors_mean_the_database_is_unavailable(error, unavailable):
    assert database_unavailable(error) is unavailable


def test_psycopg_connection_errors_mean_unavailable():
    import psycopg

    for dbapi_error in (
        psycopg.OperationalError("terminating connection due to administrator command"),
        psycopg.InterfaceError("the connection is closed"),
    ):
        assert database_unavailable(OperationalError("SELECT", {}, dbapi_error))


def test_busy_timeout_is_short_and_configurable(sqlite_site):
    site, _path, _community_id = sqlite_site
    with site.app_context():
        assert db.session.execute(db.text("PRAGMA busy_timeout")).scalar() == 500
    assert config.Config().SQLITE_BUSY_TIMEOUT_MS == 5000 or "SQLITE_BUSY_TIMEOUT_MS" in os.environ
