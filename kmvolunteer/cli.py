"""flask commands: seed-demo, create-admin, backup, check-deploy (and the features' own groups)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from kmvolunteer.core.errors import ServiceError
from kmvolunteer.extensions import db

# Commands that work on a database without the schema (or create it).
SCHEMA_FREE = {"db", "backup", "check-deploy", "machines"}


def init_app(app: Flask) -> None:
    from kmvolunteer import jobs

    app.cli.add_command(jobs.cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_admin)
    app.cli.add_command(backup)
    app.cli.add_command(check_deploy)
    app.cli.add_command(machines)
    _require_schema(app.cli)


def _require_schema(command: click.Command) -> None:
    """Every command but SCHEMA_FREE first checks that the migrations are applied.

    On a fresh checkout `flask seed-demo` would otherwise end in a traceback about a missing table.
    """
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            if name not in SCHEMA_FREE:
                _require_schema(sub)
    elif command.callback is not None and not getattr(command.callback, "checks_schema", False):
        command.callback = _checking_schema(command.callback)


def _checking_schema(callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    @with_appcontext
    def checked(*args: Any, **kwargs: Any) -> Any:
        from kmvolunteer.core.db import pending_migrations

        pending = pending_migrations()
        if pending is None:
            raise click.ClickException("The database has no tables yet: run `flask --app app db upgrade` first.")
        if pending:
            raise click.ClickException("The database schema is out of date: run `flask --app app db upgrade` first.")
        return callback(*args, **kwargs)

    checked.checks_schema = True  # type: ignore[attr-defined]
    return checked


@click.command("seed-demo")
@click.option(
    "--scale",
    type=click.Choice(["demo", "city"]),
    default="demo",
    help="demo: Kunming's districts with sample places; city: about 500 communities, "
    "5,000 branches and 200,000 members.",
)
@click.option("--communities", type=int, help="Generate this many communities (implies a generated city).")
@click.option("--branches", type=int, help="Generate this many branches.")
@click.option("--members", type=int, help="Generate this many members.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when the database has data.")
def seed_demo(scale: str, communities: int | None, branches: int | None, members: int | None, if_empty: bool) -> None:
    """Fill an EMPTY database with the demo city. Refuses a database that has data."""
    from kmvolunteer import demo

    if if_empty and not demo.database_is_empty():
        click.echo("The database already has data; the demo city was not loaded.")
        return
    generated = None
    if scale == "city" or communities or branches or members:
        generated = demo.Sizes()
        generated.communities = communities or generated.communities
        generated.branches = branches or generated.branches
        generated.members = members or generated.members
    started = time.monotonic()
    try:
        counts = demo.seed(generated=generated, echo=click.echo)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"Seeded {counts} in {time.monotonic() - started:.1f} s. Demo accounts use the password {demo.DEMO_PASSWORD!r}."
    )


@click.command("machines")
@with_appcontext
def machines() -> None:
    """Print every declared state machine as Markdown (docs/state-machines.md is this output)."""
    from kmvolunteer.core import machine

    click.echo(machine.markdown(), nl=False)


@click.command("create-admin")
@click.option("--username", prompt=True)
@click.option("--name", "display_name", prompt="Full name")
@click.option(
    "--area",
    "area_name",
    default="昆明市",
    show_default=True,
    help="The city or district the account is the organization department of.",
)
def create_admin(username: str, display_name: str, area_name: str) -> None:
    """Create an organization-department account (prompts for the password)."""
    from kmvolunteer.auth import services
    from kmvolunteer.auth.models import Role
    from kmvolunteer.org.models import Area

    area = db.session.scalar(select(Area).where(Area.name == area_name, Area.level.in_(("city", "district"))))
    if area is None:
        raise click.ClickException(f"No city or district named {area_name!r}. Load the places first.")
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user, _initial = services.create_user(username=username, display_name=display_name, home_area=area)
        services.validate_new_password(user, password)
        user.password_hash = services.hash_password(password)
        user.must_change_password = False
        services.add_grant(user, services.build_grant(Role.org_department, user=user, area=area), actor=None)
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"Created {user.username}, organization department of {area.name}.")


@click.command("backup")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Where to write the copy (default: instance/backups/kmvolunteer-YYYYmmdd-HHMMSS.db).",
)
@click.option(
    "--if-migrations-pending",
    "only_before_upgrade",
    is_flag=True,
    help="Only when `db upgrade` has migrations to apply to an SQLite database with a schema; otherwise do nothing.",
)
def backup(output: str | None, only_before_upgrade: bool) -> None:
    """Write a consistent online copy of the SQLite database (safe while the site runs)."""
    from kmvolunteer.core.backup import backup_sqlite
    from kmvolunteer.core.db import pending_migrations

    if only_before_upgrade and (db.engine.dialect.name != "sqlite" or not pending_migrations()):
        click.echo("No backup needed: no migrations to apply to an SQLite database.")
        return
    try:
        path = backup_sqlite(db.engine, output)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backup written to {path}")


@click.command("check-deploy")
def check_deploy() -> None:
    """List what is unsafe in the current configuration; exit 1 if anything is."""
    from flask import current_app

    from kmvolunteer.core.deploycheck import problems

    found = problems(current_app.config)
    if not found:
        click.echo("OK: nothing unsafe found in this configuration.")
        return
    for problem in found:
        click.echo(f"UNSAFE: {problem}")
    raise SystemExit(1)
