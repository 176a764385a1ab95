"""The page of a community's 大党委 or a subdistrict's 党建联盟: member units, part-time members, the rotating
chair; kept by the community's secretary or the subdistrict, read by the areas above and the member units."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from kmvolunteer.auth.policy import can, get_or_404
from kmvolunteer.bodies import services
from kmvolunteer.bodies.models import ATTENDANCE_LABELS, BODY_LABELS, UNIT_LABELS, JointMeeting
from kmvolunteer.core.htmx import render, see_other
from kmvolunteer.core.refusals import refused
from kmvolunteer.core.text import parse_day, parse_id
from kmvolunteer.core.time import local_today, utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area
from kmvolunteer.reportin.services import NeedData

bp = Blueprint("bodies", __name__, url_prefix="/bodies")


def _page(area: Area, *, status: int = 200, error: str | None = None):
    body = services.body_of(area)
    manage = can(current_user, "body.manage", area)
    agencies = (
        db.session.scalars(select(Agency).where(Agency.active.is_(True)).order_by(Agency.name)).all() if manage else []
    )
    return render(
        "bodies/body.html",
        area=area,
        view=services.page(body) if body else None,
        meetings=services.meetings(body, local_today().year) if body else [],
        attendance=services.attendance_counts(body, local_today().year) if body else {},
        tally=services.tally(body, local_today().year) if body else [],
        kind=services.kind_for(area),
        body_labels=BODY_LABELS,
        unit_labels=UNIT_LABELS,
        manage=manage,
        agencies=agencies,
        today=local_today(),
        error=error,
        status=status,
    )


@bp.route("/areas/<int:area_id>")
@login_required
def body(area_id: int):
    return _page(get_or_404(Area, area_id, "body.view"))


@bp.route("/areas/<int:area_id>/<any(units, members, rotation):part>", methods=["POST"])
@login_required
def change(area_id: int, part: str):
    area = get_or_404(Area, area_id, "body.manage")
    form = request.form
    with refused() as refusal:
        joint = services.open_body(area, actor_id=current_user.id)
        if part == "units":
            services.add_unit(
                joint, form.get("kind", ""), form.get("name", ""), form.get("agency_id"), actor_id=current_user.id
            )
        elif part == "members":
            services.add_member(
                joint,
                form.get("unit_id"),
                form.get("name", ""),
                form.get("post", ""),
                parse_day(form.get("term_start")),
                parse_day(form.get("term_end")),
                actor_id=current_user.id,
            )
        else:
            services.set_rotation(
                joint, parse_day(form.get("start")) or local_today(), form.getlist("unit_ids"), actor_id=current_user.id
            )
        db.session.commit()
    if refusal:
        return _page(area, status=422, error=refusal.message)
    flash(_("Saved."), "success")
    return see_other(url_for("bodies.body", area_id=area.id))


# ---------------------------------------------------------------- joint meetings


def _need_data(form) -> NeedData:
    headcount = parse_id(form.get("need_headcount"))
    return NeedData(
        kind="need",
        title=form.get("need_title", ""),
        category_id=None,
        description=form.get("decisions", "")[:2000],
        place=form.get("need_place", ""),
        on_date=parse_day(form.get("need_on")),
        start_time=None,
        end_time=None,
        recurrence=form.get("need_recurrence", ""),
        headcount=headcount or 0,
    )


@bp.route("/areas/<int:area_id>/meetings/new", methods=["GET", "POST"])
@login_required
def new_meeting(area_id: int):
    area = get_or_404(Area, area_id, "body.manage")
    joint = services.body_of(area)
    if joint is None:
        abort(404)  # a body has units before it meets
    units = [u for u in joint.units if u.active]
    error = None
    if request.method == "POST":
        form = request.form
        attendance = {u.id: form.get(f"unit-{u.id}", "") for u in units}
        need = None
        if form.get("publish_need") == "1":
            community = db.session.get(Area, parse_id(form.get("need_community")) or 0)
            need = (community, _need_data(form))
        with refused() as refusal:
            meeting = services.record_meeting(
                joint,
                parse_day(form.get("held_on")),
                form.get("place", ""),
                form.get("topics", ""),
                form.get("decisions", ""),
                attendance,
                need,
                actor_id=current_user.id,
            )
            db.session.commit()
        if not refusal:
            flash(_("The meeting is recorded."), "success")
            return see_other(url_for("bodies.meeting", meeting_id=meeting.id))
        error = refusal.message
    return render(
        "bodies/meeting_form.html",
        area=area,
        body=joint,
        units=units,
        communities=services.communities_of(joint),
        attendance_labels=ATTENDANCE_LABELS,
        posted=request.form if error else {},
        error=error,
        today=local_today(),
        status=422 if error else 200,
    )


@bp.route("/meetings/<int:meeting_id>")
@login_required
def meeting(meeting_id: int):
    found = db.session.get(JointMeeting, meeting_id)
    if found is None or not can(current_user, "body.view", found.body.area):
        abort(404)
    return render(
        "bodies/meeting.html",
        meeting=found,
        attendance_labels=ATTENDANCE_LABELS,
        body_labels=BODY_LABELS,
        generated_at=utcnow(),
    )
