"""Small text helpers shared by templates and exports."""

from __future__ import annotations

import re
from datetime import date

from babel.support import NullTranslations
from flask import g
from flask_babel import get_locale, get_translations, gettext
from markupsafe import Markup

from kmvolunteer.core.errors import ServiceError

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def catalog() -> NullTranslations:
    """The translations of the request's locale, looked up once per request and locale. Flask-Babel looks
    them up again for every string (≈ 10 µs): a page of 50 rows asks for a hundred strings and more."""
    locale = get_locale()
    held = g.get("catalog")
    if held is None or held[0] is not locale:
        held = g.catalog = (locale, get_translations())
    return held[1]


def normalize_phone(raw: str) -> str:
    """Strip spaces, dashes and a +86 prefix from a mainland mobile number."""
    digits = re.sub(r"[\s\-()]", "", raw or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


def is_mobile(phone: str) -> bool:
    return bool(MOBILE_RE.match(phone))


def mask_phone(phone: str | None) -> str:
    """138****5678 — lists and exports never show the whole number."""
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


# A mainland mobile as people write it: 13812345678, 138 1234 5678, 138-1234-5678.
MOBILE_IN_TEXT_RE = re.compile(r"(?<!\d)1[3-9]\d(?:[ -]?\d){8}(?!\d)")
# A resident identity card number (身份证号): 17 digits and a digit or X.
ID_NUMBER_RE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def mask_mobiles(text: str) -> str:
    """Every mainland mobile number (however spaced) and identity card number inside ``text`` masked:
    'call 138 1234 5678' → 'call 138****5678'; '530102195501011234' → '530***********1234'."""
    if not text:
        return text
    text = ID_NUMBER_RE.sub(lambda m: m.group()[:3] + "*" * 11 + m.group()[-4:], text)
    return MOBILE_IN_TEXT_RE.sub(lambda m: mask_phone(re.sub(r"\D", "", m.group())), text)


def mask_name(name: str) -> str:
    """张*明 / 李* — for public pages."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_username(username: str) -> str:
    """Usernames that are mobile numbers are masked like phones."""
    return mask_phone(username) if is_mobile(username) else username


MAX_ID = 2**31 - 1  # the largest id any table uses; bigger numbers are nobody's id


def parse_id(raw: object) -> int | None:
    """A positive database id from user input, or None (never an overflow deeper down)."""
    text = str(raw).strip() if raw is not None else ""
    if not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


MAX_PAGE = 100_000  # 5 million rows into a list of 50: beyond any list we show


def parse_page(raw: object) -> int:
    """A page number from the query string: 1 unless it is a whole number from 1 to MAX_PAGE."""
    text = str(raw).strip() if raw is not None else ""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_PAGE)):
        return 1
    value = int(text)
    return value if 1 <= value <= MAX_PAGE else 1


def format_hours(half_hours: int | None) -> str:
    """Half-hours as people write hours, exactly: 3 → "1.5", 4 → "2"."""
    whole, half = divmod(half_hours or 0, 2)
    return f"{whole}.5" if half else str(whole)


def scroll_box(label: str | None = None) -> Markup:
    """The attributes of a box that scrolls sideways (a wide table on a phone): keyboard users can
    focus it and scroll it with the arrow keys (axe: scrollable-region-focusable), and its name says what
    it holds. ``<div {{ scroll_box() }}>``; pass a label where a page has more than one."""
    return Markup('class="table-wrap" role="region" tabindex="0" aria-label="{}"').format(
        label or gettext("Table (scrolls sideways)")
    )


def checked_text(value: str | None, field: str, limit: int, missing: str | None) -> str:
    """``value`` trimmed; a ServiceError under ``field`` when it is missing (and ``missing`` says so) or longer
    than ``limit``."""
    value = (value or "").strip()
    if not value and missing:
        raise ServiceError(missing, field)
    if len(value) > limit:
        raise ServiceError(gettext("Keep this under %(num)d characters.", num=limit), field)
    return value


def parse_day(raw: str | None) -> date | None:
    """A day written YYYY-MM-DD (between 2000 and 2100), or None for anything else."""
    try:
        day = date.fromisoformat((raw or "").strip())
    except ValueError:
        return None
    return day if 2000 <= day.year <= 2100 else None
