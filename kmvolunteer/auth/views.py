"""Login, logout, password and language."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_babel import format_datetime, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from kmvolunteer.auth import services
from kmvolunteer.auth.forms import ChangePasswordForm, LanguageForm, LoginForm
from kmvolunteer.core.htmx import render, safe_next, see_other
from kmvolunteer.core.refusals import refused
from kmvolunteer.extensions import db

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm(next=request.args.get("next", ""))
    error = None
    if form.validate_on_submit():
        result = services.authenticate(form.username.data, form.password.data, request.remote_addr or "")
        if result.wait is not None:
            response = render("auth/login.html", form=form, error=result.error, waiting=True, status=429)
            response.headers["Retry-After"] = str(result.wait)
            return response
        if result.user is not None:
            session.clear()
            login_user(result.user)
            session.permanent = True
            if result.failures:
                flash(_failures_notice(result), "warning")
            target = safe_next(form.next.data, url_for("home.index"))
            if result.user.must_change_password:
                flash(_("Please choose your own password before you go on."), "info")
                target = url_for("auth.change_password")
            return see_other(target)
        error = result.error
    status = 422 if request.method == "POST" else 200
    return render("auth/login.html", form=form, error=error, status=status)


def _failures_notice(result: services.LoginResult) -> str:
    return ngettext(
        "%(num)d failed login attempt since your last login, the last from %(address)s at %(time)s. "
        "If that was not you, change your password.",
        "%(num)d failed login attempts since your last login, the last from %(address)s at %(time)s. "
        "If that was not you, change your password.",
        result.failures,
        address=result.last_failure_ip or "?",
        time=format_datetime(result.last_failure_at, "yyyy-MM-dd HH:mm"),
    )


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        # A copy of this session's cookie must stop working too: end every session of the account.
        services.end_sessions(current_user)
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return see_other(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        with refused(form) as refusal:
            services.change_password(current_user, form.current.data, form.new.data)
            db.session.commit()
            login_user(current_user._get_current_object())  # the session id changed with the password
            flash(_("Your password has been changed."), "success")
            return see_other(url_for("home.index"))
        if isinstance(refusal.error, services.Throttled):
            response = render("auth/password.html", "auth/_password_form.html", form=form, status=429)
            response.headers["Retry-After"] = str(refusal.error.wait)
            return response
    return render("auth/password.html", "auth/_password_form.html", form=form, status=status)


@bp.route("/language", methods=["POST"])
def language():
    form = LanguageForm()
    target = safe_next(form.next.data if form.next.data else None, url_for("home.index"))
    if form.validate_on_submit() and form.locale.data in current_app.config["LANGUAGES"]:
        session["locale"] = form.locale.data
        if current_user.is_authenticated:
            services.set_locale(current_user, form.locale.data)
            db.session.commit()
    return see_other(target)


PASSWORD_EXEMPT = {"auth.change_password", "auth.logout", "auth.language", "static", "home.healthz"}


@bp.before_app_request
def _require_own_password():
    """An account with an initial password must choose its own before anything else."""
    if current_user.is_authenticated and current_user.must_change_password and request.endpoint not in PASSWORD_EXEMPT:
        return redirect(url_for("auth.change_password"))
    return None
