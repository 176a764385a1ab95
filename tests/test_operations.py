"""Backup and restore, and the deployment check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from kmvolunteer.core.backup import backup_sqlite
from kmvolunteer.core.deploycheck import problems
from kmvolunteer.extensions import db

ROOT = Path(__file__).resolve().parents[1]


def _table_counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in db.metadata.sorted_tables
        }


@pytest.mark.committing  # the backup is copied from another connection
def test_backup_restores_identical_data(app, ctx, tmp_path):
    if db.engine.dialect.name != "sqlite":
        with pytest.raises(ValueError, match="pg_dump"):
            backup_sqlite(db.engine, str(tmp_path / "b.db"))
        return
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    result = app.test_cli_runner().invoke(args=["backup", "-o", str(tmp_path / "copy.db")])
    assert result.exit_code == 0, result.output
    restored = create_engine(f"sqlite:///{tmp_path / 'copy.db'}")
    assert _table_counts(restored) == _table_counts(db.engine)
    with restored.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    # A second backup to the same name is refused rather than overwriting.
    again = app.test_cli_runner().invoke(args=["backup", "-o", str(tmp_path / "copy.db")])
    assert again.exit_code != 0


SAFE = {
    "DEBUG": False,
    "TESTING": False,
    "SECRET_KEY": "x" * 64,
    "SECRET_KEY_FROM_ENV": True,
    "WEB_HOSTS": 3,
    "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://kmv@db/kmv",
    "PUBLIC_URL": "https://kmv.km.gov.cn",
    "SESSION_COOKIE_SECURE": True,
    "PROXY_HOPS": 1,
    "SECURITY_CONTACT": "mailto:security@kmv.km.gov.cn",
}


def test_a_safe_configuration_has_no_problems():
    assert problems(SAFE) == []


@pytest.mark.parametrize(
    "change, words",
    [
        ({"DEBUG": True}, "Debug"),
        ({"SECRET_KEY": "changeme"}, "SECRET_KEY"),
        ({"SQLALCHEMY_DATABASE_URI": "sqlite:///x.db"}, "SQLite"),
        ({"SECRET_KEY_FROM_ENV": False}, "same SECRET_KEY"),
        ({"SESSION_COOKIE_SECURE": False}, "COOKIE_SECURE"),
        ({"PROXY_HOPS": 0}, "PROXY_HOPS"),
        ({"PUBLIC_URL": ""}, "PUBLIC_URL"),
        ({"SECURITY_CONTACT": ""}, "SECURITY_CONTACT"),
    ],
)
def test_each_unsafe_setting_is_named(change, words):
    found = problems({**SAFE, **change})
    assert len(found) >= 1 and any(words in p for p in found)


def test_check_deploy_exits_non_zero_when_unsafe(tmp_path):
    env = {
        **os.environ,
        "KMV_INSTANCE_DIR": str(tmp_path),
        "FLASK_DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
    }
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "check-deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "UNSAFE" in result.stdout and "Debug" in result.stdout
    safe_env = {
        **env,
        "FLASK_DEBUG": "0",
        "SECRET_KEY": "k" * 40,
        "PUBLIC_URL": "http://127.0.0.1:8000",
        "SECURITY_CONTACT": "mailto:security@example.gov.cn",
    }
    ok = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "check-deploy"],
        cwd=ROOT,
        env=safe_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_backup_before_upgrade_only_when_migrations_are_pending(tmp_path):
    from flask_migrate import upgrade

    from kmvolunteer import create_app
    from kmvolunteer.config import TestConfig

    fresh = create_app(TestConfig(f"sqlite:///{tmp_path / 'site.db'}"))
    runner = fresh.test_cli_runner()
    args = ["backup", "--if-migrations-pending", "-o"]
    with fresh.app_context():
        assert runner.invoke(args=[*args, str(tmp_path / "empty.db")]).exit_code == 0
        assert not (tmp_path / "empty.db").exists()  # no schema yet: nothing to keep
        upgrade(revision="0a6ebb9ad4af")
        result = runner.invoke(args=[*args, str(tmp_path / "before.db")])
        assert result.exit_code == 0, result.output
        assert (tmp_path / "before.db").exists()
        upgrade()
        assert runner.invoke(args=[*args, str(tmp_path / "current.db")]).exit_code == 0
        assert not (tmp_path / "current.db").exists()
        db.engine.dispose()


def test_security_txt_says_where_to_report_a_problem(app, client):
    assert client.get("/.well-known/security.txt").status_code == 404  # the operator has set no contact
    app.config.update(SECURITY_CONTACT="mailto:security@kmv.km.gov.cn", PUBLIC_URL="https://kmv.km.gov.cn")
    try:
        response = client.get("/.well-known/security.txt")
    finally:
        app.config.update(SECURITY_CONTACT="", PUBLIC_URL="")
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert "Contact: mailto:security@kmv.km.gov.cn\n" in text and "Expires: " in text
    assert "Canonical: https://kmv.km.gov.cn/.well-known/security.txt" in text
