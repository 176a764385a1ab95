"""A4 posters with a QR code (居民点单, 现场签到, a community's report-in): the address the code carries and the
code itself as inline SVG, made here with segno (no outside service, no style attribute: the CSP holds).
Every poster renders templates/_poster.html."""

from __future__ import annotations

from typing import Any

import segno
from flask import current_app, url_for
from markupsafe import Markup


def public_address(endpoint: str, **values: Any) -> str:
    """The address people open from a phone (PUBLIC_URL), not the one the secretary happens to use (an office
    address); without PUBLIC_URL, this request's host."""
    public = current_app.config["PUBLIC_URL"].rstrip("/")
    return public + url_for(endpoint, **values) if public else url_for(endpoint, _external=True, **values)


def qr_svg(address: str, title: str, scale: int = 8) -> Markup:
    """The QR code of ``address`` as inline SVG, named ``title`` for screen readers (segno escapes it)."""
    return Markup(segno.make(address, error="m").svg_inline(scale=scale, border=2, omitsize=True, title=title))
