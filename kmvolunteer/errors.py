"""Error pages people can read, as full pages or as fragments for htmx."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, flash, g, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, InternalServerError

from kmvolunteer.core import submissions
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.htmx import back_path, is_htmx, see_other, wants_fragment
from kmvolunteer.core.problems import is_api_request, problem
from kmvolunteer.extensions import login_manager

log = logging.getLogger("kmvolunteer.errors")

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Not allowed"), _l("Your account is not allowed to do this.")),
    404: (_l("Page not found"), _l("This page does not exist, or it is not within your scope.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    413: (_l("File too large"), _l("The upload is larger than the site accepts.")),
    422: (_l("Not possible"), _l("This cannot be done.")),
    429: (_l("Too many requests"), _l("Too many attempts. Wait a few minutes and try again.")),
    500: (_l("Something went wrong"), _l("The site hit an error. Nothing was saved. Please try again.")),
}

RETRY_AFTER_SECONDS = 5
# SQLite's words for "busy, read-only or unreachable", as opposed to a bug such as "no such table".
SQLITE_UNAVAILABLE = ("locked", "busy", "readonly", "unable to open", "disk i/o")


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database is down, busy or read-only (worth a retry) rather than a bug."""
    if isinstance(error, (DisconnectionError, PoolTimeout)):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    if type(error.orig).__module__.startswith("sqlite3"):
        return any(word in str(error.orig).lower() for word in SQLITE_UNAVAILABLE)
    return True  # psycopg: connection refused or lost, server shutting down, lock or statement timeout


def _unavailable():
    """503 with Retry-After, rendered without touching the database (not even for the signed-in user).

    htmx requests (boosted ones too) get only a message swapped out of band into base.html's alert region,
    so a form keeps what was typed; without JavaScript the page says to go back and send it again.
    """
    if is_api_request():
        return problem(503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    g._login_user = login_manager.anonymous_user()  # templates and the locale must not load the user
    template = "errors/_unavailable.html" if is_htmx() else "errors/unavailable.html"
    response = render_template(template, saving=request.method == "POST", request_id=getattr(g, "request_id", ""))
    return response, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _render(status: int, detail: str | None = None):
    title, text = MESSAGES.get(status, MESSAGES[500])
    template = "errors/_error.html" if wants_fragment() else "errors/error.html"
    context = {
        "status": status,
        "title": title,
        "text": detail or text,
        "request_id": getattr(g, "request_id", ""),
    }
    return render_template(template, **context), status


def _needing_no_database(handler: Callable[[Exception], Any]) -> Callable[[Exception], Any]:
    """An error page shows the signed-in user's menu and language: with the database down, the 503 instead."""

    @functools.wraps(handler)
    def handle(error: Exception) -> Any:
        try:
            return handler(error)
        except Exception as failure:
            if not database_unavailable(failure):
                raise
            _rollback()
            return _unavailable()

    return handle


def _rollback() -> None:
    from kmvolunteer.extensions import db

    try:
        db.session.rollback()
    except SQLAlchemyError:  # the connection may be gone with the database
        log.warning("rollback failed, request id %s", getattr(g, "request_id", "-"), exc_info=True)


def _flat(messages: dict) -> dict:
    """webargs' messages by location ({"json": {"hours": [...]}}) as one field → messages map."""
    flat: dict = {}
    for location in messages.values():
        flat.update(location if isinstance(location, dict) else {"_": location})
    return flat


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    @_needing_no_database
    def _csrf(error: CSRFError):
        log.info("CSRF refused: %s", error.description)
        return _render(400, str(_l("The form had expired or was sent from elsewhere. Reload the page and try again.")))

    @app.errorhandler(ServiceError)
    @_needing_no_database
    def _refused(error: ServiceError):
        if is_api_request():
            _rollback()
            errors = {error.field: [error.message]} if error.field else {}
            return problem(422, error.message, **({"errors": errors} if errors else {}))
        """A refused change that the view does not show itself (core/refusals.py): nothing is saved; an htmx
        fragment request gets the message in base.html's alert region (the part it targets stays as it
        was), a form's POST gets it flashed on the page it came from, a page (GET) an error page: sent
        back to where it came from, a page reloaded would come back to itself."""
        _rollback()
        if wants_fragment():
            return render_template("errors/_refused.html", message=error.message), 422
        if request.method in ("GET", "HEAD"):
            return _render(422, error.message)
        flash(error.message, "error")
        return see_other(back_path(url_for("home.index")))

    @app.errorhandler(HTTPException)
    @_needing_no_database
    def _http(error: HTTPException):
        if is_api_request() and error.code:
            data = getattr(error, "data", None) or {}  # flask_smorest.abort's message, headers, messages
            custom = data.get("message") or (error.description if error.description != type(error).description else "")
            headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
            headers.update(data.get("headers") or {})
            messages = data.get("messages")  # what webargs refused, by location and field
            extra = {"errors": _flat(messages)} if messages else {}
            return problem(error.code, custom, headers=headers, **extra)
        if error.code in MESSAGES:
            custom = error.description if error.description != type(error).description else None
            return _render(error.code, custom)
        return error

    @app.errorhandler(Exception)
    @_needing_no_database
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return _http(error)
        _rollback()
        repeat = submissions.answer_repeat()  # a twin request saved the same form first
        if repeat is not None:
            return repeat
        if database_unavailable(error):
            log.warning(
                "database unavailable, request id %s, %s %s: %s",
                getattr(g, "request_id", "-"),
                request.method,
                request.path,
                error,
            )
            return _unavailable()
        log.exception(
            "unhandled error, request id %s, %s %s", getattr(g, "request_id", "-"), request.method, request.path
        )
        if is_api_request():
            return problem(InternalServerError.code, request_id=getattr(g, "request_id", ""))
        return _render(InternalServerError.code)
