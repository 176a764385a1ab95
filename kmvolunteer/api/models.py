"""API tokens: an integration's (a named system, bound to an area, read scopes only) or a person's (acting with
that person's own rights at most, through an app). The token itself is shown once; only its SHA-256 is kept."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kmvolunteer.auth.models import User
from kmvolunteer.core.db import known_statuses
from kmvolunteer.core.machine import Machine, Transition
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Area

# What a token may be used for. An integration acts for nobody, so it only reads; a person's token may
# also change what that person may change on the pages.
READ_SCOPES = {
    "read:areas": _l("read the places and branches"),
    "read:needs": _l("read needs and posts"),
    "read:tallies": _l("read members' yearly tallies"),
    "read:whistles": _l("read whistles"),
}
WRITE_SCOPES = {
    "write:service": _l("log service entries"),
    "write:claims": _l("claim needs"),
}
SCOPES = {**READ_SCOPES, **WRITE_SCOPES}


class TokenKind(str, enum.Enum):
    integration = "integration"
    personal = "personal"


class TokenStatus(str, enum.Enum):
    active = "active"
    revoked = "revoked"


class ApiToken(db.Model):
    __tablename__ = "api_token"
    __table_args__ = (
        known_statuses(TokenStatus),
        known_statuses(TokenKind, "kind"),
        # An integration is bound to an area; a person's token reaches what the person reaches.
        CheckConstraint("kind = 'personal' OR area_id IS NOT NULL", name="integration_has_area"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))  # the system (云岭先锋, 智慧党建 …) or the app
    # Whose rights the token uses at most: the person's; for an integration, the department staff who made it.
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"))
    scopes: Mapped[str] = mapped_column(String(255))  # space-separated, of SCOPES
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the token, hex
    prefix: Mapped[str] = mapped_column(String(16))  # its first characters, to tell tokens apart
    status: Mapped[str] = mapped_column(String(16), default=TokenStatus.active.value)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    area: Mapped[Area | None] = relationship()

    @property
    def scope_set(self) -> set[str]:
        return set(self.scopes.split())

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at <= (now or utcnow())


S = TokenStatus
TOKENS = Machine(
    ApiToken,
    TokenStatus,
    [Transition("revoke", (S.active.value,), S.revoked.value, "api_token.revoke", "api_token.revoked")],
    labels={S.active.value: _l("active"), S.revoked.value: _l("revoked")},
    noun=_l("API token"),
)
