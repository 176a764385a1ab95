"""现场签到 pages: the organizer opens a session on a need, shows the code of the minute (QR and digits), keeps
the live sheet and closes it into approved records; a member signs in and out with the code; the A4 posters
of a session's sign-in and of a community's report-in."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from kmvolunteer.auth import throttle
from kmvolunteer.auth.policy import can, get_or_404
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.htmx import render, see_other
from kmvolunteer.core.posters import public_address, qr_svg
from kmvolunteer.core.refusals import refused
from kmvolunteer.core.text import format_hours
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.onsite import home as _home  # noqa: F401  (registers the home-page section)
from kmvolunteer.onsite import services
from kmvolunteer.onsite.forms import AddForm, CancelForm, CloseForm, CodeForm, CorrectForm, OpenForm
from kmvolunteer.onsite.models import SESSIONS, ActivitySession, Attendance
from kmvolunteer.org.models import Area, Member
from kmvolunteer.reportin.models import Need
from kmvolunteer.service.services import STATUS_LABELS

bp = Blueprint("onsite", __name__)

CHANGED = "onsite-changed"


def _need(need_id: int) -> Need:
    return get_or_404(Need, need_id, "onsite.run")


def _session(session_id: int, action: str = "onsite.run") -> ActivitySession:
    return get_or_404(ActivitySession, session_id, action)


# --------------------------------------------------------------------------- the organizer


@bp.route("/needs/<int:need_id>/onsite", methods=["GET", "POST"])
@login_required
def need_sessions(need_id: int):
    """A need's sign-in sessions, and the form that opens one."""
    need = _need(need_id)
    form = OpenForm()
    if request.method == "GET" and need.start_time and need.end_time:
        form.start_time.data = form.start_time.data or need.start_time
        form.end_time.data = form.end_time.data or need.end_time
    status = 200
    if request.method == "POST":
        if form.validate():
            with refused(form):
                session = services.open_session(
                    need,
                    current_user,
                    form.day.data,
                    form.start_time.data,
                    form.end_time.data,
                    form.capacity.data,
                )
                db.session.commit()
                flash(_("The sign-in session is open: show this screen to the members."), "success")
                return see_other(url_for("onsite.run", session_id=session.id))
        status = 422
    return render(
        "onsite/need.html",
        need=need,
        sessions=services.sessions_of(need),
        form=form,
        labels=SESSIONS.label,
        status=status,
    )


def _code_context(session: ActivitySession) -> dict:
    code, seconds = services.current_code(session)
    address = public_address("onsite.sign", session_id=session.id, code=code)
    return {
        "code": code,
        "seconds": seconds,
        "address": address,
        "typed_address": public_address("onsite.sign_any"),
        "qr": qr_svg(address, session.need.title, scale=6),
    }


def _sheet_context(session: ActivitySession, **forms) -> dict:
    rows = services.sheet(session)
    now = utcnow()
    add_form = forms.pop("add_form", None) or AddForm(formdata=None)
    return {
        "session": session,
        "rows": rows,
        "hours": {a.id: services.hours_of(session, a, now) for a in rows},
        "local_time": services.local_time,
        "addable": services.addable(session) if session.status == "open" else [],
        "add_form": add_form,
        "close_form": forms.pop("close_form", None) or CloseForm(formdata=None),
        "cancel_form": forms.pop("cancel_form", None) or CancelForm(formdata=None),
        "labels": SESSIONS.label,
        "record_labels": STATUS_LABELS,
        "fmt": format_hours,
        "error": forms.pop("error", None),
    }


@bp.route("/onsite/<int:session_id>")
@login_required
def run(session_id: int):
    """The organizer's page: the code of the minute and the live sheet (its fragment, polled by htmx)."""
    session = _session(session_id)
    return _run_page(session)


def _run_page(session: ActivitySession, status: int = 200, **forms):
    context = _sheet_context(session, **forms)
    if session.status == "open":
        context.update(_code_context(session))
    return render("onsite/run.html", "onsite/_sheet.html", status=status, **context)


@bp.route("/onsite/<int:session_id>/code")
@login_required
def code(session_id: int):
    """The code of the minute: its fragment (polled on the organizer's page), or a page of its own for a
    projector or a second screen."""
    session = _session(session_id)
    if session.status != "open":
        return see_other(url_for("onsite.run", session_id=session.id))
    return render("onsite/code.html", "onsite/_code.html", session=session, **_code_context(session))


@bp.route("/onsite/<int:session_id>/add", methods=["POST"])
@login_required
def add(session_id: int):
    session = _session(session_id)
    form = AddForm()
    with refused(form) as refusal:
        if form.validate():
            member = db.session.get(Member, form.member_id.data)
            if member is None:
                abort(404)
            services.add_member(session, current_user, member)
            db.session.commit()
            flash(_("%(name)s is on the sheet.", name=member.name), "success")
            return see_other(url_for("onsite.run", session_id=session.id), CHANGED)
    return _run_page(session, 422, add_form=form, error=refusal.message)


@bp.route("/onsite/attendance/<int:attendance_id>/correct", methods=["GET", "POST"])
@login_required
def correct(attendance_id: int):
    """Correct a member's times, with a reason (kept in the audit log)."""
    attendance = db.session.get(Attendance, attendance_id)
    if attendance is None or not can(current_user, "onsite.run", attendance.session):
        abort(404)
    session = attendance.session
    if request.method == "POST":
        form = CorrectForm()
    else:
        form = CorrectForm(
            formdata=None,
            signed_in=services.local_time(attendance.signed_in_at),
            signed_out=services.local_time(attendance.signed_out_at),
        )
    status = 200
    if request.method == "POST":
        status = 422
        with refused(form):
            if form.validate():
                services.correct(attendance, current_user, form.signed_in.data, form.signed_out.data, form.reason.data)
                db.session.commit()
                flash(_("The times of %(name)s are corrected.", name=attendance.member.name), "success")
                return see_other(url_for("onsite.run", session_id=session.id), CHANGED)
    return render("onsite/correct.html", session=session, attendance=attendance, form=form, status=status)


@bp.route("/onsite/<int:session_id>/close", methods=["POST"])
@login_required
def close(session_id: int):
    session = _session(session_id)
    form = CloseForm()
    with refused(form) as refusal:
        if form.validate():
            result = services.close(session, current_user, form.late_reason.data or "")
            db.session.commit()
            flash(
                ngettext(
                    "Closed: %(num)d approved record, recorded on site.",
                    "Closed: %(num)d approved records, recorded on site.",
                    len(result.created),
                ),
                "success",
            )
            for attendance in result.skipped:
                flash(_("No record for %(who)s — %(why)s", who=attendance.member.name, why=attendance.note), "warning")
            return see_other(url_for("onsite.run", session_id=session.id), CHANGED, "records-changed")
    return _run_page(session, 422, close_form=form, error=refusal.message)


@bp.route("/onsite/<int:session_id>/cancel", methods=["POST"])
@login_required
def cancel(session_id: int):
    session = _session(session_id)
    form = CancelForm()
    with refused(form) as refusal:
        if form.validate():
            services.cancel(session, current_user, form.reason.data)
            db.session.commit()
            flash(_("The session is cancelled; no records were made."), "success")
            return see_other(url_for("onsite.run", session_id=session.id), CHANGED)
    return _run_page(session, 422, cancel_form=form, error=refusal.message)


# --------------------------------------------------------------------------- the member


def _member() -> Member:
    if not can(current_user, "onsite.sign"):
        abort(404)
    return current_user.member


def _attempt(session: ActivitySession | None, code: str) -> tuple[ActivitySession, str]:
    """Sign in, or out when already in, with a typed or scanned code (without a session: the open session of
    the member's community the code belongs to). Wrong codes count against the member, throttled like the
    login. Returns the session and the message to flash; ServiceError when refused."""
    reservation = services.code_tries(current_user)
    if reservation.wait is not None:
        raise services.TooManyCodes(reservation.wait)
    try:
        session = session or services.session_for_code(current_user.member, code)
        if session is None:
            raise services.no_session_error()
        way, attendance = services.scan(session, current_user, code)
    except ServiceError as exc:
        db.session.rollback()
        if exc.field != "code":  # a right code, refused for another reason: it does not count
            throttle.give_back(reservation)
            db.session.commit()
        raise
    throttle.give_back(reservation)
    if way == "in":
        return session, _(
            "Signed in at %(time)s. Sign out here when you leave.", time=services.hhmm(attendance.signed_in_at)
        )
    return session, _("Signed out at %(time)s.", time=services.hhmm(attendance.signed_out_at))


@bp.route("/onsite/<int:session_id>/sign", methods=["GET", "POST"])
@login_required
def sign(session_id: int):
    """Where the QR code leads (with the code) and the poster (without): the member confirms with a POST,
    typing the code when it is not in the address."""
    _member()
    session = db.session.get(ActivitySession, session_id)
    if session is None:
        abort(404)
    return _sign_page(session)


@bp.route("/onsite/sign", methods=["GET", "POST"])
@login_required
def sign_any():
    """The member types the code alone: it finds the open session of their community it belongs to; the page
    lists those open now."""
    _member()
    return _sign_page(None)


def _sign_page(session: ActivitySession | None):
    member = current_user.member
    form = CodeForm() if request.method == "POST" else CodeForm(formdata=None, code=request.args.get("code", "")[:20])
    status = 200
    if request.method == "POST":
        status = 422
        with refused(form) as refusal:
            if form.validate():
                signed, message = _attempt(session, form.code.data or "")
                db.session.commit()
                flash(message, "success")
                return see_other(url_for("onsite.mine", session_id=signed.id), CHANGED)
        if isinstance(refusal.error, services.TooManyCodes):
            status = 429
    sessions = services.open_sessions_for(member) if session is None else []
    return render(
        "onsite/sign.html",
        session=session,
        attendance=services.attendance_of(session, member) if session is not None else None,
        form=form,
        scanned=session is not None and bool(request.args.get("code")),
        sessions=sessions,
        mine={s.id: services.attendance_of(s, member) for s in sessions},
        status=status,
    )


@bp.route("/onsite/<int:session_id>/me")
@login_required
def mine(session_id: int):
    """The member's own page of the session: when they came and left, the 签退 button, and the record."""
    member = _member()
    session = db.session.get(ActivitySession, session_id)
    if session is None:
        abort(404)
    attendance = services.attendance_of(session, member)
    if attendance is None:
        return see_other(url_for("onsite.sign", session_id=session.id))
    return render(
        "onsite/mine.html",
        session=session,
        attendance=attendance,
        half_hours=services.hours_of(session, attendance),
        labels=SESSIONS.label,
        record_labels=STATUS_LABELS,
        fmt=format_hours,
    )


@bp.route("/onsite/<int:session_id>/sign-out", methods=["POST"])
@login_required
def sign_out(session_id: int):
    _member()
    session = db.session.get(ActivitySession, session_id)
    if session is None:
        abort(404)
    attendance = services.sign_out(session, current_user)
    db.session.commit()
    flash(_("Signed out at %(time)s.", time=services.hhmm(attendance.signed_out_at)), "success")
    return see_other(url_for("onsite.mine", session_id=session.id), CHANGED)


# --------------------------------------------------------------------------- posters


@bp.route("/onsite/<int:session_id>/poster")
@login_required
def poster(session_id: int):
    """The session's A4 poster: its QR code opens the page where the member types the code of the minute."""
    session = _session(session_id)
    address = public_address("onsite.sign", session_id=session.id)
    return render(
        "onsite/poster.html",
        session=session,
        community=session.community,
        address=address,
        qr=qr_svg(address, session.need.title),
        back=url_for("onsite.run", session_id=session.id),
    )


@bp.route("/communities/<int:community_id>/report-in/poster")
@login_required
def reportin_poster(community_id: int):
    """The community's A4 poster for members to report in: the code opens the report-in form, this
    community chosen."""
    community = get_or_404(Area, community_id, "community.manage")
    if not community.active:
        abort(404)
    subdistrict = community.parent
    address = public_address(
        "reportin.new",
        district=subdistrict.parent_id if subdistrict else None,
        subdistrict=community.parent_id,
        community=community.id,
    )
    return render(
        "onsite/reportin_poster.html",
        community=community,
        address=address,
        qr=qr_svg(address, community.name),
        back=url_for("reportin.lists", community_id=community.id),
    )
