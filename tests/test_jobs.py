"""The background worker (issue 15, item 5): the queue is SQLite or Redis by configuration; a real consumer
(a subprocess, as `make run` starts it) runs what is enqueued in an app context of its own; the scheduled
whistle pass escalates and reminds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from huey import RedisHuey, SqliteHuey
from sqlalchemy import func, select

from kmvolunteer import jobs
from kmvolunteer.config import PROJECT_ROOT, JobSettings
from kmvolunteer.extensions import db
from kmvolunteer.notices.models import Notice
from kmvolunteer.whistles.models import Summons, Whistle
from tests.test_whistles_services import blow
from tests.test_whistles_services import town as town  # a fixture

REDIS_URL = "redis://127.0.0.1:6379/0"


def test_the_queue_is_sqlite_in_the_instance_folder_unless_redis_is_configured(tmp_path, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("HUEY_FILE", str(tmp_path / "data" / "huey.db"))
    embedded = jobs.make_huey(JobSettings.from_env())
    assert isinstance(embedded, SqliteHuey) and (tmp_path / "data" / "huey.db").exists()
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    shared = jobs.make_huey(JobSettings.from_env())
    assert isinstance(shared, RedisHuey)
    assert shared.storage.conn.ping()
    monkeypatch.delenv("HUEY_FILE")
    assert JobSettings.from_env().path.name == "huey.db" and JobSettings.from_env().pass_minutes == 5


def overdue_and_due_soon(town) -> tuple[Whistle, Summons]:
    """One whistle past its sign deadline (the pass escalates it), one with a sign deadline in half an hour
    (the pass reminds its department)."""
    late = blow(town)
    db.session.execute(
        Summons.__table__.update()
        .where(Summons.whistle_id == late.id)
        .values(sign_due_at=late.summonses[0].summoned_at - timedelta(minutes=1))
    )
    soon = blow(town, town.market).summonses[0]
    db.session.execute(
        Summons.__table__.update()
        .where(Summons.id == soon.id)
        .values(sign_due_at=soon.summoned_at + timedelta(minutes=30))
    )
    db.session.commit()
    return late, soon


def test_the_scheduled_pass_escalates_and_reminds(town, monkeypatch):
    late, soon = overdue_and_due_soon(town)
    monkeypatch.setattr(jobs.huey, "immediate", True)
    jobs.scheduled_whistle_pass()  # huey keeps no result of a periodic task: its effects tell
    db.session.expire_all()
    assert late.status == "escalated"
    assert db.session.scalar(select(Notice.user_id).where(Notice.kind == "due_sign")) == town.market_officer.id
    assert jobs.whistle_pass() == (0, 1)  # considered again, escalated and told once
    assert db.session.scalar(select(func.count()).where(Whistle.escalated_from_id.is_not(None))) == 1
    assert db.session.scalar(select(func.count()).where(Notice.kind == "due_sign")) == 1


def test_the_pass_runs_every_few_minutes():
    task = jobs.scheduled_whistle_pass.task_class()
    minutes = [minute for minute in range(60) if task.validate_datetime(_at(minute))]
    assert minutes == list(range(0, 60, jobs.SETTINGS.pass_minutes))


def _at(minute: int):
    from datetime import datetime

    return datetime(2026, 12, 2, 10, minute)


def test_the_pass_command(app, town):
    overdue_and_due_soon(town)
    result = app.test_cli_runner().invoke(args=["jobs", "pass"])
    assert result.exit_code == 0 and "1 whistle(s) escalated, 1 reminder(s) considered" in result.output


@pytest.mark.committing
@pytest.mark.parametrize("queue", ["sqlite", "redis"])
def test_a_real_worker_runs_an_enqueued_pass(app, town, tmp_path, monkeypatch, queue):
    late, _ = overdue_and_due_soon(town)
    settings = (
        JobSettings(redis_url=REDIS_URL, name=f"kmv-test-{uuid.uuid4().hex[:8]}")
        if queue == "redis"
        else JobSettings(path=tmp_path / "huey.db")
    )
    monkeypatch.setattr(jobs.huey, "storage", jobs.make_huey(settings).storage)
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "KMV_INSTANCE_DIR": str(tmp_path),
        "SECRET_KEY": "worker-test",
        "REDIS_URL": settings.redis_url,
        "HUEY_FILE": str(settings.path),
        "HUEY_NAME": settings.name,
    }
    worker = _start_worker(env, tmp_path / "worker.log")
    try:
        jobs.scheduled_whistle_pass()
        deadline = time.monotonic() + 60
        while not _reminded() and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.2)  # the reminders are committed after the escalation
    finally:
        worker.terminate()
        worker.wait(20)
        jobs.huey.storage.flush_all()
    assert _reminded() == 1, _log(tmp_path)
    assert db.session.scalar(select(Whistle.status).where(Whistle.id == late.id)) == "escalated"
    assert db.session.scalar(select(func.count()).where(Whistle.escalated_from_id == late.id)) == 1
    assert "Executing kmvolunteer.jobs.scheduled_whistle_pass" in _log(tmp_path)


def _reminded() -> int:
    db.session.rollback()  # a fresh snapshot: the worker commits from another process
    return db.session.scalar(select(func.count()).where(Notice.kind == "due_sign"))


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "flask", "--app", "app", "jobs", "worker", "--workers", "1"]
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def _log(tmp_path: Path) -> str:
    return (tmp_path / "worker.log").read_text()
