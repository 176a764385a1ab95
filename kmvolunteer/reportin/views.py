"""双报到 pages: report in, confirm, the three lists, claiming, rosters and figures."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from kmvolunteer.auth.models import Role
from kmvolunteer.auth.policy import can, get_or_404, scoped
from kmvolunteer.core import exports
from kmvolunteer.core.htmx import render, safe_next, see_other, trigger, wants_fragment
from kmvolunteer.core.refusals import Refusal, refused
from kmvolunteer.core.text import parse_id
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area, Branch, Member
from kmvolunteer.org.spots import spot_choices
from kmvolunteer.reportin import home as _home  # noqa: F401  (registers the home-page sections)
from kmvolunteer.reportin import services
from kmvolunteer.reportin.forms import (
    BranchReportInForm,
    CategoryForm,
    MarketFilterForm,
    MemberReportInForm,
    NeedForm,
    OutcomeForm,
    PlaceForm,
    ReasonForm,
    ResourceForm,
    RosterFilterForm,
)
from kmvolunteer.reportin.models import (
    Claim,
    Need,
    Project,
    ReportIn,
    Resource,
    ServiceCategory,
)

bp = Blueprint("reportin", __name__)

EVENT = "reportins-changed"
CLAIMS_EVENT = "claims-changed"


@bp.app_context_processor
def _template_helpers() -> dict:
    return {
        "reportin_pending_count": lambda area: services.pending_count([area]),
        # The menu's badges, for every community the user is secretary of at once.
        "reportin_pending_counts": lambda: services.pending_counts(
            g.area for g in current_user.grants_for(Role.community_secretary) if g.area is not None
        ),
        "need_is_past": services.is_past,
        "claim_withdrawable": services.can_withdraw_claim_of,
        "need_claim": lambda need, member, branch: services.active_claim(need, member=member, branch=branch),
    }


def _actor() -> int:
    return current_user.id


def _back(fallback: str) -> str:
    return safe_next(request.form.get("next") or request.args.get("next"), fallback)


# --------------------------------------------------------------------------- places


def _arg_int(name: str, source=None) -> int | None:
    return parse_id((source or request.values).get(name, ""))


def _fill_places(form: PlaceForm) -> None:
    """Choices for the three selects, from what was chosen (a chosen community implies the rest)."""
    community = db.session.get(Area, form.community.data) if form.community.data else None
    if community is not None and community.level == "community" and community.parent is not None:
        form.subdistrict.data = community.parent_id
        form.district.data = community.parent.parent_id
    subdistrict = db.session.get(Area, form.subdistrict.data) if form.subdistrict.data else None
    if subdistrict is not None and subdistrict.level == "subdistrict":
        if form.district.data != subdistrict.parent_id:
            form.district.data = subdistrict.parent_id
    else:
        form.subdistrict.data = None
    blank = [("", _("Choose…"))]
    form.district.choices = blank + [(a.id, a.name) for a in services.children_of(None, "district")]
    form.subdistrict.choices = blank + (
        [(a.id, a.name) for a in services.children_of(form.district.data, "subdistrict")] if form.district.data else []
    )
    form.community.choices = blank + (
        [(a.id, a.name) for a in services.children_of(form.subdistrict.data, "community")]
        if form.subdistrict.data
        else []
    )


@bp.route("/places/options")
@login_required
def place_options():
    """<option>s for the next select: ?district=ID → subdistricts, ?subdistrict=ID → communities."""
    if "district" in request.args:
        parent = _arg_int("district")
        places = services.children_of(parent, "subdistrict") if parent else []
        return render("reportin/_options.html", places=places, reset_community=True)
    parent = _arg_int("subdistrict")
    places = services.children_of(parent, "community") if parent else []
    return render("reportin/_options.html", places=places, reset_community=False)


@bp.route("/places/search")
@login_required
def place_search():
    q = (request.args.get("q") or "").strip()[:30]
    return render(
        "reportin/_community_results.html",
        communities=services.search_communities(q),
        q=q,
        target=safe_next(request.args.get("for"), url_for("reportin.new")),
    )


# --------------------------------------------------------------------------- member report-in


def _own_member() -> Member:
    member = current_user.member
    if member is None or not can(current_user, "reportin.self", member):
        abort(404)
    return member


@bp.route("/report-in")
@login_required
def mine():
    member = _own_member()
    current = services.active_member_report_in(member)
    community = services.confirmed_community_of(member)
    needs = db.session.scalars(services.needs_of(community).limit(10)).all() if community else []
    return render(
        "reportin/mine.html",
        member=member,
        current=current,
        history=services.member_history(member),
        claims=services.member_claims(member),
        community=community,
        needs=needs,
        reminder=services.latest_reminder(member),
    )


def _member_form(member: Member) -> MemberReportInForm:
    form = MemberReportInForm() if request.method == "POST" else MemberReportInForm(request.args)
    if request.method == "GET":
        form.district.data = _arg_int("district")
        form.subdistrict.data = _arg_int("subdistrict")
        form.community.data = _arg_int("community")
        form.categories.data = [i for i in map(parse_id, request.args.getlist("categories")) if i]
    form.categories.choices = [(c.id, c.name) for c in services.active_categories()]
    _fill_places(form)
    return form


@bp.route("/report-in/new", methods=["GET", "POST"])
@login_required
def new():
    member = _own_member()
    current = services.active_member_report_in(member)
    moving = current is not None and current.status == services.CONFIRMED
    form = _member_form(member)
    if request.method == "POST" and form.validate_on_submit():
        with refused(form):
            services.report_in_member(
                member,
                db.session.get(Area, form.community.data),
                skills=form.skills.data,
                category_ids=form.categories.data or [],
                actor_id=_actor(),
                moving=moving,
            )
            db.session.commit()
            flash(_("Your report-in has been sent. The community secretary will confirm it."), "success")
            return see_other(url_for("reportin.mine"), EVENT)
    status = 422 if request.method == "POST" else 200
    return render(
        "reportin/new.html",
        form=form,
        current=current,
        moving=moving,
        status=status,
        q=(request.args.get("q") or "").strip()[:30],
        found=services.search_communities(request.args.get("q", "")[:30]),
    )


# --------------------------------------------------------------------------- one report-in


@bp.route("/report-ins/<int:report_in_id>")
@login_required
def show(report_in_id: int):
    report_in = get_or_404(ReportIn, report_in_id, "reportin.view")
    return render(
        "reportin/show.html",
        report_in=report_in,
        reason_form=ReasonForm(formdata=None),
        end_form=ReasonForm(formdata=None, prefix="end"),
    )


@bp.route("/report-ins/<int:report_in_id>/receipt")
@login_required
def receipt(report_in_id: int):
    report_in = get_or_404(ReportIn, report_in_id, "reportin.view")
    if not report_in.serial:
        abort(404)
    return render("reportin/receipt.html", report_in=report_in)


def _queue_response(report_in: ReportIn, error: str | None = None):
    """After a decision: the updated queue row for htmx, else back to the page the user came from."""
    if wants_fragment():
        response = render(
            "reportin/show.html",
            "reportin/_queue_row.html",
            status=422 if error else 200,
            ri=report_in,
            error=error,
        )
        return trigger(response, EVENT) if error is None else response
    if error:
        flash(error, "error")
    return see_other(_back(url_for("reportin.queue", community_id=report_in.community_id)), EVENT)


@bp.route("/report-ins/<int:report_in_id>/confirm", methods=["POST"])
@login_required
def confirm(report_in_id: int):
    report_in = get_or_404(ReportIn, report_in_id, "reportin.decide")
    with refused() as refusal:
        services.confirm_report_in(report_in, actor_id=_actor())
        db.session.commit()
        if not wants_fragment():
            flash(_("Report-in of %(name)s confirmed.", name=services.who(report_in)), "success")
    return _queue_response(report_in, refusal.message)


@bp.route("/report-ins/<int:report_in_id>/reject", methods=["POST"])
@login_required
def reject(report_in_id: int):
    report_in = get_or_404(ReportIn, report_in_id, "reportin.decide")
    form = ReasonForm()
    if form.validate_on_submit():
        with refused(form):
            services.reject_report_in(report_in, form.reason.data, actor_id=_actor())
            db.session.commit()
            flash(_("Report-in rejected."), "success")
            return see_other(url_for("reportin.queue", community_id=report_in.community_id), EVENT)
    return render(
        "reportin/show.html",
        status=422,
        report_in=report_in,
        reason_form=form,
        end_form=ReasonForm(formdata=None, prefix="end"),
    )


@bp.route("/report-ins/<int:report_in_id>/withdraw", methods=["POST"])
@login_required
def withdraw(report_in_id: int):
    report_in = get_or_404(ReportIn, report_in_id, "reportin.withdraw")
    services.withdraw_report_in(report_in, actor_id=_actor())
    db.session.commit()
    flash(_("Report-in withdrawn."), "success")
    fallback = (
        url_for("reportin.mine")
        if report_in.kind == "member"
        else url_for("reportin.branch", branch_id=report_in.branch_id)
    )
    return see_other(_back(fallback), EVENT)


@bp.route("/report-ins/<int:report_in_id>/end", methods=["POST"])
@login_required
def end(report_in_id: int):
    report_in = get_or_404(ReportIn, report_in_id, "reportin.end")
    form = ReasonForm(prefix="end")
    if form.validate_on_submit():
        with refused(form):
            services.end_report_in(report_in, reason=form.reason.data, actor_id=_actor())
            db.session.commit()
            flash(_("Report-in ended."), "success")
            return see_other(url_for("reportin.show", report_in_id=report_in.id), EVENT)
    return render(
        "reportin/show.html",
        status=422,
        report_in=report_in,
        end_form=form,
        reason_form=ReasonForm(formdata=None),
    )


# --------------------------------------------------------------------------- community secretary


def _community(community_id: int, action: str = "community.manage") -> Area:
    return get_or_404(Area, community_id, action)


@bp.route("/communities/<int:community_id>/queue")
@login_required
def queue(community_id: int):
    community = _community(community_id)
    page = db.paginate(services.pending_query(community), per_page=50, error_out=False)
    return render("reportin/queue.html", "reportin/_queue.html", community=community, page=page)


@bp.route("/communities/<int:community_id>/queue/confirm", methods=["POST"])
@login_required
def confirm_bulk(community_id: int):
    community = _community(community_id)
    ids = [i for i in map(parse_id, request.form.getlist("ids")) if i]
    if not ids:
        flash(_("Tick the report-ins to confirm."), "error")
        return see_other(url_for("reportin.queue", community_id=community.id))
    chosen = db.session.scalars(
        select(ReportIn).where(ReportIn.id.in_(ids), ReportIn.community_id == community.id)
    ).all()
    own = [ri for ri in chosen if not can(current_user, "reportin.decide", ri)]  # about the secretary
    done, skipped = services.confirm_many([ri for ri in chosen if ri not in own], actor_id=_actor())
    db.session.commit()
    flash(_("%(num)d report-ins confirmed.", num=done), "success")
    if own:
        flash(
            _(
                "Not confirmed, as nobody decides about themselves (another secretary must): %(names)s",
                names="、".join(services.who(ri) for ri in own),
            ),
            "warning",
        )
    if skipped:
        flash(_("Already decided by someone else, not changed: %(names)s", names="、".join(skipped)), "warning")
    return see_other(url_for("reportin.queue", community_id=community.id), EVENT)


@bp.route("/communities/<int:community_id>/badge")
@login_required
def badge(community_id: int):
    community = _community(community_id)
    place = request.args.get("place", "")
    return render("reportin/_badge.html", community=community, badge_place=place if place.isalpha() else "")


def _roster_filters(community: Area) -> RosterFilterForm:
    form = RosterFilterForm(request.args)
    form.branch.choices = [("", _("All branches"))] + [
        (b.id, b.full_name()) for b in services.roster_branches(community)
    ]
    form.category.choices = [("", _("All categories"))] + [(c.id, c.name) for c in services.all_categories()]
    form.validate()
    return form


@bp.route("/communities/<int:community_id>/roster")
@login_required
def roster(community_id: int):
    community = _community(community_id)
    form = _roster_filters(community)
    stmt = services.roster_query(
        community, branch_id=form.branch.data, category_id=form.category.data, skill=form.skill.data
    )
    kind = request.args.get("export")
    if kind in ("xlsx", "csv"):
        rows = services.roster_rows(community, stmt, show_phone=lambda m: can(current_user, "member.phone", m))
        columns = exports.simple_columns(services.ROSTER_HEADER, (10, 14, 22, 18, 12, 24, 24, 12, 16))
        return exports.export_response(kind, f"{community.name}-报到党员名册", columns, rows, title="报到党员")
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render("reportin/roster.html", "reportin/_roster.html", community=community, page=page, form=form)


# --------------------------------------------------------------------------- the three lists


@bp.route("/communities/<int:community_id>/lists")
@login_required
def lists(community_id: int):
    community = _community(community_id, "community.lists")
    needs = db.session.scalars(
        services.needs_of(community, open_only=not can(current_user, "community.manage", community))
    ).all()
    resources = db.session.scalars(services.resources_of(community, status=None)).all()
    resources = [r for r in resources if r.status == "offered" or can(current_user, "resource.view", r)]
    projects = [
        p for p in db.session.scalars(services.projects_of(community=community)) if can(current_user, "project.view", p)
    ]
    return render(
        "reportin/lists.html",
        community=community,
        needs=needs,
        resources=resources,
        projects=projects,
        ctx=_claim_context(community),
    )


@bp.route("/market")
@login_required
def market():
    """项目超市: open needs of every community, to find where to serve (claimed on each community's lists)."""
    if not can(current_user, "market.view"):
        abort(404)
    form = MarketFilterForm(request.args)
    districts = db.session.scalars(
        select(Area).where(Area.level == "district", Area.active.is_(True)).order_by(Area.name)
    ).all()
    form.area.choices = [(None, _("All districts"))] + [(a.id, a.name) for a in districts]
    form.category.choices = [(None, _("All categories"))] + [(c.id, c.name) for c in services.active_categories()]
    area = next((a for a in districts if a.id == form.area.data), None)
    valid = form.validate()
    words, skill = ((form.q.data or "")[:50], (form.skill.data or "")[:30]) if valid else ("", "")
    stmt = services.market(area, form.category.data, words, skill)
    page = db.paginate(stmt, per_page=30, error_out=False)
    return render("reportin/market.html", "reportin/_market.html", form=form, page=page, my_skills=_my_skills())


def _my_skills() -> list[str]:
    """The skills the member gave when reporting in, offered in the market's skill filter."""
    member = current_user.member if current_user.is_member else None
    return services.skills_of(member) if member is not None else []


def _claim_context(community: Area) -> dict:
    """What the current user may claim with: as a member here, and/or for their branches co-building here."""
    member = current_user.member if current_user.is_member else None
    as_member = member is not None and (services.confirmed_community_of(member) or Area(id=-1)).id == community.id
    branches = [
        g.branch
        for g in current_user.grants_for(Role.branch_secretary)
        if g.branch is not None
        and can(current_user, "branch.cobuild", g.branch)
        and services.branch_may_claim(g.branch, community)
    ]
    return {"member": member if as_member else None, "branches": branches}


def _need_card(need: Need, *, error: str | None = None, status: int = 200):
    response = render(
        "reportin/need.html",
        "reportin/_need_card.html",
        status=status,
        need=need,
        error=error,
        ctx=_claim_context(need.community),
        claims=services.claims_of_need(need),
    )
    return trigger(response, CLAIMS_EVENT) if error is None and wants_fragment() else response


@bp.route("/communities/<int:community_id>/needs/new", methods=["GET", "POST"])
@login_required
def new_need(community_id: int):
    community = _community(community_id)
    form = NeedForm()
    form.category.choices = [("", _("No category"))] + [(c.id, c.name) for c in services.active_categories()]
    form.spot.choices = spot_choices(community.id)
    if form.validate_on_submit():
        with refused(form):
            need = services.publish_need(community, form.need_data(), actor_id=_actor())
            db.session.commit()
            flash(_("Published."), "success")
            return see_other(url_for("reportin.need", need_id=need.id))
    status = 422 if request.method == "POST" else 200
    return render("reportin/need_form.html", community=community, form=form, status=status)


@bp.route("/needs/<int:need_id>")
@login_required
def need(need_id: int):
    item = db.session.get(Need, need_id)
    if item is None or not can(current_user, "community.lists", item.community):
        abort(404)
    return _need_card(item)


@bp.route("/needs/<int:need_id>/claim", methods=["POST"])
@login_required
def claim(need_id: int):
    item = db.session.get(Need, need_id)
    if item is None or not can(current_user, "community.lists", item.community):
        abort(404)
    who = request.form.get("as", "member")
    member = branch = None
    if who.startswith("branch:") and parse_id(who[7:]):
        branch = db.session.get(Branch, parse_id(who[7:]))
        if branch is None or not can(current_user, "branch.cobuild", branch):
            abort(404)
    else:
        if not can(current_user, "need.claim", item):
            abort(404)
        member = current_user.member
    with refused() as refusal:
        services.claim_need(item, member=member, branch=branch, actor_id=_actor())
        db.session.commit()
    return _after_claim(item, refusal, _("Claimed: %(title)s", title=item.title))


def _after_claim(item: Need, refusal: Refusal, success: str):
    """The need's card with the claims as they are now (and the refusal, if refused), or back to the page."""
    if wants_fragment():
        return _need_card(item, error=refusal.message, status=422 if refusal else 200)
    flash(refusal.message or success, "error" if refusal else "success")
    return see_other(_back(url_for("reportin.need", need_id=item.id)), CLAIMS_EVENT)


@bp.route("/claims/<int:claim_id>/withdraw", methods=["POST"])
@login_required
def withdraw_claim(claim_id: int):
    item = get_or_404(Claim, claim_id, "claim.withdraw")
    with refused() as refusal:
        services.withdraw_claim(item, actor_id=_actor())
        db.session.commit()
    return _after_claim(item.need, refusal, _("Claim withdrawn."))


@bp.route("/needs/<int:need_id>/status", methods=["POST"])
@login_required
def need_status(need_id: int):
    item = get_or_404(Need, need_id, "need.manage")
    status = "closed" if request.form.get("status") == "closed" else "open"
    services.set_need_status(item, status, actor_id=_actor())
    db.session.commit()
    flash(_("Closed.") if status == "closed" else _("Reopened."), "success")
    return see_other(url_for("reportin.need", need_id=item.id))


# --------------------------------------------------------------------------- branch


@bp.route("/branches/<int:branch_id>/report-ins")
@login_required
def branch(branch_id: int):
    party_branch = get_or_404(Branch, branch_id, "branch.reportin")
    return render(
        "reportin/branch.html",
        branch=party_branch,
        rate=services.branch_rate(party_branch),
        rows=services.branch_member_report_ins(party_branch),
        cobuilds=services.branch_report_ins(party_branch),
        resources=db.session.scalars(
            select(Resource).where(Resource.branch_id == party_branch.id).order_by(Resource.id.desc())
        ).all(),
        projects=db.session.scalars(services.projects_of(branch=party_branch)).all(),
        claims=services.branch_claims(party_branch),
    )


@bp.route("/branches/<int:branch_id>/remind", methods=["POST"])
@login_required
def remind(branch_id: int):
    party_branch = get_or_404(Branch, branch_id, "branch.remind")
    ids = [i for i in map(parse_id, request.form.getlist("ids")) if i]
    members = (
        db.session.scalars(select(Member).where(Member.id.in_(ids), Member.branch_id == party_branch.id)).all()
        if ids
        else []
    )
    count = services.remind_members(party_branch, members, actor_id=_actor())
    db.session.commit()
    flash(_("%(num)d members reminded.", num=count), "success")
    return see_other(url_for("reportin.branch", branch_id=party_branch.id))


@bp.route("/branches/<int:branch_id>/cobuild/new", methods=["GET", "POST"])
@login_required
def new_cobuild(branch_id: int):
    party_branch = get_or_404(Branch, branch_id, "branch.cobuild")
    form = BranchReportInForm() if request.method == "POST" else BranchReportInForm(formdata=None)
    if request.method == "GET":
        form.district.data = _arg_int("district")
        form.subdistrict.data = _arg_int("subdistrict")
        form.community.data = _arg_int("community")
    _fill_places(form)
    if request.method == "POST" and form.validate_on_submit():
        with refused(form):
            services.report_in_branch(
                party_branch,
                db.session.get(Area, form.community.data),
                term_start=form.term_start.data,
                term_end=form.term_end.data,
                contact_name=form.contact_name.data,
                contact_phone=form.contact_phone.data,
                branch_commitments=form.branch_commitments.data,
                community_commitments=form.community_commitments.data,
                actor_id=_actor(),
            )
            db.session.commit()
            flash(_("The branch's report-in has been sent. The community secretary will confirm it."), "success")
            return see_other(url_for("reportin.branch", branch_id=party_branch.id), EVENT)
    status = 422 if request.method == "POST" else 200
    return render(
        "reportin/cobuild_form.html",
        branch=party_branch,
        form=form,
        status=status,
        q=(request.args.get("q") or "").strip()[:30],
        found=services.search_communities(request.args.get("q", "")[:30]),
    )


@bp.route("/branches/<int:branch_id>/resources/new", methods=["GET", "POST"])
@login_required
def new_resource(branch_id: int):
    party_branch = get_or_404(Branch, branch_id, "branch.cobuild")
    form = ResourceForm()
    form.community.choices = [(a.id, a.name) for a in services.branch_cobuilds(party_branch)]
    form.category.choices = [("", _("No category"))] + [(c.id, c.name) for c in services.active_categories()]
    if form.validate_on_submit():
        with refused(form):
            services.offer_resource(
                party_branch,
                db.session.get(Area, form.community.data),
                title=form.title.data,
                category_id=form.category.data,
                description=form.description.data,
                amount=form.amount.data,
                actor_id=_actor(),
            )
            db.session.commit()
            flash(_("Resource offered."), "success")
            return see_other(url_for("reportin.branch", branch_id=party_branch.id))
    status = 422 if request.method == "POST" else 200
    return render("reportin/resource_form.html", branch=party_branch, form=form, status=status)


@bp.route("/resources/<int:resource_id>/<any(take, withdraw):action>", methods=["POST"])
@login_required
def resource_action(resource_id: int, action: str):
    item = get_or_404(Resource, resource_id, f"resource.{action}")
    if action == "take":
        project = services.take_up_resource(item, actor_id=_actor())
    else:
        services.withdraw_resource(item, actor_id=_actor())
    db.session.commit()
    if action == "take":
        flash(_("Taken up: the project %(title)s has been created.", title=item.title), "success")
        return see_other(url_for("reportin.project", project_id=project.id))
    flash(_("Resource withdrawn."), "success")
    return see_other(_back(url_for("reportin.branch", branch_id=item.branch_id)))


@bp.route("/projects/<int:project_id>")
@login_required
def project(project_id: int):
    item = get_or_404(Project, project_id, "project.view")
    return render("reportin/project.html", project=item, form=OutcomeForm(formdata=None))


@bp.route("/projects/<int:project_id>/<any(start, finish):action>", methods=["POST"])
@login_required
def project_action(project_id: int, action: str):
    item = get_or_404(Project, project_id, "project.manage")
    if action == "start":
        services.start_project(item, actor_id=_actor())
        return _project_updated(item)
    form = OutcomeForm()
    if form.validate_on_submit():
        with refused(form):
            services.finish_project(item, form.outcome.data, actor_id=_actor())
            return _project_updated(item)
    return render("reportin/project.html", status=422, project=item, form=form)


def _project_updated(item: Project):
    db.session.commit()
    flash(_("Project updated."), "success")
    return see_other(url_for("reportin.project", project_id=item.id))


# --------------------------------------------------------------------------- area figures


@bp.route("/areas/<int:area_id>/report-ins")
@login_required
def area(area_id: int):
    place = get_or_404(Area, area_id, "area.reportin_figures")
    children = services.child_figures(place)
    recent = db.session.scalars(
        scoped(select(ReportIn), current_user, "reportin.list")
        .where(ReportIn.community_id.in_(select(Area.id).where(Area.path.startswith(place.path, autoescape=True))))
        .order_by(ReportIn.submitted_at.desc())
        .limit(20)
    ).all()
    return render(
        "reportin/area.html",
        area=place,
        rate=services.area_rate(place),
        figures=services.area_figures(place),
        children=children,
        recent=recent,
    )


# --------------------------------------------------------------------------- service categories


def _require_categories() -> None:
    if not can(current_user, "category.manage"):
        abort(404)


@bp.route("/categories", methods=["GET", "POST"])
@login_required
def categories():
    _require_categories()
    services.ensure_default_categories()
    form = CategoryForm()
    if form.validate_on_submit():
        with refused(form):
            services.add_category(form.name.data)
            db.session.commit()
            flash(_("Category added."), "success")
            return see_other(url_for("reportin.categories"))
    else:
        db.session.commit()  # the default list, if it was just created
    status = 422 if request.method == "POST" else 200
    return render(
        "reportin/categories.html",
        form=form,
        status=status,
        items=services.all_categories(),
    )


@bp.route("/categories/<int:category_id>", methods=["POST"])
@login_required
def category(category_id: int):
    _require_categories()
    item = db.session.get(ServiceCategory, category_id)
    if item is None:
        abort(404)
    if "name" in request.form:
        services.rename_category(item, request.form["name"])
    else:
        services.set_category_active(item, request.form.get("active") == "1")
    db.session.commit()
    flash(_("Category saved."), "success")
    return see_other(url_for("reportin.categories"))
