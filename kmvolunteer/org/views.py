"""Browse the place tree, agencies and branches; keep a branch's roster."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from kmvolunteer.auth.policy import can, get_or_404, scoped
from kmvolunteer.core.htmx import render, see_other
from kmvolunteer.core.refusals import refused
from kmvolunteer.extensions import db
from kmvolunteer.org import roster, services
from kmvolunteer.org.forms import MemberForm, RosterUploadForm, SearchForm
from kmvolunteer.org.models import Agency, Area, Branch, Department, Member

bp = Blueprint("org", __name__)


@bp.route("/areas/<int:area_id>")
@login_required
def area(area_id: int):
    place = get_or_404(Area, area_id, "area.view")
    departments = db.session.scalars(select(Department).where(Department.area_id == place.id)).all()
    return render(
        "org/area.html",
        area=place,
        community_counts=services.child_counts(place),
        agencies=services.agencies_in(place) if can(current_user, "area.agencies", place) else [],
        departments=departments,
    )


@bp.route("/agencies/<int:agency_id>")
@login_required
def agency(agency_id: int):
    employer = get_or_404(Agency, agency_id, "agency.view")
    branches = [b for b in employer.branches if can(current_user, "branch.view", b)]
    return render("org/agency.html", agency=employer, branches=branches, counts=services.branch_member_counts(employer))


@bp.route("/branches/<int:branch_id>")
@login_required
def branch(branch_id: int):
    party_branch = get_or_404(Branch, branch_id, "branch.view")
    search = SearchForm(request.args)
    search.validate()
    page = db.paginate(services.roster_query(party_branch, search.q.data, current_user), per_page=50, error_out=False)
    return render(
        "org/branch.html", "org/_roster.html", branch=party_branch, page=page, search=search, form=MemberForm()
    )


@bp.route("/branches/<int:branch_id>/members", methods=["POST"])
@login_required
def add_member(branch_id: int):
    party_branch = get_or_404(Branch, branch_id, "branch.manage")
    form = MemberForm()
    if form.validate_on_submit():
        with refused(form):
            added = services.add_member(
                party_branch, name=form.name.data, phone=form.phone.data, post=form.post.data or ""
            )
            db.session.commit()
            return render("org/accounts_issued.html", issued=[added], branch=party_branch)
    page = db.paginate(services.roster_query(party_branch, None, current_user), per_page=50, error_out=False)
    return render(
        "org/branch.html",
        "org/_member_form.html",
        status=422,
        branch=party_branch,
        page=page,
        search=SearchForm(),
        form=form,
    )


@bp.route("/members/<int:member_id>")
@login_required
def member(member_id: int):
    person = get_or_404(Member, member_id, "member.view")
    return render("org/member.html", member=person)


@bp.route("/members/<int:member_id>/deactivate", methods=["POST"])
@login_required
def deactivate_member(member_id: int):
    person = get_or_404(Member, member_id, "member.edit")
    services.deactivate_member(person)
    db.session.commit()
    flash(_("%(name)s is no longer on the roster.", name=person.name), "success")
    return see_other(url_for("org.branch", branch_id=person.branch_id))


def _fillable_branches() -> list[Branch]:
    stmt = scoped(select(Branch), current_user, "branch.list").where(Branch.active.is_(True))
    return list(db.session.scalars(stmt.order_by(Branch.agency_id, Branch.id)))


@bp.route("/roster/import", methods=["GET", "POST"])
@login_required
def roster_import():
    if not can(current_user, "roster.import"):
        abort(404)
    form = RosterUploadForm()
    check = None
    if form.validate_on_submit():
        upload = form.file.data
        with refused(form):
            table = roster.read_table(upload.filename or "", upload.read())
            check = roster.check_roster(table, _fillable_branches())
            if check.clean:
                imported = roster.import_roster(check, source=upload.filename or "")
                db.session.commit()
                return render("org/accounts_issued.html", issued=imported, branch=None)
            db.session.rollback()
    status = 422 if request.method == "POST" else 200
    return render("org/roster_import.html", form=form, check=check, status=status, branches=_fillable_branches())


@bp.route("/roster/template.<string:kind>")
@login_required
def roster_template(kind: str):
    if not can(current_user, "roster.import"):
        abort(404)
    rows = roster.template_rows()
    if kind == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        data = ("\ufeff" + buffer.getvalue()).encode("utf-8")
        mimetype = "text/csv; charset=utf-8"
    elif kind == "xlsx":
        data = roster_template_xlsx(rows)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        abort(404)
    return Response(
        data, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename=roster-template.{kind}"}
    )


def roster_template_xlsx(rows: list[tuple[str, ...]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "党员名单"
    for row in rows:
        sheet.append(row)
    for column, width in zip("ABCDE", (12, 16, 24, 20, 16), strict=True):
        sheet.column_dimensions[column].width = width
    for cell in sheet["B"]:
        cell.number_format = "@"  # phone numbers stay text
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
