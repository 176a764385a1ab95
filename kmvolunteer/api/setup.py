"""Wiring the open API into the app: flask-smorest for the OpenAPI document and the arguments, Flask-Limiter
for the calls per token, no CSRF (a token, never a cookie, authenticates a call)."""

from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_smorest import Api

from kmvolunteer.api import views
from kmvolunteer.extensions import csrf


class _Api(Api):
    def _register_error_handlers(self) -> None:
        """errors.py answers every error, the API's as problem details: flask-smorest's own would replace the
        site's error pages too."""


SPEC = {
    "info": {
        "description": "The open API of kmvolunteer (昆明市双报到平台). Create a token under *API tokens*; "
        "send it as `Authorization: Bearer kmv_…`. Errors are RFC 9457 problem details.",
    },
    "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
}


def init_app(app: Flask) -> None:
    api = _Api(app, spec_kwargs=SPEC)
    api.register_blueprint(views.bp)
    csrf.exempt(views.bp)
    limiter = Limiter(key_func=views.rate_key, default_limits=[], app=app)
    limiter.limit(lambda: current_app.config["API_RATE_LIMIT"])(views.bp)
    app.extensions["kmvolunteer.api"] = api


def spec() -> dict:
    return current_app.extensions["kmvolunteer.api"].spec.to_dict()
