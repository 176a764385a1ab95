"""吹哨报到 pages: blow a whistle, the blower's list and whistle page (timeline, rating, closing, reopening,
escalating, re-routing, extensions), the department's queue and its steps; and the `flask whistles`
commands. Every action is a plain form POST (→ 303 → page); in the queue, htmx swaps the summons in place."""

from __future__ import annotations

import click
from flask import Blueprint, abort, flash, make_response, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from kmvolunteer.auth.policy import can, get_or_404
from kmvolunteer.core.htmx import back_path, render, see_other, trigger, wants_fragment
from kmvolunteer.core.refusals import refused
from kmvolunteer.core.text import parse_id
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.spots import spot_choices
from kmvolunteer.whistles import deadlines, pages, photos, services
from kmvolunteer.whistles import home as _home  # noqa: F401  (registers the home-page sections)
from kmvolunteer.whistles.forms import FilterForm, RuleForm, WhistleForm
from kmvolunteer.whistles.models import (
    EXTENSIONS,
    SUMMONSES,
    TIERS,
    WHISTLES,
    Rating,
    Summons,
    Whistle,
    WhistleCategory,
    WhistlePhoto,
)

bp = Blueprint("whistles", __name__, cli_group="whistles")

CHANGED = "whistles-changed"
PHOTO_FORMS = {"whistles.new", "whistles.summons_action"}
RATINGS = {"satisfied": _l("Satisfied"), "basic": _l("Basically satisfied"), "unsatisfied": _l("Unsatisfied")}


@bp.cli.command("escalate")
def escalate() -> None:
    """Run one automatic escalation pass (overdue summons, or rated 不满意 twice) and commit it."""
    escalated = services.escalation_pass()
    db.session.commit()
    click.echo(f"{len(escalated)} whistle(s) escalated.")


@bp.url_value_preprocessor
def _photo_forms(endpoint: str | None, values: dict | None) -> None:
    """The forms that carry photos may send more than MAX_CONTENT_LENGTH. Set here, before any
    before_request function (CSRF, submission keys) reads the form: these run first."""
    if endpoint in PHOTO_FORMS:
        request.max_content_length = photos.request_limit()


@bp.app_context_processor
def _whistle_globals() -> dict:
    def whistle_menu() -> dict:
        if not current_user.is_authenticated:
            return {}
        return {
            "blow": bool(pages.blowing_areas(current_user)),
            "queue": pages.is_department_officer(current_user),
        }

    return {"whistle_menu": whistle_menu}


def _labels() -> dict:
    return {
        "whistle": WHISTLES.label,
        "summons": SUMMONSES.label,
        "extension": EXTENSIONS.label,
        "ratings": {r.value: RATINGS[r.value] for r in Rating},
        "steps": {"sign": _("Sign for it"), "contact": _("Make contact"), "handle": _("Handle it")},
    }


# ---------------------------------------------------------------- blowing a whistle


@bp.route("/whistles/new", methods=["GET", "POST"])
@login_required
def new():
    areas = pages.blowing_areas(current_user)
    if not areas:
        abort(404)
    area_id = request.values.get("area", type=int)
    area = next((a for a in areas if a.id == area_id), areas[0])
    form = WhistleForm()
    categories = services.ensure_default_categories()
    db.session.commit()  # the starting categories, the first time a whistle is blown
    form.category_id.choices = [(c.id, c.name) for c in categories]
    departments = pages.departments_above(area)
    form.departments.choices = [(str(d.id), d.name) for d in departments]
    form.spot.choices = spot_choices(area.id) if area.level == "community" else []
    if form.validate_on_submit():
        with refused(form):
            whistle = services.blow(
                area, current_user, form.whistle_data(), form.departments.data or [], form.photos.data or []
            )
            db.session.commit()
            flash(_("Whistle %(serial)s blown: the departments have been summoned.", serial=whistle.serial), "success")
            return see_other(url_for("whistles.show", whistle_id=whistle.id), CHANGED)
    status = 422 if request.method == "POST" else 200
    return render("whistles/new.html", status=status, form=form, area=area, areas=areas)


# ---------------------------------------------------------------- the blower's side


@bp.route("/whistles")
@login_required
def index():
    counts = pages.whistle_counts(current_user)
    if not counts["all"] and not pages.blowing_areas(current_user):
        abort(404)
    form = FilterForm(request.args)
    words = {"all": _("all"), "attention": _("waiting for you")}
    form.status.choices = [(s, words.get(s) or WHISTLES.label(s)) for s in pages.LIST_FILTERS]
    default = "attention" if counts["attention"] else "open"
    status = form.status.data if form.status.data in pages.LIST_FILTERS else default
    page = db.paginate(pages.whistle_list(current_user, status), per_page=30, error_out=False)
    return render(
        "whistles/index.html",
        form=form,
        current=status,
        counts=counts,
        page=page,
        labels=_labels(),
        can_blow=bool(pages.blowing_areas(current_user)),
        waiting_for=pages.waiting_for,
        due=pages.next_due,
    )


@bp.route("/whistles/<int:whistle_id>")
@login_required
def show(whistle_id: int):
    whistle = get_or_404(Whistle, whistle_id, "whistle.view")
    summoned = {s.department_id for s in whistle.summonses}
    return render(
        "whistles/show.html",
        whistle=whistle,
        steps=services.timeline(whistle),
        manage=can(current_user, "whistle.manage", whistle),
        more_departments=[d for d in pages.departments_above(whistle.area) if d.id not in summoned],
        escalates=whistle.area.level in services.ESCALATES,
        photos=pages.photos_by_note(whistle),
        **_summons_context(),
    )


@bp.route("/whistles/<int:whistle_id>/photos/<int:photo_id>/<any(photo, thumb):kind>.jpg")
@login_required
def photo(whistle_id: int, photo_id: int, kind: str):
    """A photo of the whistle (or its thumbnail), for whoever may read the whistle: private to the browser."""
    whistle = get_or_404(Whistle, whistle_id, "whistle.view")
    picture = db.session.get(WhistlePhoto, photo_id)
    if picture is None or picture.whistle_id != whistle.id:
        abort(404)
    path = photos.file_of(picture, kind)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=86400)
    response.cache_control.public = False
    response.cache_control.private = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/whistles/<int:whistle_id>/print")
@login_required
def work_order(whistle_id: int):
    """工单: the whistle on one A4 sheet, with its serial number, every department's deadlines and steps,
    the timeline, and lines for the signatures."""
    whistle = get_or_404(Whistle, whistle_id, "whistle.view")
    return render(
        "whistles/print.html",
        whistle=whistle,
        steps=services.timeline(whistle),
        printed_at=utcnow(),
        **_summons_context(),
    )


def _summons_context() -> dict:
    from kmvolunteer.audit.labels import action_label

    return {
        "labels": _labels(),
        "due": pages.next_due,
        "action_label": action_label,
        "max_extension": services.MAX_EXTENSION_DAYS,
    }


@bp.route("/whistles/<int:whistle_id>/<any(close, reopen, escalate, summon):action>", methods=["POST"])
@login_required
def whistle_action(whistle_id: int, action: str):
    whistle = get_or_404(Whistle, whistle_id, "whistle.view")
    reason = request.form.get("reason")
    target = whistle
    if action == "close":
        services.close(whistle, current_user)
        message = _("The whistle is closed as solved.")
    elif action == "reopen":
        services.reopen(whistle, current_user, reason)
        message = _("The whistle is open again; the departments that handled it act again.")
    elif action == "escalate":
        target = services.escalate(whistle, current_user, reason)
        message = _("The whistle was blown one tier up, to %(area)s.", area=target.area.name)
    else:
        services.summon(whistle, current_user, request.form.getlist("departments"))
        message = _("The departments have been summoned.")
    db.session.commit()
    flash(message, "success")
    return see_other(url_for("whistles.show", whistle_id=whistle.id), CHANGED)


# ---------------------------------------------------------------- the department's side and the summons


@bp.route("/whistles/queue")
@login_required
def queue():
    if not pages.is_department_officer(current_user):
        abort(404)
    form = FilterForm(request.args)
    names = {
        "active": _("To act on"),
        "overdue": _("Overdue"),
        "done": _("Handled"),
        "declined": _("Declined"),
        "all": _("all"),
    }
    form.status.choices = list(names.items())
    status = form.status.data if form.status.data in pages.QUEUE_FILTERS else "active"
    page = db.paginate(pages.queue(current_user, status), per_page=30, error_out=False)
    return render(
        "whistles/queue.html",
        form=form,
        current=status,
        names=names,
        counts=pages.queue_counts(current_user),
        page=page,
        in_queue=True,
        **_summons_context(),
    )


SUMMONS_ACTIONS = "sign, contact, progress, handle, decline, extend, rate, approve, refuse"


@bp.route(f"/whistles/summons/<int:summons_id>/<any({SUMMONS_ACTIONS}):action>", methods=["POST"])
@login_required
def summons_action(summons_id: int, action: str):
    summons = get_or_404(Summons, summons_id, "summons.view")
    if not (wants_fragment() and request.form.get("from") == "queue"):
        # A refusal goes to errors.py: flashed on the page the form came from (422 for an htmx fragment).
        flash(_step(summons, action, request.form), "success")
        db.session.commit()
        return see_other(back_path(url_for("whistles.show", whistle_id=summons.whistle_id)), CHANGED)
    with refused() as refusal:
        message = _step(summons, action, request.form)
        db.session.commit()
    if refusal:
        db.session.refresh(summons)  # rolled back: as it is now
    response = make_response(
        render_template(
            "whistles/_summons.html",
            summons=summons,
            in_queue=True,
            error=refusal.message,
            done=None if refusal else message,
            **_summons_context(),
        ),
        422 if refusal else 200,
    )
    return response if refusal else trigger(response, CHANGED)


def _step(summons: Summons, action: str, form) -> str:
    """Carry out one step on ``summons``; the message to show when it went through."""
    user = current_user
    if action == "sign":
        services.sign(summons, user)
        return _("Signed for.")
    if action == "contact":
        services.record_contact(summons, user, form.get("note", ""))
        return _("Contact recorded.")
    if action == "progress":
        services.record_progress(summons, user, form.get("text", ""), request.files.getlist("photos"))
        return _("Progress recorded.")
    if action == "handle":
        services.handle(summons, user, form.get("result", ""))
        return _("Marked handled; the blower will rate it.")
    if action == "decline":
        services.decline(summons, user, form.get("reason"))
        return _("Declined; the blower will summon the right department.")
    if action == "extend":
        services.request_extension(summons, user, form.get("working_days"), form.get("reason"))
        return _("Extension requested; the blower will decide.")
    if action == "rate":
        services.rate(summons, user, form.get("rating", ""), form.get("comment", ""))
        return _("Rating saved.")
    if summons.extension is None:
        abort(404)
    if action == "approve":
        services.approve_extension(summons.extension, user)
        return _("Extension approved: the handling deadline moved.")
    services.refuse_extension(summons.extension, user, form.get("reason"))
    return _("Extension refused.")


# ---------------------------------------------------------------- the deadline rules


@bp.route("/whistles/rules", methods=["GET", "POST"])
@login_required
def rules():
    """时限规则: the city's organization department sets each tier's deadlines, one row at a time."""
    if not can(current_user, "deadline.manage"):
        abort(404)
    posted = RuleForm() if request.method == "POST" else None
    if posted is not None and posted.validate_on_submit():
        with refused(posted):
            deadlines.set_rule(
                posted.tier.data,
                posted.urgency.data,
                deadlines.Limits(
                    _whole(posted.sign_minutes.data), _whole(posted.contact_hours.data), _whole(posted.handle_days.data)
                ),
                current_user,
            )
            db.session.commit()
            flash(_("The deadlines were saved; they apply to whistles blown from now on."), "success")
            return see_other(url_for("whistles.rules"))
    rows = []
    for tier in TIERS:
        for urgency in deadlines.DEFAULTS:
            if posted is not None and (posted.tier.data, posted.urgency.data) == (tier, urgency):
                rows.append(posted)
                continue
            limits = deadlines.limits_for(tier, urgency)
            rows.append(RuleForm(formdata=None, tier=tier, urgency=urgency, **limits.__dict__))
    stray = posted if posted is not None and not any(row is posted for row in rows) else None  # an unknown tier
    status = 422 if posted is not None else 200
    return render("whistles/rules.html", status=status, rows=rows, stray=stray, ranges=deadlines.RANGES)


def _whole(raw: str | None) -> int | None:
    """A whole number typed in a box, or None (refused by set_rule with the range)."""
    text = (raw or "").strip()
    return int(text) if text.isdigit() and len(text) <= 6 else None


# ---------------------------------------------------------------- the category list


@bp.route("/whistles/categories", methods=["GET", "POST"])
@login_required
def categories():
    """问题类别: the city's organization department adds, renames, takes off and puts back categories."""
    if not can(current_user, "category.manage"):
        abort(404)
    error = None
    if request.method == "POST":
        category = None
        if request.form.get("id"):
            category = db.session.get(WhistleCategory, parse_id(request.form.get("id")) or 0)
            if category is None:
                abort(404)
        with refused() as refusal:
            action = request.form.get("action")
            if action in ("off", "on") and category is not None:
                services.set_category_active(current_user, category, action == "on")
            else:
                services.save_category(current_user, request.form.get("name"), category)
            db.session.commit()
            flash(_("The category list was saved."), "success")
            return see_other(url_for("whistles.categories"))
        error = refusal.message
    services.ensure_default_categories()
    db.session.commit()
    rows = db.session.scalars(select(WhistleCategory).order_by(WhistleCategory.sort_order, WhistleCategory.id))
    return render("whistles/categories.html", status=422 if error else 200, rows=list(rows), error=error)
