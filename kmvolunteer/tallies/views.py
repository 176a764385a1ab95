"""Tally pages: every level on screen, as an A4 print view, as XLSX and as CSV.

Each view builds one Table (columns + row iterator); the page, the print view and the
two exports all render that same Table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from itertools import islice
from typing import Any

import click
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from kmvolunteer.auth.policy import can, get_or_404, manages_branch_at
from kmvolunteer.core import exports
from kmvolunteer.core.charts import Point, bar_chart, for_any_screen, line_chart
from kmvolunteer.core.htmx import page_url, render, see_other
from kmvolunteer.core.refusals import refused
from kmvolunteer.core.time import local_today, to_local, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area, Branch
from kmvolunteer.tallies import rollup, services, years
from kmvolunteer.tallies.facts import has_rule, year_is_closed
from kmvolunteer.tallies.models import KeptYear
from kmvolunteer.tallies.tables import (
    branch_short_columns,
    group_columns,
    member_columns,
    total_label,
    whistle_columns,
)
from kmvolunteer.tallies.whistles import Figures, whistle_stats
from kmvolunteer.years.models import Year

bp = Blueprint("tallies", __name__, url_prefix="/tallies")
PAGE_MEMBER_LIMIT = 500
FILTERS = ("year", "table", "compliance")  # the query arguments a tally page's links keep
# A printed member list longer than this (some 60 A4 pages) is offered as Excel first.
PRINT_MEMBER_LIMIT = 2000


@bp.app_template_filter("tally_cell")
def tally_cell(value: Any, number_format: str | None) -> Any:
    """A table cell as the page shows it: rates as percentages, hours without trailing zeros."""
    if value is None:
        return "—"
    if number_format == "0.0%":
        return f"{value * 100:.1f}%"
    if number_format == "0.0":
        return f"{value:.1f}".removesuffix(".0")
    return value


@dataclass
class Table:
    key: str
    title: str
    columns: list[exports.Column]
    items: Callable[[], Iterable[Any]]
    total: services.GroupRow | None = None
    link: Callable[[Any], str | None] = lambda item: None
    inline: bool = True  # False: too long for a page, offered as downloads only

    def shown_rows(self, limit: int | None = None) -> Iterator[ShownRow]:
        """The rows as the page and the print view show them, formatted here rather than cell by
        cell in the template (a community's page has thousands of cells)."""
        for count, item in enumerate(self.items()):
            if limit and count >= limit:
                return
            cells = [
                (tally_cell(column.value(item), column.number_format), bool(column.number_format))
                for column in self.columns
            ]
            short = getattr(item, "compliant", None) is False
            group = f"{item.agency} · {item.branch}" if isinstance(item, services.MemberRow) else None
            yield ShownRow(self.link(item), cells, short, group)


@dataclass
class ShownRow:
    link: str | None
    cells: list[tuple[Any, bool]]  # (text, is a number)
    short: bool  # falls short of the year's rule
    group: str | None  # the agency and branch, for lists grouped by branch


def requested_year() -> int:
    """?year= (this year by default); a year still to come has no tally and is not found."""
    raw = request.args.get("year", "")
    this_year = local_today().year
    if not raw.isdigit():
        return this_year
    if len(raw) > 4 or int(raw) > this_year:  # (a string of digits too long to be a year is not one either)
        abort(404)
    return int(raw) if int(raw) >= 2000 else this_year


def year_choices(year: int) -> list[int]:
    """This year and last, years closed or kept, and the one asked for — not years with nothing in them,
    which would be counted from the records at some length only to show zeros."""
    known = set(db.session.scalars(db.select(Year.year))) | set(db.session.scalars(db.select(KeptYear.year)))
    this_year = local_today().year
    return sorted(known | {this_year, this_year - 1, year}, reverse=True)


def _area_link(year: int):
    def link(row: services.GroupRow) -> str | None:
        if row.kind == "area":
            return url_for("tallies.area", area_id=row.key, year=year)
        if row.kind == "agency":
            return url_for("tallies.agency", agency_id=row.key, year=year)
        if row.kind == "branch":
            return url_for("tallies.branch", branch_id=row.key, year=year)
        return None

    return link


def _member_link(row: services.MemberRow) -> str | None:
    """A member's page, for those who may open it: a district sees members of city agencies serving
    in its communities, but their records belong to the city."""
    if not manages_branch_at(current_user, row.branch_id, row.agency_area_path):
        return None
    return url_for("org.member", member_id=row.member_id)


def _compliance_filter(items: Iterable[services.MemberRow]) -> Iterable[services.MemberRow]:
    wanted = request.args.get("compliance", "")
    for item in items:
        if wanted == "met" and item.compliant is not True:
            continue
        if wanted == "short" and item.compliant is not False:
            continue
        yield item


def _area_tables(area: Area, year: int) -> list[Table]:
    tables = []
    link = _area_link(year)
    if area.level in ("city", "district") and can(current_user, "tally.employer", area):
        rows, total = services.employer_rows(year, area)
        tables.append(
            Table(
                "employer",
                str(_l("By employer")),
                group_columns(_l("District or agency")),
                lambda rows=rows: rows,
                total_label(total),
                link,
            )
        )
        tables.append(
            Table(
                "members",
                str(_l("Every member")),
                member_columns(),
                lambda: _compliance_filter(services.member_rows(year, employer_area=area)),
                None,
                _member_link,
                inline=False,
            )
        )
    if area.level == "community":
        tables.append(
            Table(
                "members",
                str(_l("Members serving here")),
                member_columns(),
                lambda: _compliance_filter(services.member_rows(year, service_area=area)),
                None,
                _member_link,
            )
        )
    else:
        rows, total = services.service_rows(year, area)
        tables.append(
            Table(
                "service",
                str(_l("By place of service")),
                group_columns(_l("Area"), report_in=False),
                lambda rows=rows: rows,
                total_label(total),
                link,
            )
        )
    return tables


def _charts(area: Area, year: int, tables: list[Table]) -> dict[str, Any]:
    service = next((t for t in tables if t.key == "service"), None)
    charts: dict[str, Any] = {}
    if service is not None:
        points = [Point(r.name, r.compliance_rate or 0) for r in service.items()]
        charts["compliance"] = for_any_screen(bar_chart, points, title=_("Compliance rate by area"), maximum=100)
    months = services.monthly_half_hours(year, area)
    today = local_today()
    if year == today.year:  # months still to come are not zero hours
        months = months[: today.month]
    charts["hours"] = for_any_screen(
        line_chart,
        [Point(f"{m}", hh / 2) for m, hh in enumerate(months, start=1)],
        title=_("Approved hours by month"),
        unit="h",
    )
    return charts


def _respond(
    *,
    scope_title: str,
    year: int,
    tables: list[Table],
    crumbs: list[tuple[str, str | None]],
    scope_key: str,
    charts: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
):
    fmt = request.args.get("format", "html")
    chosen = request.args.get("table") or tables[0].key
    table = next((t for t in tables if t.key == chosen), None)
    if fmt in ("xlsx", "csv", "print") and table is None:
        abort(404)
    if fmt in ("csv", "xlsx"):
        stem = _("Tally %(year)d %(scope)s %(table)s", year=year, scope=scope_title, table=table.title)
        return _download(fmt, table, stem)
    closed = db.session.get(Year, year)
    serial = (
        f"{closed.serial}-{scope_key}"
        if closed and closed.status == "closed"
        else f"{year}-{scope_key}-{to_local(utcnow()):%Y%m%d%H%M}"
    )
    context = dict(
        scope_title=scope_title,
        year=year,
        tables=tables,
        crumbs=crumbs,
        charts=charts or {},
        years=year_choices(year),
        closed=year_is_closed(year),
        has_rule=has_rule(year),
        serial=serial,
        generated_at=utcnow(),
        member_limit=PAGE_MEMBER_LIMIT,
        compliance=request.args.get("compliance", ""),
        filters=FILTERS,
        **(extra or {}),
    )
    if fmt == "print":
        back = _with_args()
        if table.key in ("members", "shortfall") and request.args.get("all") != "1":
            first = list(islice(table.items(), PRINT_MEMBER_LIMIT + 1))
            if len(first) > PRINT_MEMBER_LIMIT:
                return render(
                    "tallies/print_long.html",
                    table=table,
                    back=back,
                    limit=PRINT_MEMBER_LIMIT,
                    xlsx=_with_args(format="xlsx"),
                    print_all=_with_args(format="print", all="1"),
                    **context,
                )
            table = replace(table, items=lambda: first)  # the rows just read, not read again
        return render("tallies/print.html", table=table, back=back, **context)
    return render("tallies/page.html", "tallies/_body.html", **context)


def _download(fmt: str, table: Table, stem: str):
    def all_items():
        yield from table.items()
        if table.total:
            yield table.total

    return exports.export_response(fmt, stem, table.columns, all_items(), title=table.title)


def _with_args(**changes: str | None) -> str:
    """This page's URL with its filters and some query arguments changed (None: left out)."""
    return page_url(FILTERS, **changes)


def _crumbs(area: Area, year: int) -> list[tuple[str, str | None]]:
    return _trail(area, "tallies.area", "tally.area", year=year)


def _trail(area: Area, endpoint: str, action: str, **args: Any) -> list[tuple[str, str | None]]:
    """The areas above and this one, each linked to its ``endpoint`` page for those it is ``action`` to."""
    trail = []
    for node in area.ancestors() + [area]:
        href = url_for(endpoint, area_id=node.id, **args) if can(current_user, action, node) else None
        trail.append((node.name, href))
    return trail


@bp.route("/")
@login_required
def index():
    """The tally of the user's own place, for the year asked for (a link to last year's stays last year's)."""
    year = requested_year()
    chosen = {"year": year} if "year" in request.args else {}
    for grant in current_user.grants:
        if grant.area is not None and can(current_user, "tally.area", grant.area):
            return redirect(url_for("tallies.area", area_id=grant.area_id, **chosen))
        if grant.branch is not None:
            return redirect(url_for("tallies.branch", branch_id=grant.branch_id, **chosen))
    abort(404)


@bp.route("/areas/<int:area_id>")
@login_required
def area(area_id: int):
    place = get_or_404(Area, area_id, "tally.area")
    year = requested_year()
    tables = _area_tables(place, year)
    charts = _charts(place, year, tables) if request.args.get("format", "html") == "html" else None
    return _respond(
        scope_title=place.full_name() or place.name,
        year=year,
        tables=tables,
        crumbs=_crumbs(place, year),
        scope_key=f"A{place.id}",
        charts=charts,
        extra={"area": place},
    )


@bp.route("/areas/<int:area_id>/shortfall")
@login_required
def shortfall(area_id: int):
    place = get_or_404(Area, area_id, "tally.area")
    year = requested_year()
    by_employer = can(current_user, "tally.employer", place) and place.level in ("city", "district")
    if by_employer:
        items = lambda: services.member_rows(year, employer_area=place, shortfall_only=True)  # noqa: E731
    else:
        items = lambda: services.member_rows(year, service_area=place, shortfall_only=True)  # noqa: E731
    tables = [
        Table(
            "shortfall", str(_l("Members who fall short")), member_columns(consequences=True), items, None, _member_link
        )
    ]
    if by_employer:
        branches = lambda: services.branch_shortfalls(year, place)  # noqa: E731
        title = str(_l("Branches that fall short"))
        tables.append(Table("branches", title, branch_short_columns(), branches))
    return _respond(
        scope_title=place.full_name() or place.name,
        year=year,
        tables=tables,
        crumbs=_crumbs(place, year),
        scope_key=f"S{place.id}",
        extra={"area": place, "grouped": True},
    )


@bp.route("/agencies/<int:agency_id>")
@login_required
def agency(agency_id: int):
    employer = get_or_404(Agency, agency_id, "tally.agency")
    year = requested_year()
    rows, total = services.agency_rows(year, employer)
    tables = [
        Table(
            "branches",
            str(_l("Branches")),
            group_columns(_l("Branch")),
            lambda: rows,
            total_label(total),
            _area_link(year),
        ),
        Table(
            "members",
            str(_l("Member list")),
            member_columns(consequences=True),
            lambda: _compliance_filter(services.member_rows(year, agency=employer)),
            None,
            _member_link,
        ),
    ]
    return _respond(
        scope_title=employer.name,
        year=year,
        tables=tables,
        crumbs=_crumbs(employer.area, year) + [(employer.name, None)],
        scope_key=f"G{employer.id}",
    )


@bp.route("/branches/<int:branch_id>")
@login_required
def branch(branch_id: int):
    party_branch = get_or_404(Branch, branch_id, "tally.branch")
    year = requested_year()
    total = services.branch_total(year, party_branch)
    tables = [
        Table(
            "members",
            str(_l("Member list")),
            member_columns(consequences=True),
            lambda: _compliance_filter(services.member_rows(year, branch=party_branch)),
            None,
            _member_link,
        )
    ]
    crumbs = []
    if can(current_user, "tally.agency", party_branch.agency):
        crumbs = _crumbs(party_branch.agency.area, year) + [
            (party_branch.agency.name, url_for("tallies.agency", agency_id=party_branch.agency_id, year=year))
        ]
    return _respond(
        scope_title=party_branch.full_name(),
        year=year,
        tables=tables,
        crumbs=crumbs + [(party_branch.name, None)],
        scope_key=f"B{party_branch.id}",
        extra={"branch_total": total},
    )


# ---- 吹哨报到 statistics (tallies/whistles.py) --------------------------------------------------

STATS_FILTERS = ("from", "to", "table")


def _stats_period() -> tuple[date, date] | None:
    """?from= and ?to= (local days; this year so far by default); None when either is not a day or they
    are the wrong way round."""
    today = local_today()
    days = []
    for name, default in (("from", date(today.year, 1, 1)), ("to", today)):
        raw = request.args.get(name, "").strip()
        try:
            day = date.fromisoformat(raw) if raw else default
        except ValueError:
            return None
        if not 2000 <= day.year <= today.year + 1:
            return None
        days.append(day)
    return (days[0], days[1]) if days[0] <= days[1] else None


@bp.route("/whistles")
@login_required
def whistle_index():
    """The statistics of the user's own area."""
    for grant in current_user.grants:
        if grant.area is not None and can(current_user, "whistle.stats", grant.area):
            chosen = {name: request.args[name] for name in ("from", "to") if request.args.get(name)}
            return redirect(url_for("tallies.whistles", area_id=grant.area_id, **chosen))
    abort(404)


@bp.route("/whistles/areas/<int:area_id>")
@login_required
def whistles(area_id: int):
    place = get_or_404(Area, area_id, "whistle.stats")
    context: dict[str, Any] = dict(
        area=place,
        scope_title=place.full_name() or place.name,
        crumbs=_trail(place, "tallies.whistles", "whistle.stats"),
        filters=STATS_FILTERS,
    )
    chosen = _stats_period()
    if chosen is None:
        error = _("Choose two days, the first not after the second.")
        return render("tallies/whistles.html", "tallies/_whistles_body.html", status=400, error=error, **context)
    start, end = chosen
    stats = whistle_stats(place, start, end, utcnow())

    def link(row: Figures) -> str | None:
        if row.kind != "area" or row.key == place.id:
            return None
        return url_for("tallies.whistles", area_id=row.key, **{"from": start.isoformat(), "to": end.isoformat()})

    tables = [
        Table("areas", str(_l("By area")), whistle_columns(_l("Area")), lambda: stats.areas, stats.total, link),
        Table("tiers", str(_l("By tier")), whistle_columns(_l("Tier")), lambda: stats.tiers, stats.total),
        Table(
            "departments",
            str(_l("Ranking of departments")),
            whistle_columns(_l("Department"), departments=True),
            lambda: stats.departments,
            stats.total,
        ),
    ]
    if place.level == "community":  # one area, one tier: the ranking says it all
        tables = tables[2:]
    span = _("%(start)s to %(end)s", start=start.isoformat(), end=end.isoformat())
    fmt = request.args.get("format", "html")
    if fmt in ("csv", "xlsx", "print"):
        table = next((t for t in tables if t.key == request.args.get("table", tables[0].key)), None)
        if table is None:
            abort(404)
        if fmt == "print":
            now = to_local(utcnow())
            return render(
                "tallies/print.html",
                table=table,
                back=page_url(STATS_FILTERS, format=None, table=None),
                sheet_title=_("Whistle statistics of %(scope)s", scope=context["scope_title"]),
                period=span,
                serial=f"W{place.id}-{start:%Y%m%d}-{end:%Y%m%d}-{now:%Y%m%d%H%M}",
                generated_at=utcnow(),
                **context,
            )
        stem = _("Whistles %(span)s %(scope)s %(table)s", span=span, scope=context["scope_title"], table=table.title)
        return _download(fmt, table, stem)
    chart = None
    if len(stats.areas) > 1:
        points = [Point(r.name, (r.handled_rate or 0) * 100) for r in stats.areas]
        chart = for_any_screen(bar_chart, points, title=_("Handled on time by area"), maximum=100)
    return render(
        "tallies/whistles.html",
        "tallies/_whistles_body.html",
        tables=tables,
        total=stats.total,
        start=start,
        end=end,
        chart=chart,
        **context,
    )


# ---- closing a year ------------------------------------------------------------------------


@bp.route("/years", methods=["GET"])
@login_required
def year_list():
    if not can(current_user, "year.manage"):
        abort(404)
    return _years_page(requested_year())


@bp.route("/years/<int:year>/close", methods=["POST"])
@login_required
def close(year: int):
    if not can(current_user, "year.manage"):
        abort(404)
    with refused() as refusal:
        years.close_year(year, actor=current_user)
        db.session.commit()
        flash(_("Year %(year)d is closed and its tallies are frozen.", year=year), "success")
        return see_other(url_for("tallies.year_list", year=year))
    return _years_page(year, refusal.message)


@bp.route("/years/<int:year>/reopen", methods=["POST"])
@login_required
def reopen(year: int):
    if not can(current_user, "year.manage"):
        abort(404)
    with refused() as refusal:
        years.reopen_year(year, reason=request.form.get("reason", ""), actor=current_user)
        db.session.commit()
        flash(_("Year %(year)d is open again.", year=year), "success")
        return see_other(url_for("tallies.year_list", year=year))
    return _years_page(year, refusal.message)


def _years_page(year: int, error: str | None = None):
    rows = {y.year: y for y in db.session.scalars(db.select(Year))}
    listed = [rows.get(y) or Year(year=y, status="open") for y in year_choices(local_today().year)]
    return render(
        "tallies/years.html",
        years=listed,
        pending=years.pending_records(year, limit=50),
        pending_total=years.pending_count(year),
        chosen=year,
        error=error,
        status=422 if error else 200,
    )


# ---------------------------------------------------------------- operations


@bp.cli.command("refresh")
@click.option(
    "--year",
    "chosen",
    type=int,
    multiple=True,
    help="Year to recompute (repeatable); by default this year and every open year in use.",
)
def refresh_command(chosen: tuple[int, ...]) -> None:
    """Recompute the kept member facts and tally cells from the records (after an upgrade, or to repair)."""
    for year in chosen or rollup.years_in_use():
        if year_is_closed(year):
            click.echo(f"{year}: closed, read from its snapshot; skipped.")
            continue
        started = time.monotonic()
        rollup.refresh_year(year)
        db.session.commit()
        click.echo(f"{year}: kept tallies recomputed in {time.monotonic() - started:.1f} s.")


@bp.cli.command("check")
def check_command() -> None:
    """Compare the kept member facts and tally cells of every open kept year with a recount."""
    wrong = False
    for year in rollup.open_kept_years():
        found = rollup.differences(year)
        click.echo(f"{year}: {found['facts']} member facts and {found['cells']} cells differ.")
        wrong = wrong or any(found.values())
    if wrong:
        raise SystemExit(1)
