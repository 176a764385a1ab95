"""Accounts: an organization department creates users, grants and revokes roles, deactivates."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import or_, select

from kmvolunteer.auth import services
from kmvolunteer.auth.forms import GrantForm, NewUserForm, UserSearchForm
from kmvolunteer.auth.models import GRANT_SCOPE, Role, RoleGrant, User
from kmvolunteer.auth.policy import can, get_or_404, org_areas, scoped
from kmvolunteer.core.htmx import render, see_other
from kmvolunteer.core.refusals import refused
from kmvolunteer.core.text import parse_id
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area, Branch, Department

bp = Blueprint("accounts", __name__, url_prefix="/accounts")

LEVELS_FOR_ROLE = {
    Role.community_secretary: ("community",),
    Role.subdistrict_officer: ("subdistrict",),
    Role.org_department: ("city", "district"),
    Role.agency_work_committee: ("city", "district"),
}


def _require_admin() -> None:
    if not can(current_user, "user.list"):
        abort(404)


@bp.route("/")
@login_required
def index():
    _require_admin()
    search = UserSearchForm(request.args)
    search.validate()
    stmt = scoped(select(User), current_user, "user.list").order_by(User.username)
    if search.q.data:
        # Lists mask logins that are phone numbers, so digits alone never match a login: by name only.
        q = search.q.data.strip()
        by_name = User.display_name.contains(q, autoescape=True)
        stmt = stmt.where(by_name if q.isdigit() else or_(by_name, User.username.contains(q, autoescape=True)))
    page = db.paginate(stmt, per_page=50, error_out=False)
    return render("accounts/index.html", "accounts/_table.html", page=page, search=search)


def _home_area_choices() -> list[tuple[int, str]]:
    choices = []
    for area in org_areas(current_user):
        choices.append((area.id, area.full_name() or area.name))
        for child in area.children:
            choices.append((child.id, child.full_name()))
    return choices


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    _require_admin()
    form = NewUserForm()
    form.home_area.choices = _home_area_choices()
    if form.validate_on_submit():
        home = db.session.get(Area, form.home_area.data)
        if home is None or not can(current_user, "user.create", home):
            abort(404)
        with refused(form):
            user, password = services.create_user(
                username=form.username.data, display_name=form.display_name.data, home_area=home
            )
            db.session.commit()
            return render("accounts/created.html", user=user, password=password)
    status = 422 if request.method == "POST" else 200
    return render("accounts/new.html", form=form, status=status)


BRANCHES_SHOWN = 200
# The scopes too many to list at once: found by typing part of a name.
SEARCHED = ("branch", "agency")


def _scope_choices(user: User, role: Role, search: str = "", limit: int | None = None) -> list[tuple[str, str]]:
    """Where ``role`` may be granted to ``user``; branches (thousands city-wide) can be searched by branch or
    agency name, agencies (hundreds) by name."""
    kind = GRANT_SCOPE[role]
    if kind == "branch":
        stmt = (
            scoped(select(Branch), current_user, "branch.list")
            .where(Branch.active.is_(True))
            .order_by(Branch.agency_id, Branch.id)
        )
        for term in search.split():  # "民政局 第一" finds 昆明市民政局 机关第一党支部
            stmt = stmt.where(
                or_(Branch.name.contains(term, autoescape=True), Agency.name.contains(term, autoescape=True))
            )
        return [(f"branch:{b.id}", b.full_name()) for b in db.session.scalars(stmt.limit(limit))]
    if kind == "department":
        departments = db.session.scalars(
            scoped(select(Department), current_user, "department.list").order_by(Department.name)
        )
        return [(f"department:{d.id}", d.name) for d in departments]
    if kind == "agency":
        stmt = scoped(select(Agency), current_user, "agency.list").where(Agency.active.is_(True)).order_by(Agency.name)
        for term in search.split():
            stmt = stmt.where(Agency.name.contains(term, autoescape=True))
        return [(f"agency:{a.id}", a.name) for a in db.session.scalars(stmt.limit(limit))]
    areas = db.session.scalars(
        scoped(select(Area), current_user, "area.list").where(Area.level.in_(LEVELS_FOR_ROLE[role])).order_by(Area.path)
    )
    return [
        (f"area:{a.id}", a.full_name() or a.name)
        for a in areas
        if can(current_user, "grant.give", RoleGrant(role=role.value, area=a, user_id=user.id))
    ]


def _grant_form(user: User, data=None) -> GrantForm:
    """The form, listing at most BRANCHES_SHOWN branches that match the search. The search goes
    with a posted choice too, so the choice is checked against the list it was picked from
    (not every branch in scope), and the list comes back as it was after a refusal."""
    form = GrantForm(data) if data is not None else GrantForm()
    chosen = form.role.data if form.role.data in {r.value for r in GRANT_SCOPE} else Role.branch_secretary.value
    form.role.data = chosen
    form.scope.choices = _scope_choices(user, Role(chosen), (form.q.data or "").strip(), BRANCHES_SHOWN + 1)
    if GRANT_SCOPE[Role(chosen)] == "agency":
        form.q.label.text = _("Find an agency by name")
    if form.scope.data is None and chosen == Role.branch_secretary.value and user.member is not None:
        own = f"branch:{user.member.branch_id}"  # a member is most often made secretary of their own branch
        if any(value == own for value, _label in form.scope.choices):
            form.scope.data = own
    return form


@bp.route("/<int:user_id>")
@login_required
def show(user_id: int):
    user = get_or_404(User, user_id, "user.manage")
    form = _grant_form(user, request.args if "role" in request.args else None)
    return _render_grant_form(user, form)


def _render_grant_form(user: User, form: GrantForm, status: int = 200):
    more = len(form.scope.choices) > BRANCHES_SHOWN
    form.scope.choices = form.scope.choices[:BRANCHES_SHOWN]
    return render(
        "accounts/show.html",
        "accounts/_grant_form.html",
        status=status,
        user=user,
        form=form,
        more=more,
        searchable=GRANT_SCOPE[Role(form.role.data)] in SEARCHED,
        agencies=GRANT_SCOPE[Role(form.role.data)] == "agency",
    )


@bp.route("/<int:user_id>/grants", methods=["POST"])
@login_required
def add_grant(user_id: int):
    user = get_or_404(User, user_id, "user.manage")
    form = _grant_form(user)
    if form.validate_on_submit():
        kind, _sep, raw_id = form.scope.data.partition(":")
        model = {"area": Area, "branch": Branch, "department": Department, "agency": Agency}.get(kind)
        target = db.session.get(model, parse_id(raw_id)) if model and parse_id(raw_id) else None
        if target is None:
            abort(404)
        with refused(form):
            grant = services.build_grant(Role(form.role.data), user=user, **{kind: target})
            if not can(current_user, "grant.give", grant):
                abort(404)
            services.add_grant(user, grant, actor=current_user)
            db.session.commit()
            flash(_("Role granted."), "success")
            return see_other(url_for("accounts.show", user_id=user.id))
    return _render_grant_form(user, form, status=422)


@bp.route("/<int:user_id>/grants/<int:grant_id>/revoke", methods=["POST"])
@login_required
def revoke_grant(user_id: int, grant_id: int):
    user = get_or_404(User, user_id, "user.manage")
    grant = db.session.get(RoleGrant, grant_id)
    if grant is None or grant.user_id != user.id or not can(current_user, "grant.give", grant):
        abort(404)
    services.revoke_grant(grant, actor=current_user)
    db.session.commit()
    flash(_("Role revoked."), "success")
    return see_other(url_for("accounts.show", user_id=user.id))


@bp.route("/<int:user_id>/active", methods=["POST"])
@login_required
def set_active(user_id: int):
    user = get_or_404(User, user_id, "user.manage")
    active = request.form.get("active") == "1"
    services.set_active(user, active, actor=current_user)
    db.session.commit()
    flash(_("Account enabled.") if active else _("Account disabled."), "success")
    return see_other(url_for("accounts.show", user_id=user.id))


@bp.route("/<int:user_id>/reset-password", methods=["POST"])
@login_required
def reset_password(user_id: int):
    user = get_or_404(User, user_id, "user.manage")
    password = services.reset_password(user, actor=current_user)
    db.session.commit()
    return render("accounts/created.html", user=user, password=password, reset=True)
