"""Errors of the JSON API as RFC 9457 problem details (``application/problem+json``)."""

from __future__ import annotations

from typing import Any

from flask import Response, json, request
from werkzeug.http import HTTP_STATUS_CODES

API_PREFIX = "/api/"
PROBLEM_TYPE = "about:blank"


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def problem(status: int, detail: str = "", *, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    """A problem details answer: the status, its title, a detail for the caller, and any ``extra`` members
    (``errors`` for the fields of a refused body)."""
    body = {"type": PROBLEM_TYPE, "title": HTTP_STATUS_CODES.get(status, "Error"), "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
