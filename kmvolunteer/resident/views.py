"""居民点单 pages: the public form and status page (no login), the poster with its QR code, and the community
secretary's inbox and triage."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from kmvolunteer.auth.policy import can, get_or_404
from kmvolunteer.core.htmx import render, see_other
from kmvolunteer.core.posters import public_address, qr_svg
from kmvolunteer.core.refusals import refused
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area
from kmvolunteer.org.spots import spot_choices
from kmvolunteer.reportin import services as lists
from kmvolunteer.resident import home as _home  # noqa: F401  (registers the home-page section)
from kmvolunteer.resident import services
from kmvolunteer.resident.forms import AnswerForm, NeedTriageForm, RejectForm, RequestForm, WhistleTriageForm
from kmvolunteer.resident.models import REQUESTS, RequestStatus, ResidentRequest
from kmvolunteer.whistles import pages as whistle_pages
from kmvolunteer.whistles import services as whistles

bp = Blueprint("resident", __name__)

PUBLIC_FORMS = {"resident.ask"}
INBOX_FILTERS = ("received", "all", *(s.value for s in RequestStatus if s != RequestStatus.received))


@bp.url_value_preprocessor
def _small_bodies(endpoint: str | None, values: dict | None) -> None:
    """The public form takes a few lines of text: anything larger is refused (413) before it is read. Set
    here, before any before_request function (CSRF, submission keys) reads the form: these run first."""
    if endpoint in PUBLIC_FORMS:
        request.max_content_length = current_app.config["RESIDENT_FORM_MAX_BYTES"]


def _public(response):
    """Public pages are not indexed, and never cached by a proxy (the form carries a fresh token)."""
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Cache-Control"] = "no-store"
    return response


def _community_or_404(community_id: int) -> Area:
    community = db.session.get(Area, community_id)
    if community is None or community.level != "community" or not community.active:
        abort(404)
    return community


# --------------------------------------------------------------------------- public


@bp.route("/ask/<int:community_id>", methods=["GET", "POST"])
def ask(community_id: int):
    """Public: a resident leaves a request for the community (reached from the poster's QR code)."""
    community = _community_or_404(community_id)
    form = RequestForm()
    http_status = 200
    if request.method == "POST":
        reservation = services.submit_throttle(request.remote_addr or "")
        if reservation.wait is not None:
            response = render("resident/ask.html", form=form, community=community, waiting=True, status=429)
            response.headers["Retry-After"] = str(reservation.wait)
            return _public(response)
        if form.validate():
            with refused(form):
                services.check_challenge(community, form.token.data or "", form.website.data or "")
                req = services.submit(
                    community,
                    services.RequestData(form.what.data or "", form.place.data or "", form.phone.data or ""),
                )
                db.session.commit()
                flash(_("Your request was sent. Keep the code below to check on it."), "success")
                return see_other(url_for("resident.status", code=req.code))
        http_status = 422
    form.token.data = services.form_token(community)
    form.website.data = ""
    return _public(render("resident/ask.html", form=form, community=community, waiting=False, status=http_status))


@bp.route("/ask/status", defaults={"code": None})
@bp.route("/ask/status/<code>")
def status(code: str | None):
    """Public: the status of a request by its code — the status, the date and the community's answer only.
    A wrong code is a plain 404; every wrong code counts against the client (429 after too many)."""
    if code is None:
        typed = services.normalize_code(request.args.get("code"))
        if typed:
            return redirect(url_for("resident.status", code=typed), 303)
        return _public(render("resident/status.html", req=None, code=None))
    normal = services.normalize_code(code)
    if normal != code:
        return redirect(url_for("resident.status", code=normal or None), 303)
    found, wait = services.look_up(code, request.remote_addr or "")
    if wait is not None:
        response = render("resident/status.html", req=None, code=None, waiting=True, status=429)
        response.headers["Retry-After"] = str(wait)
        return _public(response)
    return _public(
        render(
            "resident/status.html",
            req=found,
            code=code,
            labels=REQUESTS.label,
            progress=services.progress(found) if found else None,
            status=200 if found else 404,
        )
    )


# --------------------------------------------------------------------------- the community's side


@bp.route("/communities/<int:community_id>/requests")
@login_required
def inbox(community_id: int):
    community = get_or_404(Area, community_id, "resident_request.inbox")
    shown = request.args.get("status") or "received"
    if shown not in INBOX_FILTERS:
        shown = "received"
    page = db.paginate(services.inbox(community, None if shown == "all" else shown), per_page=30, error_out=False)
    return render(
        "resident/inbox.html",
        community=community,
        page=page,
        shown=shown,
        filters=INBOX_FILTERS,
        labels=REQUESTS.label,
        counts=services.received_counts([community]),
    )


@bp.route("/communities/<int:community_id>/requests/poster")
@login_required
def poster(community_id: int):
    """The A4 poster: the community's name, a few words and the QR code of its public form (SVG, made here)."""
    community = get_or_404(Area, community_id, "resident_request.poster")
    address = public_address("resident.ask", community_id=community.id)
    return render(
        "resident/poster.html",
        community=community,
        address=address,
        qr=qr_svg(address, community.name),
        back=url_for("resident.inbox", community_id=community.id),
    )


def _request(request_id: int, action: str = "resident_request.view") -> ResidentRequest:
    return get_or_404(ResidentRequest, request_id, action)


def _show(req: ResidentRequest, status: int = 200, error: str | None = None, **forms):
    """The request's page with its four triage forms (those given keep their input and errors); ``error``
    is a refusal shown on its own once there is nothing left to triage (someone else decided first)."""
    triage = req.status == RequestStatus.received.value and can(current_user, "resident_request.triage", req)
    if triage:
        forms.setdefault("answer_form", AnswerForm(formdata=None, prefix="answer"))
        forms.setdefault("reject_form", RejectForm(formdata=None, prefix="reject"))
        forms.setdefault("need_form", _need_form(req, formdata=None))
        forms.setdefault("whistle_form", _whistle_form(req, formdata=None))
    return render(
        "resident/show.html",
        req=req,
        labels=REQUESTS.label,
        triage=triage,
        error=error,
        status=status,
        **forms,
    )


def _need_form(req: ResidentRequest, **kwargs) -> NeedTriageForm:
    form = NeedTriageForm(data=services.need_draft(req), prefix="need", **kwargs)
    form.category.choices = [("", _("No category"))] + [(c.id, c.name) for c in lists.active_categories()]
    form.spot.choices = spot_choices(req.community_id)
    return form


def _whistle_form(req: ResidentRequest, **kwargs) -> WhistleTriageForm:
    draft = services.need_draft(req)
    data = {"title": draft["title"], "problem": draft["description"], "address": draft["place"]}
    form = WhistleTriageForm(data=data, prefix="whistle", **kwargs)
    categories = whistles.ensure_default_categories()
    db.session.commit()  # the starting categories, the first time a whistle is blown
    form.category_id.choices = [(c.id, c.name) for c in categories]
    form.departments.choices = [(str(d.id), d.name) for d in whistle_pages.departments_above(req.community)]
    form.spot.choices = spot_choices(req.community_id)
    return form


@bp.route("/requests/<int:request_id>")
@login_required
def show(request_id: int):
    return _show(_request(request_id))


def _answer(req: ResidentRequest, form: AnswerForm) -> str:
    services.answer(req, current_user, form.reply.data)
    flash(_("Answered: the resident reads your answer with their code."), "success")
    return url_for("resident.show", request_id=req.id)


def _to_need(req: ResidentRequest, form: NeedTriageForm) -> str:
    need = services.to_need(req, current_user, form.need_data(), form.reply.data)
    flash(_("Published as a need on the lists."), "success")
    return url_for("reportin.need", need_id=need.id)


def _to_whistle(req: ResidentRequest, form: WhistleTriageForm) -> str:
    whistle = services.to_whistle(req, current_user, form.whistle_data(), form.departments.data or [], form.reply.data)
    flash(_("Whistle %(serial)s blown: the departments have been summoned.", serial=whistle.serial), "success")
    return url_for("whistles.show", whistle_id=whistle.id)


def _reject(req: ResidentRequest, form: RejectForm) -> str:
    services.reject(req, current_user, form.reason.data)
    flash(_("Closed as spam."), "success")
    return url_for("resident.inbox", community_id=req.community_id)


# Each way to triage: its form (bound to the request's input) and what it does, giving where to go next.
TRIAGE = {
    "answer": (lambda req: AnswerForm(prefix="answer"), _answer),
    "need": (_need_form, _to_need),
    "whistle": (_whistle_form, _to_whistle),
    "reject": (lambda req: RejectForm(prefix="reject"), _reject),
}


@bp.route("/requests/<int:request_id>/<any(answer, need, whistle, reject):way>", methods=["POST"])
@login_required
def triage(request_id: int, way: str):
    req = _request(request_id, "resident_request.triage")
    make_form, act = TRIAGE[way]
    form = make_form(req)
    with refused(form) as refusal:
        if form.validate():
            location = act(req, form)
            db.session.commit()
            return see_other(location)
    return _show(req, 422, refusal.message, **{f"{way}_form": form})
