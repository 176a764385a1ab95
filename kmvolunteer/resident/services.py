"""居民点单: the rules of residents' requests. Leaving one (public), checking its status (public), and the
community secretary's triage into an answer, a need, a whistle, or spam.

This package sits above the three lists (reportin) and 吹哨报到 (whistles): triage calls their services to
publish a need or blow a whistle, and links the request to it. Nothing below imports this package.

Anti-abuse on the public form, in order: a small body (views: RESIDENT_FORM_MAX_BYTES, else 413); CSRF (as
every form); a try taken on the client address's counter in the login throttle's table (auth/throttle.py:
RESIDENT_REQUESTS_FREE pass, then growing waits, 429), before anything else is looked at, so failed
challenges count too; the challenge — a honeypot field a person never sees, and a signed form token that
must be between RESIDENT_FORM_MIN_SECONDS and RESIDENT_FORM_MAX_SECONDS old (a script that posts at once,
or replays an old token, is refused; no outside CAPTCHA service, and nothing for an elderly resident to
solve); then the texts: length limits, no links, no HTML tags, no direction-changing characters.
Everything is stored as plain text and escaped on output.

The public URL is the community's id: which communities exist is public knowledge, the page shows only the
community's name, and the rate limit is per client across every community, so walking the ids gains a
spammer nothing a random slug would deny them. Status codes are random (8 characters from 31, about 40
bits) and every wrong one counts against the client: guessing one is out of reach.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from kmvolunteer.auth import throttle
from kmvolunteer.auth.models import User
from kmvolunteer.auth.policy import can
from kmvolunteer.core import audit
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.text import is_mobile, mask_mobiles, normalize_phone
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area
from kmvolunteer.reportin import services as lists
from kmvolunteer.resident.models import REQUESTS, RequestStatus, ResidentRequest
from kmvolunteer.service import services as service
from kmvolunteer.whistles import services as whistles

WHAT_MAX = 500
PLACE_MAX = 100
REPLY_MAX = 1000
# Status codes: no 0/O, 1/I/L, which a resident copying the code from paper would confuse.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_RE = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
TOKEN_SALT = "resident-request-form"

# A link in any spelling a spammer uses: a scheme, www., or a name under a common top-level domain
# (checked after NFKC, so full-width ｗｗｗ．ｘｘ．ｃｏｍ is caught too).
LINK_RE = re.compile(
    r"[a-z][a-z0-9+.\-]*://|\bwww\.|\b(?:javascript|data|vbscript)\s*:"
    r"|\b[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.(?:com|cn|net|org|info|top|xyz|cc|io|me|vip|shop|site|online|club|link|"
    r"ly|tk|ru|biz|co|app|mobi|asia|tv|pw|ink|fun|icu|work|wang)\b",
    re.IGNORECASE,
)
TAG_RE = re.compile(r"<\s*[a-z!/?]", re.IGNORECASE)
BIDI_RE = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


# --------------------------------------------------------------------------- the public form


def form_token(community: Area) -> str:
    """The signed token the public form carries: which community, and (signed in) when it was shown."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT).dumps(community.id)


def check_challenge(community: Area, token: str, trap: str) -> None:
    """The form was shown for this community a person's while ago, and the field people never see is empty."""
    config = current_app.config
    refused = ServiceError(_("The form could not be accepted. Reload the page, fill it in again and send it."), "what")
    if trap:
        raise refused
    serializer = URLSafeTimedSerializer(config["SECRET_KEY"], salt=TOKEN_SALT)
    try:
        community_id, signed_at = serializer.loads(
            token or "", max_age=config["RESIDENT_FORM_MAX_SECONDS"], return_timestamp=True
        )
    except SignatureExpired:
        raise ServiceError(
            _("The form was open too long and has expired. Reload the page and send it again."), "what"
        ) from None
    except BadSignature:
        raise refused from None
    if community_id != community.id:
        raise refused
    if (utcnow() - signed_at.replace(tzinfo=None)).total_seconds() < config["RESIDENT_FORM_MIN_SECONDS"]:
        raise ServiceError(_("That was very quick. Check what you wrote, then send the form again."), "what")


def _plain(raw: str | None, field: str, limit: int, missing: str | None) -> str:
    """Plain text of at most ``limit`` characters: no links, no HTML tags, no direction-changing characters."""
    text = (raw or "").strip()
    if not text:
        if missing:
            raise ServiceError(missing, field)
        return ""
    if len(text) > limit:
        raise ServiceError(_("Keep it under %(limit)d characters.", limit=limit), field)
    folded = unicodedata.normalize("NFKC", text)
    if LINK_RE.search(folded):
        raise ServiceError(_("Links and web addresses cannot be sent. Describe it in words."), field)
    if TAG_RE.search(folded):
        raise ServiceError(_("Write plain text: the signs < and > cannot stand before letters."), field)
    if BIDI_RE.search(text):
        raise ServiceError(_("The text contains invisible direction marks. Type it again."), field)
    return text


def submit_throttle(address: str) -> throttle.Reservation:
    """Take a try on the client's counter of requests sent (committed at once); ``wait`` set when refused."""
    config = current_app.config
    counter = throttle.Counter(
        "resident:" + throttle.address_key(address),
        config["RESIDENT_REQUESTS_FREE"],
        config["RESIDENT_REQUEST_DELAY_SECONDS"],
        config["RESIDENT_REQUEST_MAX_DELAY_SECONDS"],
    )
    return throttle.take([counter])


@dataclass
class RequestData:
    what: str
    place: str
    phone: str


def submit(community: Area, data: RequestData) -> ResidentRequest:
    """Record a resident's request at ``community`` (after check_challenge), with a new status code."""
    if community is None or community.level != "community" or not community.active:
        raise ServiceError(_("This community does not take requests here."))
    what = _plain(data.what, "what", WHAT_MAX, _("Say what you would like the community to do."))
    place = _plain(data.place, "place", PLACE_MAX, _("Say where: the estate, building or street."))
    phone = normalize_phone(data.phone or "")
    if phone and not is_mobile(phone):
        raise ServiceError(_("Enter a mobile number of 11 digits, or leave it empty."), "phone")
    req = ResidentRequest(
        community_id=community.id, code=_new_code(), what=what, place=place, phone=phone, created_at=utcnow()
    )
    db.session.add(req)
    db.session.flush()
    audit.record(
        "resident_request.received",
        req,
        scope_path=community.path,
        summary=what[:80],
        after={"place": place, "phone": phone},
        actor_id=None,
    )
    REQUESTS.created(req, actor_id=None)
    return req


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if db.session.scalar(select(ResidentRequest.id).where(ResidentRequest.code == code)) is None:
            return code


# --------------------------------------------------------------------------- the public status page


def normalize_code(raw: str | None) -> str:
    """A code as residents type it (lower case, spaces, a dash) in the form it is stored."""
    return re.sub(r"[\s\-]", "", raw or "").upper()[: CODE_LENGTH + 8]


def look_up(code: str, address: str) -> tuple[ResidentRequest | None, int | None]:
    """The request with this status code, or None; and the seconds to wait when the client has tried too
    many wrong codes (then nothing is looked up). A right code does not count against the client."""
    config = current_app.config
    counter = throttle.Counter("resident-code:" + throttle.address_key(address), config["RESIDENT_WRONG_CODES_FREE"])
    reservation = throttle.take([counter])
    if reservation.wait is not None:
        return None, reservation.wait
    found = None
    if CODE_RE.fullmatch(code):
        found = db.session.scalar(select(ResidentRequest).where(ResidentRequest.code == code))
    if found is not None:
        throttle.give_back(reservation)
        db.session.commit()
    return found, None


# --------------------------------------------------------------------------- the secretary's triage


def _decided(actor: User, reply: str) -> dict[str, Any]:
    return {"reply": reply, "decided_at": utcnow(), "decided_by_id": actor.id}


def _reply(raw: str | None, missing: str | None) -> str:
    text = (raw or "").strip()
    if not text and missing:
        raise ServiceError(missing, "reply")
    if len(text) > REPLY_MAX:
        raise ServiceError(_("Keep it under %(limit)d characters.", limit=REPLY_MAX), "reply")
    return text


def _perform(req: ResidentRequest, action: str, actor: User, values: dict[str, Any], **kw: Any) -> None:
    REQUESTS.perform(
        req,
        action,
        actor_id=actor.id,
        scope_path=req.community.path,
        summary=mask_mobiles(req.what[:80]),
        values=values,
        **kw,
    )


def _require_triage(req: ResidentRequest, actor: User) -> None:
    if not can(actor, "resident_request.triage", req):
        raise ServiceError(_("Only the community's secretaries triage its residents' requests."))
    if req.status != RequestStatus.received.value:
        raise ServiceError(
            _("This request is already %(state)s; nothing was changed.", state=REQUESTS.label(req.status))
        )


def answer(req: ResidentRequest, actor: User, reply: str) -> None:
    """Answer the resident (the reply is public on the status page)."""
    text = _reply(reply, _("Write the answer the resident will read."))
    _perform(req, "answer", actor, _decided(actor, text), after={"reply": text})


@dataclass(frozen=True)
class Progress:
    """How far what the request became has come, for the resident's status page: counts, dates and the
    state of a whistle only (no name of a volunteer or of a staff member)."""

    claimed: int = 0  # places on the need taken
    headcount: int = 0
    served: int = 0  # approved entries of service given on the need
    last_served: date | None = None
    whistle_status: str = ""


def progress(req: ResidentRequest) -> Progress:
    if req.need is not None:
        count, last = service.served(req.need)
        return Progress(req.need.claimed, req.need.headcount, count, last)
    if req.whistle is not None:
        return Progress(whistle_status=req.whistle.status)
    return Progress()


def need_draft(req: ResidentRequest) -> dict[str, Any]:
    """What a need made from the request starts with: the resident's words and place, with any mobile number
    in them masked (needs are read by every member of the community; the phone stays with the request)."""
    what = mask_mobiles(req.what)
    return {"title": what.splitlines()[0][:100], "description": what, "place": mask_mobiles(req.place)}


def to_need(req: ResidentRequest, actor: User, data: lists.NeedData, reply: str = "") -> Any:
    """Publish a need on the three lists from the request, and link the two."""
    _require_triage(req, actor)
    text = _reply(reply, None)
    need = lists.publish_need(req.community, data, actor_id=actor.id)
    _perform(req, "to_need", actor, {**_decided(actor, text), "need_id": need.id}, after={"need": need.id})
    return need


def to_whistle(
    req: ResidentRequest, actor: User, data: whistles.WhistleData, department_ids: Iterable[Any], reply: str = ""
) -> Any:
    """Blow a whistle on the request (the departments of the tier above are summoned), and link the two."""
    _require_triage(req, actor)
    text = _reply(reply, None)
    whistle = whistles.blow(req.community, actor, data, department_ids)
    values = {**_decided(actor, text), "whistle_id": whistle.id}
    _perform(req, "to_whistle", actor, values, after={"whistle": whistle.serial})
    return whistle


def reject(req: ResidentRequest, actor: User, reason: str) -> None:
    """Close the request as spam or abuse; the reason is kept for the log, the resident sees "not taken up"."""
    _perform(req, "reject", actor, {"decided_at": utcnow(), "decided_by_id": actor.id}, reason=reason)


# --------------------------------------------------------------------------- lists


def inbox(community: Area, status: str | None):
    """The community's requests, newest first; ``status`` None lists every one."""
    stmt = select(ResidentRequest).where(ResidentRequest.community_id == community.id)
    if status is not None:
        stmt = stmt.where(ResidentRequest.status == status)
    return stmt.order_by(ResidentRequest.created_at.desc(), ResidentRequest.id.desc())


def received_counts(communities: Iterable[Area]) -> dict[int, int]:
    """Requests waiting for triage, per community id."""
    ids = [c.id for c in communities]
    if not ids:
        return {}
    rows = db.session.execute(
        select(ResidentRequest.community_id, func.count())
        .where(ResidentRequest.community_id.in_(ids), ResidentRequest.status == RequestStatus.received.value)
        .group_by(ResidentRequest.community_id)
    ).all()
    return {community_id: count for community_id, count in rows}
