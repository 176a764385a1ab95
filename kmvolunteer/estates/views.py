"""Pages of a community's structure (grids and estates) and of a member's home in their community."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from kmvolunteer.auth.policy import can, get_or_404
from kmvolunteer.core.htmx import render, see_other
from kmvolunteer.core.refusals import refused
from kmvolunteer.core.text import parse_id
from kmvolunteer.core.time import local_today, utcnow
from kmvolunteer.estates import red_property, services
from kmvolunteer.estates.models import CRITERIA
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Estate, Grid
from kmvolunteer.reportin import services as reportin_services

bp = Blueprint("estates", __name__)


def _structure_page(community: Area, *, status: int = 200, error: str | None = None, posted: dict | None = None):
    rows, per_estate = services.structure(community)
    return render(
        "estates/structure.html",
        community=community,
        rows=rows,
        per_estate=per_estate,
        grids=services.grids(community),
        manage=can(current_user, "community.manage", community),
        error=error,
        posted=posted or {},
        status=status,
    )


@bp.route("/communities/<int:community_id>/structure")
@login_required
def structure(community_id: int):
    return _structure_page(get_or_404(Area, community_id, "community.structure"))


def _save(community: Area, save) -> object:
    """Run ``save`` (a grid's or an estate's); back to the page with the message, or the page with the refusal."""
    with refused() as refusal:
        saved = save()
        db.session.commit()
    if refusal:
        return _structure_page(community, status=422, error=refusal.message, posted=dict(request.form))
    flash(_("%(name)s is saved.", name=saved.name), "success")
    return see_other(url_for("estates.structure", community_id=community.id))


def _of_community(model, object_id: int | None, community: Area):
    """The grid or estate ``object_id`` of ``community`` (None for a new one); another community's is 404."""
    if object_id is None:
        return None
    found = db.session.get(model, object_id)
    if found is None or found.community_id != community.id:
        abort(404)
    return found


@bp.route("/communities/<int:community_id>/grids", methods=["POST"])
@bp.route("/communities/<int:community_id>/grids/<int:grid_id>", methods=["POST"])
@login_required
def save_grid(community_id: int, grid_id: int | None = None):
    community = get_or_404(Area, community_id, "community.manage")
    grid = _of_community(Grid, grid_id, community)
    form = request.form
    return _save(
        community,
        lambda: services.save_grid(
            community,
            grid,
            form.get("name", ""),
            form.get("leader", ""),
            active=form.get("active", "1") == "1",
            actor_id=current_user.id,
        ),
    )


@bp.route("/communities/<int:community_id>/estates", methods=["POST"])
@bp.route("/communities/<int:community_id>/estates/<int:estate_id>", methods=["POST"])
@login_required
def save_estate(community_id: int, estate_id: int | None = None):
    community = get_or_404(Area, community_id, "community.manage")
    estate = _of_community(Estate, estate_id, community)
    form = request.form
    return _save(
        community,
        lambda: services.save_estate(
            community,
            estate,
            form.get("name", ""),
            form.get("grid_id"),
            form.get("party_branch", ""),
            property_company=form.get("property_company", ""),
            active=form.get("active", "1") == "1",
            actor_id=current_user.id,
        ),
    )


@bp.route("/report-in/home", methods=["GET", "POST"])
@login_required
def home():
    """Where the member lives in the community they reported in to, and their contact households."""
    member = current_user.member
    report_in = reportin_services.active_member_report_in(member) if member is not None else None
    if report_in is None or report_in.status != "confirmed" or not can(current_user, "reportin.home", report_in):
        abort(404)
    error = None
    if request.method == "POST":
        form = request.form
        with refused() as refusal:
            services.set_home(
                report_in,
                form.get("estate_id"),
                form.get("grid_id"),
                form.get("households"),
                form.get("note", ""),
                actor_id=current_user.id,
            )
            db.session.commit()
        if not refusal:
            flash(_("Saved: where you live and your contact households."), "success")
            return see_other(url_for("reportin.mine"))
        error = refusal.message
    community = report_in.community
    return render(
        "estates/home.html",
        report_in=report_in,
        community=community,
        estates=services.estates(community),
        grids=services.grids(community),
        error=error,
        posted=request.form if error else None,
        status=422 if error else 200,
    )


# ---------------------------------------------------------------- 红色物业


def _year() -> int:
    year = parse_id(request.args.get("year")) or local_today().year
    if not 2000 <= year <= local_today().year:
        abort(404)
    return year


def _property_page(community: Area, year: int, *, status: int = 200, error: str | None = None, posted=None):
    return render(
        "estates/property.html",
        community=community,
        year=year,
        rows=red_property.companies_of(community, year),
        criteria=CRITERIA,
        error=error,
        posted=posted or {},
        status=status,
    )


@bp.route("/communities/<int:community_id>/property")
@login_required
def property_ratings(community_id: int):
    return _property_page(get_or_404(Area, community_id, "community.manage"), _year())


@bp.route("/communities/<int:community_id>/property", methods=["POST"])
@login_required
def rate_property(community_id: int):
    community = get_or_404(Area, community_id, "community.manage")
    year = _year()
    form = request.form
    with refused() as refusal:
        red_property.rate_company(
            community,
            form.get("company_id"),
            year,
            form.get("estate_id"),
            {name: form.get(name) for name in CRITERIA},
            form.get("comment", ""),
            actor_id=current_user.id,
        )
        db.session.commit()
    if refusal:
        return _property_page(community, year, status=422, error=refusal.message, posted=dict(form))
    flash(_("Rating saved."), "success")
    return see_other(url_for("estates.property_ratings", community_id=community.id, year=year))


@bp.route("/property/districts/<int:district_id>")
@login_required
def property_list(district_id: int):
    district = get_or_404(Area, district_id, "property.list")
    year = _year()
    return render(
        "estates/property_list.html",
        district=district,
        year=year,
        rows=red_property.district_list(district, year),
        criteria=CRITERIA,
        tiers=red_property.TIERS,
        printing=request.args.get("format") == "print",
        generated_at=utcnow(),
    )
