"""Background work (huey): the whistle pass — automatic escalation, then the deadline reminders — every
few minutes, run by a worker beside the web server, never on page views.

`make run` starts one worker with the web server; on hosts of their own, `flask jobs worker` (`make worker`).
The queue is huey's SQLite file in the instance folder, or Redis when REDIS_URL is set (config.JobSettings):
then the workers of several hosts share it. Every task is idempotent, so a pass that two hosts' schedulers
both start changes things once. Tasks run in an app context of the factory's app (the worker's own).
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime

import click
from flask import Flask, current_app, has_app_context
from flask.cli import with_appcontext
from huey import Huey, RedisHuey, SqliteHuey, crontab

from kmvolunteer.config import JobSettings
from kmvolunteer.extensions import db
from kmvolunteer.notices import services as notices
from kmvolunteer.whistles import services as whistles


def make_huey(settings: JobSettings) -> Huey:
    if settings.redis_url:
        return RedisHuey(settings.name, url=settings.redis_url, immediate=settings.immediate)
    settings.path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(settings.name, filename=str(settings.path), immediate=settings.immediate)


log = logging.getLogger(__name__)
SETTINGS = JobSettings.from_env()
huey = make_huey(SETTINGS)
_app: Flask | None = None


def _app_context() -> AbstractContextManager:
    """The caller's app context (a task run at once, in immediate mode), else one of the worker's app."""
    global _app
    if has_app_context():
        return nullcontext()
    if _app is None:
        from kmvolunteer import create_app

        _app = create_app()
    return _app.app_context()


def whistle_pass(now: datetime | None = None) -> tuple[int, int]:
    """Escalate what is overdue (or rated 不满意 twice), then remind of the deadlines of the next hour; each
    committed on its own. Returns (whistles escalated, reminders considered)."""
    escalated = whistles.escalation_pass(now)
    db.session.commit()
    reminded = notices.reminder_pass(now)
    db.session.commit()
    return len(escalated), reminded


@huey.periodic_task(crontab(minute=f"*/{SETTINGS.pass_minutes}"))
def scheduled_whistle_pass() -> None:
    with _app_context():
        escalated, reminded = whistle_pass()
    log.info("Whistle pass: %d whistle(s) escalated, %d reminder(s) considered.", escalated, reminded)


# --------------------------------------------------------------------------- flask jobs


@click.group("jobs")
def cli() -> None:
    """The background worker (huey)."""


@cli.command("worker")
@click.option("--workers", default=2, show_default=True, help="Threads running tasks.")
@with_appcontext
def worker(workers: int) -> None:
    """Run the worker: the queued tasks and the schedule (the whistle pass), until Ctrl-C or SIGTERM."""
    global _app
    _app = current_app._get_current_object()  # type: ignore[attr-defined]
    where = "Redis" if SETTINGS.redis_url else str(SETTINGS.path)
    click.echo(f"Worker: {workers} thread(s), queue in {where}, whistle pass every {SETTINGS.pass_minutes} min.")
    huey.create_consumer(workers=workers, worker_type="thread", periodic=True).run()


@cli.command("pass")
def run_pass() -> None:
    """Run one whistle pass now (escalation, then reminders) and commit it."""
    escalated, reminded = whistle_pass()
    click.echo(f"{escalated} whistle(s) escalated, {reminded} reminder(s) considered.")
