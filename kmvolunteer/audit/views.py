from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from kmvolunteer.audit import labels
from kmvolunteer.auth.models import User
from kmvolunteer.auth.policy import can, scoped
from kmvolunteer.core.audit import AuditEntry
from kmvolunteer.core.forms import DateField
from kmvolunteer.core.htmx import render
from kmvolunteer.core.text import is_mobile, mask_mobiles
from kmvolunteer.core.time import local_day_start_utc
from kmvolunteer.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/audit")


class AuditSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Text"), validators=[Optional(), Length(max=100)])
    actor = StringField(_l("Done by"), validators=[Optional(), Length(max=64)])
    action = SelectField(_l("Action"), validators=[Optional()], validate_choice=False)
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])


@bp.route("/")
@login_required
def index():
    if not can(current_user, "audit.view"):
        abort(404)
    form = AuditSearchForm(request.args)
    form.action.choices = [("", _("All actions"))] + [(code, str(label)) for code, label in labels.ACTIONS.items()]
    valid = form.validate()
    stmt = scoped(select(AuditEntry), current_user, "audit.list").order_by(AuditEntry.id.desc())
    if valid:
        if form.q.data:
            stmt = stmt.where(
                or_(
                    AuditEntry.summary.contains(form.q.data, autoescape=True),
                    AuditEntry.after.contains(form.q.data, autoescape=True),
                    AuditEntry.before.contains(form.q.data, autoescape=True),
                )
            )
        if form.actor.data:
            # By name, as the log shows people; by login only when it is not a phone number (shown masked).
            who = form.actor.data.strip()
            by_name = User.display_name.contains(who, autoescape=True)
            stmt = stmt.join(User, AuditEntry.actor_id == User.id).where(
                by_name if is_mobile(who) else or_(by_name, User.username == who.lower())
            )
        if form.action.data:
            stmt = stmt.where(AuditEntry.action.startswith(form.action.data.strip(), autoescape=True))
        if form.date_from.data:
            stmt = stmt.where(AuditEntry.at >= local_day_start_utc(form.date_from.data))
        if form.date_to.data:
            stmt = stmt.where(AuditEntry.at < local_day_start_utc(form.date_to.data + timedelta(days=1)))
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render(
        "audit/index.html",
        "audit/_table.html",
        page=page,
        form=form,
        action_label=labels.action_label,
        changes=labels.changes,
        mask=mask_mobiles,
    )  # entries written before numbers were masked on the way in
