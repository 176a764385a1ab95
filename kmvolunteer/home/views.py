from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, jsonify, make_response
from flask_login import current_user, login_required
from sqlalchemy import text

from kmvolunteer.core.htmx import render
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.home.sections import sections_for
from kmvolunteer.home.services import panels_for

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    return render(
        "home/index.html",
        panels=panels_for(current_user),
        member=current_user.member,
        sections=sections_for(current_user),
    )


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.route("/.well-known/security.txt")
def security_txt():
    """RFC 9116: where to report a security problem (SECURITY_CONTACT), when the operator has set one."""
    contact = current_app.config["SECURITY_CONTACT"]
    if not contact:
        abort(404)
    expires = (utcnow() + timedelta(days=180)).strftime("%Y-%m-%dT00:00:00Z")
    lines = [f"Contact: {contact}", f"Expires: {expires}", "Preferred-Languages: zh, en"]
    if current_app.config["PUBLIC_URL"]:
        lines.append(f"Canonical: {current_app.config['PUBLIC_URL'].rstrip('/')}/.well-known/security.txt")
    response = make_response("\n".join(lines) + "\n")
    response.mimetype = "text/plain"
    return response
