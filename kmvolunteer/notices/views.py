"""我的提醒: a user's notices, newest first; mark one or all read."""

from __future__ import annotations

from flask import Blueprint, abort, g, url_for
from flask_login import current_user, login_required

from kmvolunteer.auth.policy import can, get_or_404
from kmvolunteer.core.htmx import render, see_other
from kmvolunteer.extensions import db
from kmvolunteer.notices import services
from kmvolunteer.notices.models import Notice

bp = Blueprint("notices", __name__, url_prefix="/notices")
SHOWN = 200  # the newest notices the page lists


@bp.app_context_processor
def _notices() -> dict:
    """The menu's unread count came with the logged-in user (the app's user loader)."""
    return {"unread_notices": g.get("unread_notices", 0), "describe_notice": services.describe}


def _allowed() -> None:
    if not can(current_user, "notice.list"):
        abort(404)


@bp.get("")
@login_required
def index():
    _allowed()
    return render("notices/index.html", notices=services.notices_of(current_user, SHOWN))


@bp.post("/<int:notice_id>/read")
@login_required
def read(notice_id: int):
    notice = get_or_404(Notice, notice_id, "notice.read")
    services.mark_read(current_user, notice.id)
    db.session.commit()
    return see_other(url_for("notices.index"))


@bp.post("/read")
@login_required
def read_all():
    _allowed()
    services.mark_read(current_user)
    db.session.commit()
    return see_other(url_for("notices.index"))
