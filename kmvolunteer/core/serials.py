"""The public check of a printed document by its serial (a certificate, a feedback letter): no login, the
serial typed in a search box or in the address, a 404 for a serial nobody issued, never indexed.

Serials are unguessable (``core.db.unique_serial``), so the check needs no rate limit of its own: like every
public page it answers what one asks for, and there is nothing to enumerate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, make_response, redirect, request, url_for

from kmvolunteer.core.htmx import render


def check_page(
    endpoint: str,
    template: str,
    serial: str | None,
    find: Callable[[str], Any],
    context: Callable[[Any], dict[str, Any]],
) -> Response:
    """The check page of ``endpoint``: the search box alone (``?serial=`` redirects to the serial's own
    address), or what ``context`` shows of the document ``find`` gave for ``serial`` (None: 404)."""
    if serial is None:
        asked = request.args.get("serial")
        if asked:
            return redirect(url_for(endpoint, serial=asked.strip().upper()), 303)
        return render(template, serial=None, **context(None))
    found = find(serial)
    response = make_response(render(template, serial=serial, status=200 if found else 404, **context(found)))
    response.headers["X-Robots-Tag"] = "noindex"
    return response
