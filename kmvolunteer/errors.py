"""Error pages people can read, as full pages or as fragments for htmx."""
from __future__ import annotations

import logging

from flask import Flask, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from kmvolunteer.core.htmx import wants_fragment

log = logging.getLogger("kmvolunteer.errors")

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    403: (_l("Not allowed"), _l("Your account is not allowed to do this.")),
    404: (_l("Page not found"), _l("This page does not exist, or it is not within your scope.")),
    405: (_l("Not allowed"), _l("This address does not accept that kind of request.")),
    413: (_l("File too large"), _l("The upload is larger than the site accepts.")),
    429: (_l("Too many requests"), _l("Too many attempts. Wait a few minutes and try again.")),
    500: (_l("Something went wrong"), _l("The site hit an error. Nothing was saved. Please try again.")),
}


def _render(status: int, detail: str | None = None):  # noqa: ANN202
    title, text = MESSAGES.get(status, MESSAGES[500])
    template = "errors/_error.html" if wants_fragment() else "errors/error.html"
    context = {
        "status": status,
        "title": title,
        "text": detail or text,
        "request_id": getattr(g, "request_id", ""),
    }
    return render_template(template, **context), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):  # noqa: ANN202
        log.info("CSRF refused: %s", error.description)
        return _render(400, str(_l("The form had expired or was sent from elsewhere. Reload the page and try again.")))

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):  # noqa: ANN202
        if error.code in MESSAGES:
            custom = error.description if error.description != type(error).description else None
            return _render(error.code, custom)
        return error

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):  # noqa: ANN202
        if isinstance(error, HTTPException):
            return _http(error)
        log.exception("unhandled error, request id %s, %s %s", getattr(g, "request_id", "-"),
                      request.method, request.path)
        from kmvolunteer.extensions import db

        db.session.rollback()
        return _render(InternalServerError.code)
