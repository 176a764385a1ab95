"""双报告 pages: member and branch reports, acknowledgements, evaluations, feedback sheets,
the branch secretary's year view (print, XLSX), year rules and overdue lists."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from decimal import Decimal

from flask import Blueprint, Response, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from kmvolunteer.auth.models import Role
from kmvolunteer.auth.policy import About, can, get_or_404, org_areas, scoped
from kmvolunteer.core import exports
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.htmx import render, see_other, trigger, wants_fragment
from kmvolunteer.core.refusals import refused
from kmvolunteer.core.text import format_hours
from kmvolunteer.core.time import local_today, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Branch, Member
from kmvolunteer.reports import home as _home  # noqa: F401 - registers the home page sections
from kmvolunteer.reports import services, units
from kmvolunteer.reports.forms import (
    AckForm,
    BulkRateForm,
    GenerateForm,
    ReportForm,
    RuleForm,
    SheetForm,
    YearForm,
)
from kmvolunteer.reports.models import FeedbackSheet, Report
from kmvolunteer.reports.services import RATING_LABELS, STATUS_LABELS
from kmvolunteer.years import rules as rulebook
from kmvolunteer.years.models import YearRule, year_is_closed

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.app_template_filter("report_hours")
def _report_hours(half_hours: int | None) -> str:
    return format_hours(half_hours)


@bp.app_context_processor
def _labels() -> dict:
    return {
        "rating_labels": RATING_LABELS,
        "unit_rating_labels": units.UNIT_RATING_LABELS,
        "consequence_labels": rulebook.consequence_labels,
        "report_status_labels": STATUS_LABELS,
        "period_labels": rulebook.PERIOD_LABELS,
        "frequency_labels": rulebook.FREQUENCY_LABELS,
        "report_period_labels": rulebook.REPORT_PERIOD_LABELS,
        "this_year": local_today().year,
    }


def _year_arg(*, future: bool = False) -> int:
    """The ?year= of a year-navigated page (this year by default). Only the rules are set ahead; on
    every other page a year still to come has nothing in it, so it is not found."""
    form = YearForm(request.args)
    if form.year.data is not None and form.validate():
        _check_year(form.year.data, future=future)
        return form.year.data
    return local_today().year


def _check_year(year: int, *, future: bool = True) -> None:
    if not rulebook.YEAR_MIN <= year <= rulebook.YEAR_MAX or (not future and year > local_today().year):
        abort(404)


def _secretary_communities() -> list[Area]:
    return [g.area for g in current_user.grants_for(Role.community_secretary) if g.area]


def _branches() -> list[Branch]:
    return [g.branch for g in current_user.grants_for(Role.branch_secretary) if g.branch]


# ---------------------------------------------------------------- hub


@bp.route("/")
@login_required
def hub():
    if not can(current_user, "reports.hub"):
        abort(404)
    today = local_today()
    readers = [
        g.area
        for g in current_user.grants
        if g.area and g.role in (Role.org_department.value, Role.subdistrict_officer.value)
    ]
    return render(
        "reports/hub.html",
        today=today,
        communities=_secretary_communities(),
        branches=_branches(),
        readers=readers,
        member=current_user.member if current_user.is_member else None,
        awaiting_branch={b.id: services.awaiting_ack_count(branch_ids=[b.id]) for b in _branches()},
        awaiting_community={c.id: services.awaiting_ack_count(community_ids=[c.id]) for c in _secretary_communities()},
    )


# ---------------------------------------------------------------- member reports


def _me() -> Member:
    member = current_user.member if current_user.is_member else None
    if member is None or not can(current_user, "report.write", member):
        abort(404)
    return member


@bp.route("/mine")
@login_required
def mine():
    member = _me()
    year = _year_arg()
    rule, periods = services.member_periods(member, year)
    return render(
        "reports/mine.html",
        member=member,
        year=year,
        rule=rule,
        periods=periods,
        community=services.current_community(member),
        overdue=services.member_overdue(member),
        standing=next(services.year_rows(member.branch, year, only=member)),
        headers=services.year_headers(),
    )


@bp.route("/mine/<int:year>/<period>", methods=["GET", "POST"])
@login_required
def write(year: int, period: str):
    member = _me()
    _check_year(year)
    if period not in rulebook.PERIOD_LABELS:
        abort(404)
    report = db.session.scalar(
        select(Report).where(
            Report.kind == "member", Report.member_id == member.id, Report.year == year, Report.period == period
        )
    )
    if report is not None and report.status != "draft" and request.method == "GET":
        return see_other(url_for("reports.show", report_id=report.id))
    form = ReportForm(obj=report) if request.method == "GET" else ReportForm()
    if form.validate_on_submit():
        submit = form.action.data == "submit"
        with refused(form):
            if submit:
                report = services.submit_member_report(
                    member, year, period, form.body.data or "", actor_id=current_user.id
                )
            else:
                report = services.save_member_draft(
                    member, year, period, form.body.data or "", actor_id=current_user.id
                )
            db.session.commit()
            if submit:
                flash(
                    _("Report submitted. Your branch secretary and your community's secretary will acknowledge it."),
                    "success",
                )
                return see_other(url_for("reports.show", report_id=report.id), "reports-changed")
            flash(_("Draft saved."), "success")
            return see_other(url_for("reports.write", year=year, period=period))
    community = services.current_community(member)
    preview = services.live_summary(member, community, year, period) if community else None
    status = 422 if request.method == "POST" else 200
    return render(
        "reports/write.html",
        form=form,
        status=status,
        kind="member",
        year=year,
        period=period,
        member=member,
        community=community,
        preview=preview,
        report=report,
        action_url=url_for("reports.write", year=year, period=period),
        started=rulebook.period_bounds(year, period)[0] <= local_today(),
    )


@bp.route("/<int:report_id>")
@login_required
def show(report_id: int):
    report = get_or_404(Report, report_id, "report.view")
    return render("reports/show.html", report=report, form=AckForm())


@bp.route("/<int:report_id>/acknowledge/<side>", methods=["POST"])
@login_required
def acknowledge(report_id: int, side: str):
    if side not in ("branch", "community"):
        abort(404)
    report = get_or_404(Report, report_id, "report.view")
    if not can(current_user, f"report.ack_{side}", report):
        abort(404)
    form = AckForm()
    if form.validate_on_submit():
        with refused(form):
            services.acknowledge(report, side, form.comment.data or "", actor_id=current_user.id)
            db.session.commit()
            if wants_fragment():
                return trigger(
                    render(
                        "reports/show.html",
                        "reports/_acks.html",
                        report=report,
                        form=AckForm(),
                        notice=_("Acknowledged."),
                    ),
                    "reports-changed",
                )
            flash(_("Acknowledged."), "success")
            return see_other(url_for("reports.show", report_id=report.id), "reports-changed")
    form.comment.id = f"comment-{side}"  # the summary's link goes to this side's comment box
    return render("reports/show.html", "reports/_acks.html", status=422, report=report, form=form)


@bp.route("/inbox")
@login_required
def inbox():
    if not (_branches() or _secretary_communities() or can(current_user, "rule.list")):
        abort(404)
    form = YearForm(request.args)
    year = form.year.data if form.year.data is not None and form.validate() else None  # None: every year
    waiting = request.args.get("waiting") == "1"
    stmt = scoped(select(Report), current_user, "report.list").where(Report.status != "draft")
    if year is not None:
        stmt = stmt.where(Report.year == year)
    if waiting:
        stmt = stmt.where(Report.status == "submitted")
    stmt = stmt.order_by(Report.status.desc(), Report.submitted_at.desc(), Report.id.desc())
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render("reports/inbox.html", page=page, year=year, waiting=waiting)


# ---------------------------------------------------------------- branch reports


@bp.route("/branches/<int:branch_id>/reports")
@login_required
def branch_reports(branch_id: int):
    branch = get_or_404(Branch, branch_id, "branch.year_view")
    year = _year_arg()
    return render(
        "reports/branch_reports.html", branch=branch, year=year, rows=services.branch_report_rows(branch, year)
    )


@bp.route("/branches/<int:branch_id>/reports/<int:community_id>/<int:year>", methods=["GET", "POST"])
@login_required
def write_branch(branch_id: int, community_id: int, year: int):
    branch = get_or_404(Branch, branch_id, "branch_report.write")
    _check_year(year)
    community = db.session.get(Area, community_id)
    if community is None or community.id not in {c.id for c in services.co_built_communities(branch)}:
        abort(404)
    report = db.session.scalar(
        select(Report).where(
            Report.kind == "branch",
            Report.branch_id == branch.id,
            Report.community_id == community.id,
            Report.year == year,
        )
    )
    if report is not None and report.status != "draft" and request.method == "GET":
        return see_other(url_for("reports.show", report_id=report.id))
    form = ReportForm(obj=report) if request.method == "GET" else ReportForm()
    if form.validate_on_submit():
        submit = form.action.data == "submit"
        with refused(form):
            call = services.submit_branch_report if submit else services.save_branch_draft
            report = call(branch, community, year, form.body.data or "", actor_id=current_user.id)
            db.session.commit()
            if submit:
                flash(_("Branch report submitted to %(community)s.", community=community.name), "success")
                return see_other(url_for("reports.show", report_id=report.id), "reports-changed")
            flash(_("Draft saved."), "success")
            return see_other(url_for("reports.write_branch", branch_id=branch.id, community_id=community.id, year=year))
    status = 422 if request.method == "POST" else 200
    return render(
        "reports/write.html",
        form=form,
        status=status,
        kind="branch",
        year=year,
        period="Y",
        branch=branch,
        community=community,
        report=report,
        preview=services.branch_figures(branch, community, year),
        started=year <= local_today().year,
        action_url=url_for("reports.write_branch", branch_id=branch.id, community_id=community.id, year=year),
    )


# ---------------------------------------------------------------- evaluations


def _community_for(community_id: int, action: str) -> Area:
    community = get_or_404(Area, community_id, "area.view")
    if not can(current_user, action, community):
        abort(404)
    return community


def _may_rate(community: Area):
    """For the rows: may the current user rate this member (nobody rates themselves)?"""
    return lambda member: can(current_user, "evaluation.rate", About(community, member=member))


def _evaluation_page(
    community: Area,
    year: int,
    *,
    status: int = 200,
    posted: dict | None = None,
    errors: dict | None = None,
    error: str | None = None,
) -> Response:
    rows = services.evaluation_rows(community, year)
    rule = services.community_rule(community, year)
    return render(
        "reports/evaluations.html",
        community=community,
        year=year,
        rows=rows,
        rule=rule,
        posted=posted or {},
        errors=errors or {},
        error=error,
        status=status,
        unrated=sum(1 for r in rows if r.evaluation is None),
        unpublished=sum(1 for r in rows if r.evaluation is not None and not r.evaluation.published),
        bulk_form=BulkRateForm(),
        may_rate=_may_rate(community),
    )


@bp.route("/evaluations/<int:community_id>/<int:year>")
@login_required
def evaluations(community_id: int, year: int):
    community = _community_for(community_id, "evaluation.manage")
    _check_year(year, future=False)
    return _evaluation_page(community, year)


def _row_values(member_id: int) -> dict:
    return {
        "rating": request.form.get(f"rating-{member_id}", ""),
        "comment": request.form.get(f"comment-{member_id}", ""),
        "reason": request.form.get(f"reason-{member_id}", ""),
    }


@bp.route("/evaluations/<int:community_id>/<int:year>/members/<int:member_id>", methods=["POST"])
@login_required
def rate_one(community_id: int, year: int, member_id: int):
    community = _community_for(community_id, "evaluation.manage")
    _check_year(year)
    member = db.session.get(Member, member_id)
    if member is None or not services.is_reported_in(member, community, year):
        abort(404)  # only members reported in to this community are in scope here
    values = _row_values(member_id)  # CSRFProtect has checked the token already
    changed = False
    with refused() as refusal:
        if not values["rating"]:
            raise ServiceError(_("Choose a rating."), "rating")
        _evaluation, changed = services.set_rating(
            community, member, year, values["rating"], values["comment"], values["reason"], actor_id=current_user.id
        )
        db.session.commit()
    error = refusal.message
    if not wants_fragment():
        flash(error or _("Rating saved."), "error" if error else "success")
        return see_other(url_for("reports.evaluations", community_id=community.id, year=year))
    row = services.evaluation_row(community, member, year)
    response = render(
        "reports/_eval_row.html",
        "reports/_eval_row.html",
        status=422 if error else 200,
        row=row,
        community=community,
        year=year,
        posted={member.id: values} if error else {},
        errors={member.id: error} if error else {},
        saved=changed,
        may_rate=_may_rate(community),
    )
    return trigger(response, "evaluations-changed") if changed else response


@bp.route("/evaluations/<int:community_id>/<int:year>/save", methods=["POST"])
@login_required
def rate_all(community_id: int, year: int):
    """Without JavaScript: every row in one form, one save button; all or nothing."""
    community = _community_for(community_id, "evaluation.manage")
    _check_year(year)
    posted, errors, saved, own = {}, {}, 0, []
    may_rate = _may_rate(community)
    for row in services.evaluation_rows(community, year):
        values = _row_values(row.member.id)
        if f"rating-{row.member.id}" not in request.form:
            continue
        if not may_rate(row.member):
            own.append(row.member.name)
            continue
        posted[row.member.id] = values
        if not values["rating"]:
            continue
        try:
            _evaluation, changed = services.set_rating(
                community,
                row.member,
                year,
                values["rating"],
                values["comment"],
                values["reason"],
                actor_id=current_user.id,
            )
        except ServiceError as exc:
            errors[row.member.id] = exc.message
        else:
            saved += changed
    if errors:
        db.session.rollback()
        return _evaluation_page(
            community,
            year,
            status=422,
            posted=posted,
            errors=errors,
            error=ngettext(
                "%(num)d rating could not be saved; nothing was saved.",
                "%(num)d ratings could not be saved; nothing was saved.",
                len(errors),
            ),
        )
    db.session.commit()
    flash(ngettext("%(num)d rating saved.", "%(num)d ratings saved.", saved), "success")
    if own:
        flash(
            _("Not saved, as nobody rates themselves (another secretary must): %(names)s", names="、".join(own)),
            "warning",
        )
    return see_other(url_for("reports.evaluations", community_id=community.id, year=year), "evaluations-changed")


@bp.route("/evaluations/<int:community_id>/<int:year>/bulk", methods=["POST"])
@login_required
def rate_bulk(community_id: int, year: int):
    community = _community_for(community_id, "evaluation.manage")
    _check_year(year)
    form = BulkRateForm()
    if form.validate_on_submit():
        rated, skipped = services.rate_unrated(community, year, form.rating.data, actor_id=current_user.id)
        db.session.commit()
        flash(ngettext("%(num)d member rated.", "%(num)d members rated.", len(rated)), "success")
        if skipped:
            flash(
                _(
                    "Skipped, with no approved service this year (rate them one by one, with a reason if "
                    "above “Basically satisfactory”): %(names)s",
                    names="、".join(m.name for m in skipped),
                ),
                "warning",
            )
    return see_other(url_for("reports.evaluations", community_id=community.id, year=year), "evaluations-changed")


@bp.route("/evaluations/<int:community_id>/<int:year>/publish", methods=["POST"])
@login_required
def publish(community_id: int, year: int):
    community = _community_for(community_id, "evaluation.manage")
    _check_year(year)
    count = services.publish_evaluations(community, year, actor_id=current_user.id)
    db.session.commit()
    flash(
        ngettext(
            "%(num)d rating published to the members' branches.",
            "%(num)d ratings published to the members' branches.",
            count,
        ),
        "success",
    )
    return see_other(url_for("reports.evaluations", community_id=community.id, year=year), "evaluations-changed")


# ---------------------------------------------------------------- feedback sheets


@bp.route("/feedback/<int:community_id>")
@login_required
def feedback(community_id: int):
    community = _community_for(community_id, "feedback.manage")
    year = _year_arg()
    rule, periods, branches, sheets = services.feedback_grid(community, year)
    today = local_today()
    started = {p: rulebook.period_bounds(year, p)[0] <= today for p in periods}
    return render(
        "reports/feedback.html",
        community=community,
        year=year,
        rule=rule,
        periods=periods,
        branches=branches,
        sheets=sheets,
        started=started,
        form=GenerateForm(),
    )


@bp.route("/feedback/<int:community_id>/generate", methods=["POST"])
@login_required
def generate(community_id: int):
    community = _community_for(community_id, "feedback.manage")
    year = _year_arg()
    form = GenerateForm()
    if not form.validate_on_submit():
        flash(_("Choose a branch and a period."), "error")
        return see_other(url_for("reports.feedback", community_id=community.id, year=year))
    branch = db.session.get(Branch, form.branch_id.data)
    if branch is None or not can(current_user, "feedback.write", About(community, branch=branch)):
        abort(404)
    sheet = services.generate_sheet(community, branch, year, form.period.data, actor_id=current_user.id)
    db.session.commit()
    return see_other(url_for("reports.sheet", sheet_id=sheet.id))


def _sheet_page(sheet: FeedbackSheet, form: SheetForm | None = None, *, status: int = 200) -> Response:
    return render(
        "reports/sheet.html",
        sheet=sheet,
        form=form or SheetForm(obj=sheet),
        status=status,
        manage=can(current_user, "feedback.write", sheet),
        now=utcnow(),
    )


@bp.route("/feedback/sheets/<int:sheet_id>", methods=["GET", "POST"])
@login_required
def sheet(sheet_id: int):
    found = get_or_404(FeedbackSheet, sheet_id, "feedback.view")
    if request.method == "GET":
        return _sheet_page(found)
    if not can(current_user, "feedback.write", found):
        abort(404)
    form = SheetForm()
    if form.validate_on_submit():
        remarks = {line.id: request.form.get(f"remark-{line.id}", line.remark)[:1000] for line in found.lines}
        action = request.form.get("action", "save")
        with refused(form):
            services.save_sheet(found, form.note.data or "", remarks, actor_id=current_user.id)
            if action == "send":
                services.send_sheet(found, actor_id=current_user.id)
            elif action == "refresh":
                services.refresh_sheet(found, actor_id=current_user.id)
            db.session.commit()
            flash(
                {
                    "send": _("Feedback sent to %(branch)s.", branch=found.branch.full_name()),
                    "refresh": _("Figures counted again from the approved records."),
                }.get(action, _("Saved.")),
                "success",
            )
            return see_other(url_for("reports.sheet", sheet_id=found.id), "feedback-changed")
    return _sheet_page(found, form, status=422)


@bp.route("/branches/<int:branch_id>/feedback")
@login_required
def branch_feedback(branch_id: int):
    branch = get_or_404(Branch, branch_id, "branch.year_view")
    year = _year_arg()
    sheets = db.session.scalars(
        select(FeedbackSheet)
        .where(FeedbackSheet.branch_id == branch.id, FeedbackSheet.year == year, FeedbackSheet.status == "sent")
        .order_by(FeedbackSheet.period, FeedbackSheet.community_id)
    ).all()
    return render(
        "reports/branch_feedback.html",
        branch=branch,
        year=year,
        sheets=sheets,
        unit_ratings=units.ratings_received(branch, year),
    )


# ---------------------------------------------------------------- the branch secretary's year view


@bp.route("/branches/<int:branch_id>/year/<int:year>")
@login_required
def year_view(branch_id: int, year: int):
    branch = get_or_404(Branch, branch_id, "branch.year_view")
    _check_year(year, future=False)
    return render("reports/year.html", view=services.year_view(branch, year), headers=services.year_headers())


@bp.route("/branches/<int:branch_id>/year/<int:year>/print")
@login_required
def year_print(branch_id: int, year: int):
    branch = get_or_404(Branch, branch_id, "branch.year_view")
    _check_year(year, future=False)
    return render(
        "reports/year_print.html",
        view=services.year_view(branch, year),
        headers=services.year_headers(),
        generated_at=utcnow(),
    )


@bp.route("/branches/<int:branch_id>/year/<int:year>.xlsx")
@login_required
def year_xlsx(branch_id: int, year: int):
    branch = get_or_404(Branch, branch_id, "branch.year_view")
    _check_year(year, future=False)
    view = services.year_view(branch, year)
    columns = exports.simple_columns(services.year_headers(), [10, 18, 10, 8, 26, 12, 30, 8, 30, 10, 10])
    return exports.export_response(
        "xlsx",
        f"{branch.agency.name}{branch.name}-{year}",
        columns,
        view.rows,
        title=_("%(year)d year view", year=year),
    )


# ---------------------------------------------------------------- year rules


@bp.route("/rules")
@login_required
def rules():
    if not can(current_user, "rule.list"):
        abort(404)
    year = _year_arg(future=True)
    mine = org_areas(current_user)
    city = db.session.scalar(select(Area).where(Area.level == "city").order_by(Area.id))
    districts = []
    for area in mine:
        if area.level == "city":
            districts.extend(area.children)
        elif area.level == "district":
            districts.append(area)
    existing = {r.area_id: r for r in db.session.scalars(select(YearRule).where(YearRule.year == year))}
    return render("reports/rules.html", year=year, city=city, districts=districts, existing=existing)


def _rule_values(form: RuleForm) -> rulebook.RuleValues:
    hours = form.min_hours.data or Decimal(0)
    half = hours * 2
    if half != half.to_integral_value():
        raise ServiceError(_("Hours go in steps of 0.5."), "min_hours")
    return rulebook.RuleValues(
        int(half),
        form.min_activities.data or 0,
        bool(form.report_required.data),
        form.report_period.data,
        form.report_due.data,
        form.evaluation_due.data,
        form.feedback_frequency.data,
        report_in_days=form.report_in_days.data,
        unit_report_in_rate=form.unit_report_in_rate.data,
        unit_min_projects=form.unit_min_projects.data or 0,
        mark_review=bool(form.mark_review.data),
        bar_honours=bool(form.bar_honours.data),
        name_in_bulletin=bool(form.name_in_bulletin.data),
        brand_city_min=form.brand_city_min.data,
        brand_district_min=form.brand_district_min.data,
    )


@bp.route("/rules/<int:area_id>/<int:year>", methods=["GET", "POST"])
@login_required
def rule_edit(area_id: int, year: int):
    area = get_or_404(Area, area_id, "rule.edit")
    _check_year(year)
    rule = db.session.scalar(select(YearRule).where(YearRule.year == year, YearRule.area_id == area.id))
    parent_rule = (
        db.session.scalar(select(YearRule).where(YearRule.year == year, YearRule.area_id == area.parent_id))
        if area.level == "district"
        else None
    )
    template = rule or parent_rule
    form = RuleForm(data=_form_data(template, year)) if request.method == "GET" else RuleForm()
    if request.method == "POST" and request.form.get("action") == "remove" and rule is not None:
        rulebook.delete_rule(rule, actor_id=current_user.id)
        db.session.commit()
        flash(_("The district's own rule was removed; the city's rule applies."), "success")
        return see_other(url_for("reports.rules", year=year))
    if form.validate_on_submit():
        with refused(form):
            rulebook.set_rule(area, year, _rule_values(form), actor_id=current_user.id)
            db.session.commit()
            flash(_("The rule for %(area)s in %(year)d is saved.", area=area.name, year=year), "success")
            return see_other(url_for("reports.rules", year=year))
    status = 422 if request.method == "POST" else 200
    return render(
        "reports/rule_form.html",
        form=form,
        area=area,
        year=year,
        rule=rule,
        parent_rule=parent_rule,
        status=status,
    )


def _form_data(rule: YearRule | None, year: int) -> dict:
    if rule is None:
        values = rulebook.RuleValues(0, 0, True, "year", date(year + 1, 1, 15), date(year + 1, 1, 31), "quarter")
        data = dict(values.__dict__)
    else:
        data = {f.name: getattr(rule, f.name) for f in fields(rulebook.RuleValues)}
    return {**data, "min_hours": Decimal(data.pop("min_half_hours")) / 2}


# ---------------------------------------------------------------- overdue


@bp.route("/overdue/<int:area_id>")
@login_required
def overdue(area_id: int):
    area = get_or_404(Area, area_id, "overdue.view")
    year = _year_arg()
    rows = services.area_overdue(area, year)
    rule = rulebook.effective_rule(year, area)
    return render("reports/overdue.html", area=area, year=year, rows=rows, rule=rule, today=local_today())


# ---------------------------------------------------------------- unit ratings (单位评价)


def _unit_row_page(community: Area, year: int, row: units.UnitRow, **context) -> Response:
    return render(
        "reports/units.html",
        "reports/_unit_row.html",
        community=community,
        year=year,
        row=row,
        closed=year_is_closed(year),
        may_rate=_may_rate_unit(community),
        **context,
    )


def _may_rate_unit(community: Area):
    """For the rows: may the current user rate this branch (nobody rates their own)?"""
    return lambda branch: can(current_user, "unit_rating.rate", About(community, branch=branch))


@bp.route("/units/<int:community_id>/<int:year>")
@login_required
def units_page(community_id: int, year: int):
    community = _community_for(community_id, "unit_rating.manage")
    _check_year(year, future=False)
    rows = units.unit_rows(community, year)
    return render(
        "reports/units.html",
        community=community,
        year=year,
        rows=rows,
        unrated=sum(1 for r in rows if r.rating is None),
        closed=year_is_closed(year),
        may_rate=_may_rate_unit(community),
    )


@bp.route("/units/<int:community_id>/<int:year>/branches/<int:branch_id>", methods=["POST"])
@login_required
def rate_unit(community_id: int, year: int, branch_id: int):
    community = _community_for(community_id, "unit_rating.manage")
    _check_year(year, future=False)
    branch = db.session.get(Branch, branch_id)
    rows = units.unit_rows(community, year, branch) if branch is not None else []
    if not rows:
        abort(404)  # only branches reported in here during the year are in scope
    (row,) = rows
    values = {"rating": request.form.get("rating", ""), "comment": request.form.get("comment", "")}
    changed = False
    with refused() as refusal:
        _rating, changed = units.rate_unit(
            community, branch, year, values["rating"], values["comment"], actor_id=current_user.id
        )
        db.session.commit()
    if not wants_fragment():
        flash(refusal.message or _("Rating saved."), "error" if refusal else "success")
        return see_other(url_for("reports.units_page", community_id=community.id, year=year) + f"#unit-{branch.id}")
    if not refusal:
        (row,) = units.unit_rows(community, year, branch)
    return _unit_row_page(
        community,
        year,
        row,
        status=422 if refusal else 200,
        posted=values if refusal else None,
        error=refusal.message,
        saved=changed,
    )
