"""通报 pages: the list (drafts only for the organization departments covering them), drafting, the draft's
editing, publishing, and the A4 print view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from kmvolunteer.auth.policy import can, get_or_404, org_areas, scoped
from kmvolunteer.bulletins import home as _home  # noqa: F401  (registers the home-page section)
from kmvolunteer.bulletins import services
from kmvolunteer.bulletins.forms import DraftForm, ExampleForm, RefreshForm, RemoveExampleForm, TextForm
from kmvolunteer.bulletins.models import BULLETINS, Bulletin
from kmvolunteer.core.htmx import render, see_other
from kmvolunteer.core.refusals import refused
from kmvolunteer.core.text import parse_id
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Branch

bp = Blueprint("bulletins", __name__, url_prefix="/bulletins")


@bp.app_template_filter("bulletin_number")
def bulletin_number(bulletin: Bulletin) -> str:
    """五华区 2026年第1号, or — for a draft."""
    if bulletin.number is None:
        return "—"
    return _("%(area)s %(year)d No. %(number)d", area=bulletin.area.name, year=bulletin.year, number=bulletin.number)


def _draft_areas() -> list[Area]:
    """Where the user may draft: the city or districts of their grants, and a city's districts."""
    areas = []
    for area in org_areas(current_user):
        areas.append(area)
        if area.level == "city":
            areas.extend(child for child in area.children if child.level == "district" and child.active)
    return [area for area in areas if can(current_user, "bulletin.draft", area)]


def _index_page(form: DraftForm, *, status: int = 200):
    q = request.args.get("q", "").strip()[:100]
    stmt = scoped(select(Bulletin).options(joinedload(Bulletin.area)), current_user, "bulletin.list")
    if q:
        stmt = stmt.where(
            or_(Bulletin.title.contains(q, autoescape=True), Bulletin.serial.contains(q, autoescape=True))
        )
    page = db.paginate(stmt.order_by(Bulletin.year.desc(), Bulletin.id.desc()), per_page=30, error_out=False)
    return render(
        "bulletins/index.html",
        page=page,
        q=q,
        form=form,
        areas=_draft_areas(),
        labels=BULLETINS.labels,
        status=status,
    )


@bp.route("/")
@login_required
def index():
    if not can(current_user, "bulletin.list"):
        abort(404)
    return _index_page(DraftForm(data={"year": local_today().year}))


@bp.route("/new", methods=["POST"])
@login_required
def new():
    areas = _draft_areas()
    if not areas:
        abort(404)
    form = DraftForm()
    if form.validate_on_submit():
        area = db.session.get(Area, form.area_id.data)
        if area is None or not can(current_user, "bulletin.draft", area):
            abort(404)
        with refused(form):
            bulletin = services.draft(area, form.year.data, current_user, name_members=bool(form.name_members.data))
            db.session.commit()
            flash(_("The draft is ready. Edit its text, add good examples, then publish it."), "success")
            return see_other(url_for("bulletins.show", bulletin_id=bulletin.id))
    return _index_page(form, status=422)


def _show_page(bulletin: Bulletin, *, status: int = 200, error: str | None = None, **forms: Any):
    editable = bulletin.draft and can(current_user, "bulletin.edit", bulletin)
    context: dict[str, Any] = {"bulletin": bulletin, "editable": editable, "error": error, "labels": BULLETINS.labels}
    if editable:
        agency_id = parse_id(request.args.get("agency"))
        chosen = next((unit for unit in bulletin.units if unit.agency_id == agency_id), None)
        branches = (
            db.session.scalars(
                select(Branch).where(Branch.agency_id == chosen.agency_id, Branch.active).order_by(Branch.id)
            ).all()
            if chosen is not None
            else []
        )
        context |= {
            "text_form": forms.get("text_form") or TextForm(obj=bulletin),
            "refresh_form": forms.get("refresh_form") or RefreshForm(name_members=bulletin.name_members),
            "example_form": forms.get("example_form") or ExampleForm(agency_id=agency_id if chosen else None),
            "chosen": chosen,
            "branches": branches,
            "remove_form": RemoveExampleForm(),
        }
    return render("bulletins/show.html", status=status, **context)


@bp.route("/<int:bulletin_id>")
@login_required
def show(bulletin_id: int):
    return _show_page(get_or_404(Bulletin, bulletin_id, "bulletin.view"))


def _back(bulletin: Bulletin, message: str):
    flash(message, "success")
    return see_other(url_for("bulletins.show", bulletin_id=bulletin.id))


def _change(bulletin: Bulletin, form: FlaskForm, form_name: str, change: Callable[[], None], message: str):
    """Validate ``form``, make the change and go back to the bulletin; else show it again (422) with the form and
    its errors, or with the refusal when the bulletin is no longer a draft (its page then has no forms)."""
    if form.validate_on_submit():
        with refused(form) as refusal:
            change()
            db.session.commit()
            return _back(bulletin, message)
        if not bulletin.draft:
            return _show_page(bulletin, status=422, error=refusal.message)
    return _show_page(bulletin, status=422, **{form_name: form})


@bp.route("/<int:bulletin_id>/text", methods=["POST"])
@login_required
def edit_text(bulletin_id: int):
    bulletin = get_or_404(Bulletin, bulletin_id, "bulletin.edit")
    form = TextForm()
    text = services.Text(form.title.data, form.issuer.data, form.preamble.data, form.closing.data)
    return _change(
        bulletin,
        form,
        "text_form",
        lambda: services.edit_text(bulletin, current_user, text),
        _("The text is saved."),
    )


@bp.route("/<int:bulletin_id>/refresh", methods=["POST"])
@login_required
def refresh(bulletin_id: int):
    bulletin = get_or_404(Bulletin, bulletin_id, "bulletin.edit")
    form = RefreshForm()
    return _change(
        bulletin,
        form,
        "refresh_form",
        lambda: services.refresh(bulletin, current_user, name_members=bool(form.name_members.data)),
        _("The figures are read again from the tallies."),
    )


@bp.route("/<int:bulletin_id>/examples", methods=["POST"])
@login_required
def add_example(bulletin_id: int):
    bulletin = get_or_404(Bulletin, bulletin_id, "bulletin.edit")
    form = ExampleForm()

    def add() -> None:
        services.add_example(
            bulletin,
            current_user,
            text=form.text.data,
            agency_id=form.agency_id.data,
            branch_id=form.branch_id.data,
            name=form.name.data,
        )

    return _change(bulletin, form, "example_form", add, _("The good example is added."))


def _act(bulletin: Bulletin, change: Callable[[], None], message: str, to: str | None = None):
    """Make a change that needs no form but the token, then go ``to`` (the bulletin); refused, show the bulletin
    again with the reason (422)."""
    with refused() as refusal:
        change()
        db.session.commit()
        flash(message, "success")
        return see_other(to or url_for("bulletins.show", bulletin_id=bulletin.id))
    return _show_page(bulletin, status=422, error=refusal.message)


@bp.route("/<int:bulletin_id>/examples/remove", methods=["POST"])
@login_required
def remove_example(bulletin_id: int):
    bulletin = get_or_404(Bulletin, bulletin_id, "bulletin.edit")
    form = RemoveExampleForm()
    chosen = form.example_id.data if form.validate_on_submit() else None
    change = lambda: services.remove_example(bulletin, current_user, chosen)  # noqa: E731
    return _act(bulletin, change, _("The example is removed."))


@bp.route("/<int:bulletin_id>/publish", methods=["POST"])
@login_required
def publish(bulletin_id: int):
    bulletin = get_or_404(Bulletin, bulletin_id, "bulletin.publish")
    with refused() as refusal:
        services.publish(bulletin, current_user)
        db.session.commit()
        return _back(bulletin, _("Published as %(number)s.", number=bulletin_number(bulletin)))
    return _show_page(bulletin, status=422, error=refusal.message)


@bp.route("/<int:bulletin_id>/delete", methods=["POST"])
@login_required
def delete(bulletin_id: int):
    bulletin = get_or_404(Bulletin, bulletin_id, "bulletin.edit")
    change = lambda: services.delete_draft(bulletin, current_user)  # noqa: E731
    return _act(bulletin, change, _("The draft is deleted."), url_for("bulletins.index"))


@bp.route("/<int:bulletin_id>/print")
@login_required
def print_view(bulletin_id: int):
    bulletin = get_or_404(Bulletin, bulletin_id, "bulletin.view")
    return render("bulletins/print.html", bulletin=bulletin)
