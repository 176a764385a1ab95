"""The pages of the agency's party organization (机关党委) and of the work committee (机关工委): the agencies in
their scope, and for each agency its branches with their year's figures, linked to the branch's own pages
(report-ins, tally, reports and evaluations), which admit them read-only, and the communities' feedback letters
to the agency."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from kmvolunteer.agencyorg import home as _home  # noqa: F401  (registers the home-page section)
from kmvolunteer.agencyorg import services
from kmvolunteer.auth.policy import can, get_or_404, results_scope
from kmvolunteer.core.htmx import render
from kmvolunteer.letters.services import letters_to
from kmvolunteer.org.models import Agency
from kmvolunteer.tallies.services import branch_shortfalls
from kmvolunteer.tallies.tables import branch_short_columns, group_columns
from kmvolunteer.tallies.views import requested_year, tally_cell, year_choices

bp = Blueprint("agencyorg", __name__, url_prefix="/agency-party")


@bp.app_template_filter("percent")
def percent(value: float | None) -> str:
    """A rate out of 100 as the tallies show it (81.2%), or — when there is nobody to count."""
    return "—" if value is None else f"{tally_cell(value, '0.0')}%"


@bp.route("/")
@login_required
def index():
    if not can(current_user, "results.menu"):
        abort(404)
    year = requested_year()
    agencies, areas = results_scope(current_user)
    if len(agencies) == 1 and not areas:  # one agency's own party organization: straight to its page
        chosen = {"year": year} if "year" in request.args else {}
        return redirect(url_for("agencyorg.agency", agency_id=agencies[0].id, **chosen))
    return render(
        "agencyorg/index.html",
        year=year,
        years=year_choices(year),
        areas=areas,
        rows=services.agencies_overview(year, agencies, areas),
        columns=group_columns(_l("Agency")),
    )


@bp.route("/agencies/<int:agency_id>")
@login_required
def agency(agency_id: int):
    employer = get_or_404(Agency, agency_id, "results.agency")
    year = requested_year()
    rows, total = services.agency_branches(year, employer)
    return render(
        "agencyorg/agency.html",
        agency=employer,
        year=year,
        years=year_choices(year),
        rows=rows,
        total=total,
        columns=group_columns(_l("Branch")),
        short=branch_shortfalls(year, agency=employer),
        short_columns=branch_short_columns(),
        letters=letters_to(employer),
    )
