"""Pages for API tokens: a person's own (for apps acting for them) and, for organization departments, their
integrations'. A new token is shown once, on the page that answers its form, and never again."""

from __future__ import annotations

from flask import Blueprint, abort, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from kmvolunteer.api import tokens
from kmvolunteer.api.forms import IntegrationTokenForm, TokenForm
from kmvolunteer.api.models import READ_SCOPES, SCOPES, ApiToken
from kmvolunteer.api.setup import spec
from kmvolunteer.auth.policy import get_or_404, integration_areas
from kmvolunteer.core.htmx import render, see_other
from kmvolunteer.core.refusals import refused
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area

bp = Blueprint("api_tokens", __name__)


def _forms(personal: TokenForm | None = None, integration: IntegrationTokenForm | None = None):
    personal = personal or TokenForm(prefix="personal")
    personal.scopes.choices = [(key, str(label)) for key, label in SCOPES.items()]
    areas = integration_areas(current_user)
    if areas and integration is None:
        integration = IntegrationTokenForm(prefix="integration")
    if integration is not None:
        integration.scopes.choices = [(key, str(label)) for key, label in READ_SCOPES.items()]
        integration.area.choices = [(a.id, a.name) for a in _token_areas(areas)]
    return personal, integration


def _token_areas(areas: list[Area]) -> list[Area]:
    """The city or districts the user's integrations may be bound to: their own, and a city's districts."""
    chosen = list(areas)
    for area in areas:
        if area.level == "city":
            chosen += db.session.scalars(
                select(Area).where(Area.parent_id == area.id, Area.level == "district", Area.active.is_(True))
            ).all()
    return chosen


def _page(status: int = 200, *, made: tuple[ApiToken, str] | None = None, **forms):
    personal, integration = _forms(forms.get("personal"), forms.get("integration"))
    return render(
        "api/tokens.html",
        status=status,
        personal=personal,
        integration=integration,
        mine=tokens.personal_tokens(current_user),
        integrations=tokens.integration_tokens(current_user),
        made=made,
        scope_labels=SCOPES,
    )


@bp.route("/account/api-tokens")
@login_required
def index():
    return _page()


@bp.route("/account/api-tokens/personal", methods=["POST"])
@login_required
def create_personal():
    form = TokenForm(prefix="personal")
    with refused(form):
        made = tokens.create_personal(current_user, form.name.data, form.scopes.data, form.days.data)
        db.session.commit()
        return _page(201, made=made)
    return _page(422, personal=form)


@bp.route("/account/api-tokens/integration", methods=["POST"])
@login_required
def create_integration():
    if not integration_areas(current_user):
        abort(404)  # only an organization department keeps integrations' tokens
    form = IntegrationTokenForm(prefix="integration")
    with refused(form):
        area = db.session.get(Area, form.area.data) if form.area.data else None
        made = tokens.create_integration(current_user, area, form.name.data, form.scopes.data, form.days.data)
        db.session.commit()
        return _page(201, made=made)
    return _page(422, integration=form)


@bp.route("/account/api-tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id: int):
    token = get_or_404(ApiToken, token_id, "api_token.revoke")
    with refused() as refusal:
        tokens.revoke(token, current_user)
        db.session.commit()
    if refusal:
        flash(refusal.message, "error")
    else:
        flash(_("The token of %(name)s is revoked: calls with it are refused from now on.", name=token.name), "success")
    return see_other(url_for("api_tokens.index"))


@bp.route("/api/v1/docs")
def docs():
    """The API reference: the OpenAPI document read out as a page (no script, nothing loaded from elsewhere)."""
    return render("api/reference.html", spec=spec())
