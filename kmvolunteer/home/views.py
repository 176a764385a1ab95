from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user, login_required
from sqlalchemy import text

from kmvolunteer.core.htmx import render
from kmvolunteer.extensions import db
from kmvolunteer.home.sections import sections_for
from kmvolunteer.home.services import panels_for

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    return render("home/index.html", panels=panels_for(current_user), member=current_user.member,
                  sections=sections_for(current_user))


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
