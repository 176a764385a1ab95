"""The page of a community's 大党委 or a subdistrict's 党建联盟: member units, part-time members, the rotating
chair; kept by the community's secretary or the subdistrict, read by the areas above and the member units."""

from __future__ import annotations

from flask import Blueprint, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from kmvolunteer.auth.policy import can, get_or_404
from kmvolunteer.bodies import services
from kmvolunteer.bodies.models import BODY_LABELS, UNIT_LABELS
from kmvolunteer.core.htmx import render, see_other
from kmvolunteer.core.refusals import refused
from kmvolunteer.core.text import parse_day
from kmvolunteer.core.time import local_today
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Agency, Area

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
