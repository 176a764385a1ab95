"""吹哨报到's blueprint: the pages are a later step; for now the `flask whistles` commands."""

from __future__ import annotations

import click
from flask import Blueprint

from kmvolunteer.extensions import db
from kmvolunteer.whistles import services

bp = Blueprint("whistles", __name__, cli_group="whistles")


@bp.cli.command("escalate")
def escalate() -> None:
    """Run one automatic escalation pass (overdue summons, or rated 不满意 twice) and commit it."""
    escalated = services.escalation_pass()
    db.session.commit()
    click.echo(f"{len(escalated)} whistle(s) escalated.")
