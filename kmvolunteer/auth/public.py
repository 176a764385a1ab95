"""The public check of a printed document by its serial (a certificate, a feedback letter): no login, the
serial typed in a search box or in the address, a 404 for a serial nobody issued, never indexed.

Serials are unguessable (``core.db.unique_serial``), and every lookup of one is counted against the client's
address besides (auth/throttle.py): PUBLIC_WRONG_LOOKUPS_FREE serials that match nothing pass, then each
further lookup waits the login throttle's growing delay (429 with Retry-After); a serial that is found costs
nothing. So the check answers what one asks for and cannot be used to try serials by the thousand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, current_app, make_response, redirect, request, url_for

from kmvolunteer.auth import throttle
from kmvolunteer.core.htmx import render
from kmvolunteer.extensions import db


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
    counter = throttle.Counter(
        "lookup:" + throttle.address_key(request.remote_addr or ""), current_app.config["PUBLIC_WRONG_LOOKUPS_FREE"]
    )
    reservation = throttle.take([counter])
    if reservation.wait is not None:
        response = render(template, serial=None, waiting=True, status=429, **context(None))
        response.headers["Retry-After"] = str(reservation.wait)
        return response
    found = find(serial)
    if found is not None:
        throttle.give_back(reservation)
        db.session.commit()
    response = make_response(render(template, serial=serial, status=200 if found else 404, **context(found)))
    response.headers["X-Robots-Tag"] = "noindex"
    return response
