"""Making, listing, revoking and recognising API tokens.

A token is ``kmv_`` and 43 random URL-safe characters (256 bits): it is shown once, when made; the site keeps
its SHA-256 (a token this random needs no slow hash) and its first characters, to tell tokens apart.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from kmvolunteer.api.models import READ_SCOPES, SCOPES, TOKENS, ApiToken, TokenKind, TokenStatus
from kmvolunteer.auth.models import User
from kmvolunteer.auth.policy import can, integration_areas
from kmvolunteer.core import audit
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.text import checked_text
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area

PREFIX = "kmv_"
MAX_DAYS = 366
LAST_USED_EVERY = timedelta(minutes=1)  # last-used time is kept to the minute: not a write per call


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _checked(name: str, scopes: list[str], days: int | None, allowed: dict) -> tuple[str, str, int]:
    name = checked_text(name, "name", 100, _("Name the system or app that will use the token."))
    chosen = [scope for scope in allowed if scope in set(scopes or [])]
    if not chosen or len(chosen) != len(set(scopes)):
        raise ServiceError(_("Choose what the token may do, from the list."), field="scopes")
    if days is None or not 1 <= days <= MAX_DAYS:
        raise ServiceError(_("A token is valid for 1 to %(days)d days.", days=MAX_DAYS), field="days")
    return name, " ".join(chosen), days


def _make(kind: TokenKind, actor: User, name: str, scopes: str, days: int, area: Area | None) -> tuple[ApiToken, str]:
    secret = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        kind=kind.value,
        name=name,
        user_id=actor.id,
        area_id=area.id if area else None,
        scopes=scopes,
        digest=_digest(secret),
        prefix=secret[: len(PREFIX) + 6],
        status=TokenStatus.active.value,
        expires_at=now + timedelta(days=days),
        created_at=now,
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "api_token.created",
        token,
        scope_path=area.path if area else "",
        actor_id=actor.id,
        summary=name,
        after={"kind": kind.value, "scopes": scopes, "area": area.name if area else "", "days": days},
    )
    return token, secret


def create_integration(actor: User, area: Area | None, name: str, scopes: list[str], days: int | None):
    """An integration's token: a named system reading within ``area`` (a district or the city)."""
    if area is None or not can(actor, "api_token.integration", area):
        raise ServiceError(_("Choose the city or a district within your reach."), field="area")
    name, chosen, days = _checked(name, scopes, days, READ_SCOPES)
    return _make(TokenKind.integration, actor, name, chosen, days, area)


def create_personal(actor: User, name: str, scopes: list[str], days: int | None):
    """A person's token, for an app acting for them: never more than their own rights."""
    name, chosen, days = _checked(name, scopes, days, SCOPES)
    return _make(TokenKind.personal, actor, name, chosen, days, None)


def revoke(token: ApiToken, actor: User) -> None:
    TOKENS.perform(
        token,
        "revoke",
        actor_id=actor.id,
        scope_path=token.area.path if token.area else "",
        summary=token.name,
    )


def recognise(secret: str) -> ApiToken | None:
    """The active, unexpired token ``secret`` is, with its user still active; None for anything else."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.digest == _digest(secret)))
    if token is None or token.status != TokenStatus.active.value or token.expired() or not token.user.active:
        return None
    return token


def note_use(token: ApiToken) -> None:
    """Keep the last-used time, to the minute."""
    now = utcnow()
    db.session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token.id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - LAST_USED_EVERY),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def note_change(token: ApiToken, what: str) -> None:
    """An audit entry for a call through the token that changed data (the change has its own entry)."""
    audit.record(
        "api_token.used", token, scope_path=token.area.path if token.area else "", actor_id=token.user_id, summary=what
    )


def personal_tokens(user: User) -> list[ApiToken]:
    stmt = select(ApiToken).where(ApiToken.kind == TokenKind.personal.value, ApiToken.user_id == user.id)
    return list(db.session.scalars(stmt.order_by(ApiToken.id.desc())))


def integration_tokens(user: User) -> list[ApiToken]:
    """The integrations' tokens of the areas the user keeps them for."""
    areas = integration_areas(user)
    if not areas:
        return []
    stmt = (
        select(ApiToken)
        .join(Area, ApiToken.area_id == Area.id)
        .where(
            ApiToken.kind == TokenKind.integration.value,
            or_(*(Area.path.startswith(a.path, autoescape=True) for a in areas)),
        )
    )
    return list(db.session.scalars(stmt.order_by(ApiToken.id.desc())))
