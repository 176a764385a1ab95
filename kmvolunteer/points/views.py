"""积分与星级 pages: a member's points (我的积分) with what earned them, a branch's ranking (支部积分排名), an area's
ranking, each printable and downloadable; and the city's points scheme. Every page reads the tallies' facts
through points.services; nothing here counts."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from kmvolunteer.auth.policy import AREA_READERS, can, get_or_404
from kmvolunteer.core import exports
from kmvolunteer.core.exports import Column
from kmvolunteer.core.htmx import page_url, render, see_other
from kmvolunteer.core.refusals import refused
from kmvolunteer.core.time import local_today, to_local, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Branch, Member
from kmvolunteer.points import home as _home  # noqa: F401  (registers the home-page section)
from kmvolunteer.points import services
from kmvolunteer.points.forms import LABELS, SchemeForm, whole_numbers
from kmvolunteer.points.models import RATES, STARS
from kmvolunteer.reports.services import RATING_LABELS
from kmvolunteer.tallies.facts import Scope
from kmvolunteer.tallies.views import Table, requested_year, year_choices
from kmvolunteer.years.models import year_is_closed
from kmvolunteer.years.rules import PERIOD_LABELS

bp = Blueprint("points", __name__, url_prefix="/points")
FILTERS = ("year", "table")
# An area's ranking reads at most this many members (the best); the page shows the first PAGE_ROWS of them.
AREA_LIMIT = 2000
PAGE_ROWS = 500
PART_LABELS = {
    "hours": _l("Approved hours"),
    "activities": _l("Approved activities"),
    "reports": _l("Reports handed in"),
    "rating": _l("Community rating"),
    "whistles": _l("Whistles handled"),
}


@bp.route("/")
@login_required
def index():
    """My points, for a member; else the ranking of the user's own branch or area."""
    chosen = {"year": request.args["year"]} if request.args.get("year", "").isdigit() else {}
    if current_user.is_member:
        return redirect(url_for("points.member", member_id=current_user.member.id, **chosen))
    for grant in current_user.grants:
        if grant.branch is not None and can(current_user, "points.branch", grant.branch):
            return redirect(url_for("points.branch", branch_id=grant.branch_id, **chosen))
        if grant.area is not None and grant.role in {r.value for r in AREA_READERS}:
            return redirect(url_for("points.area", area_id=grant.area_id, **chosen))
    abort(404)


@bp.route("/mine")
@login_required
def summary():
    """This year's points and stars of the member, for their home page (htmx fragment or a page of its own)."""
    if not current_user.is_member:
        abort(404)
    earned = services.member_points(current_user.member, local_today().year)
    return render("points/summary.html", "points/_summary.html", points=earned)


@bp.route("/members/<int:member_id>")
@login_required
def member(member_id: int):
    person = get_or_404(Member, member_id, "points.member")
    year = requested_year()
    scheme = services.scheme_for(year)
    counts = services.member_counts(person, year)
    earned = services.Points(year, scheme, counts)
    past = [services.member_points(person, y) for y in services.member_years(person) if y != year]
    return render(
        "points/member.html",
        member=person,
        year=year,
        years=year_choices(year),
        points=earned,
        history=services.history(person, year, counts),
        past=past,
        part_labels=PART_LABELS,
        rating_labels=RATING_LABELS,
        period_labels=PERIOD_LABELS,
        shown=services.shown,
        half_points=services.half_points,
        own=person.user_id == current_user.id,
    )


def rank_columns(*, wide: bool) -> list[Column]:
    """The ranking's columns (``wide``: with each member's agency and branch, for an area)."""
    ratings = {key: str(label) for key, label in RATING_LABELS.items()}
    columns = [Column(_l("Rank"), lambda r: r.rank, 6, "0"), Column(_l("Name"), lambda r: r.name, 10)]
    if wide:
        columns += [Column(_l("Agency"), lambda r: r.agency, 24), Column(_l("Branch"), lambda r: r.branch, 18)]
    return columns + [
        Column(_l("Reported in to"), lambda r: r.community or "—", 16),
        Column(_l("Approved hours"), lambda r: r.hours, 9, "0.0"),
        Column(_l("Activities"), lambda r: r.entries, 8, "0"),
        Column(_l("Reports submitted"), lambda r: r.reports, 8, "0"),
        Column(_l("Community rating"), lambda r: ratings[r.rating] if r.rating else "—", 10),
        Column(_l("Whistles handled"), lambda r: r.whistles, 8, "0"),
        Column(_l("Points"), lambda r: r.points, 9, "0.0"),
        Column(_l("Stars"), lambda r: r.stars, 6, "0"),
    ]


def _ranking(*, scope_title: str, scope_key: str, year: int, table: Table, note: str, back: str | None, **extra):
    """The page, its print view and the two downloads, from the one Table."""
    fmt = request.args.get("format", "html")
    if request.args.get("table", table.key) != table.key:
        abort(404)
    if fmt in ("csv", "xlsx"):
        stem = _("Points %(year)d %(scope)s", year=year, scope=scope_title)
        return exports.export_response(fmt, stem, table.columns, table.items(), title=table.title)
    context = dict(
        scope_title=scope_title,
        year=year,
        years=year_choices(year),
        table=table,
        scheme=services.scheme_for(year),
        note=note,
        back=back,
        filters=FILTERS,
        closed=year_is_closed(year),
        page_rows=PAGE_ROWS,
        **extra,
    )
    if fmt == "print":
        context["back"] = page_url(FILTERS, format=None, table=None)
        return render(
            "tallies/print.html",
            sheet_title=_("%(year)d points ranking", year=year),
            serial=f"P{year}-{scope_key}-{to_local(utcnow()):%Y%m%d%H%M}",
            generated_at=utcnow(),
            **context,
        )
    if fmt != "html":
        abort(404)
    return render("points/ranking.html", **context)


@bp.route("/branches/<int:branch_id>")
@login_required
def branch(branch_id: int):
    party_branch = get_or_404(Branch, branch_id, "points.branch")
    year = requested_year()
    rows = services.ranking(year, Scope("branch", id=party_branch.id))

    def link(row: services.RankRow) -> str:
        return url_for("points.member", member_id=row.member_id, year=year)

    table = Table("ranking", str(_l("Branch points ranking")), rank_columns(wide=False), lambda: rows, None, link)
    return _ranking(
        scope_title=party_branch.full_name(),
        scope_key=f"B{party_branch.id}",
        year=year,
        table=table,
        note=_("Every member of the branch on the roster."),
        back=url_for("org.branch", branch_id=party_branch.id),
        branch=party_branch,
    )


@bp.route("/areas/<int:area_id>")
@login_required
def area(area_id: int):
    place = get_or_404(Area, area_id, "points.area")
    year = requested_year()
    if place.level in ("city", "district") and can(current_user, "tally.employer", place):
        scope, note = Scope("employer_area", place.path), _("Members of the agencies administered here.")
    else:
        scope, note = Scope("service_area", place.path), _("Members reported in to the communities here.")
    rows = services.ranking(year, scope, limit=AREA_LIMIT)
    if len(rows) == AREA_LIMIT:
        note += " " + _("Only the first %(n)d members by points are listed.", n=AREA_LIMIT)
    table = Table("ranking", str(_l("Points ranking")), rank_columns(wide=True), lambda: rows)
    return _ranking(
        scope_title=place.full_name() or place.name,
        scope_key=f"A{place.id}",
        year=year,
        table=table,
        note=note,
        back=url_for("org.area", area_id=place.id) if can(current_user, "area.view", place) else None,
        area=place,
    )


# ---------------------------------------------------------------- the scheme


@bp.route("/scheme")
@login_required
def scheme_index():
    if not can(current_user, "points.scheme"):
        abort(404)
    return redirect(url_for("points.scheme", year=local_today().year))


@bp.route("/scheme/<int:year>", methods=["GET", "POST"])
@login_required
def scheme(year: int):
    """积分方案: the city's organization department sets the points of each kind of work and the stars."""
    if not can(current_user, "points.scheme"):
        abort(404)
    if not 2000 <= year <= local_today().year + 1:
        abort(404)
    current = services.scheme_for(year)
    if request.method == "POST":
        form = SchemeForm()
        if form.validate_on_submit():
            with refused(form):
                services.set_scheme(year, whole_numbers(form), current_user)
                db.session.commit()
                flash(_("The points scheme of %(year)d was saved.", year=year), "success")
                return see_other(url_for("points.scheme", year=year))
        status = 422
    else:
        form = SchemeForm(formdata=None, data={name: str(current.values[name]) for name in RATES + STARS})
        status = 200
    return render(
        "points/scheme.html",
        status=status,
        form=form,
        year=year,
        scheme=current,
        closed=year_is_closed(year),
        rates=RATES,
        stars=STARS,
        labels=LABELS,
        years=sorted({local_today().year + 1, local_today().year, local_today().year - 1, year}, reverse=True),
    )
