"""Append-only audit log: one AuditEntry per change, in the change's own transaction."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kmvolunteer.core.text import mask_mobiles
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_scope_at", "scope_path", "at"),
        Index("ix_audit_entry_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int | None]
    summary: Mapped[str] = mapped_column(String(255), default="")
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str] = mapped_column(String(64), default="")
    # Path of the area the change belongs to, so a district sees its own entries.
    scope_path: Mapped[str] = mapped_column(String(255), default="/")

    actor: Mapped[User | None] = relationship()  # noqa: F821

    def before_data(self) -> dict[str, Any]:
        return json.loads(self.before) if self.before else {}

    def after_data(self) -> dict[str, Any]:
        return json.loads(self.after) if self.after else {}


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_change(mapper, connection, target) -> None:
    raise RuntimeError("audit entries are append-only")


def _dump(data: dict[str, Any] | None) -> str | None:
    if data is None:
        return None
    return mask_mobiles(json.dumps(data, ensure_ascii=False, default=str, sort_keys=True))


def record(
    action: str,
    obj: Any,
    *,
    scope_path: str,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_id: int | None = None,
) -> AuditEntry:
    """Add an audit entry to the current session; the caller's commit writes both together.

    Mobile numbers in the summary and the before/after values are stored masked: the log is read by
    organization departments, who see phone numbers masked (DESIGN §9)."""
    if actor_id is None and has_request_context() and current_user.is_authenticated:
        actor_id = current_user.id
    if obj is not None and getattr(obj, "id", 0) is None:
        db.session.flush()
    ip = (request.remote_addr or "") if has_request_context() else ""
    entry = AuditEntry(
        **row(
            action,
            type(obj).__name__ if obj is not None else "",
            getattr(obj, "id", None),
            scope_path=scope_path,
            summary=summary,
            before=before,
            after=after,
            actor_id=actor_id,
            ip=ip,
        )
    )
    db.session.add(entry)
    return entry


def row(
    action: str,
    object_type: str,
    object_id: int | None,
    *,
    scope_path: str,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_id: int | None = None,
    ip: str = "",
    at: datetime | None = None,
) -> dict[str, Any]:
    """The columns of an audit entry as record() writes them, for a bulk insert of entries (the demo city's
    history), which gives ``at`` and ``id`` itself."""
    values = {
        "actor_id": actor_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "summary": mask_mobiles(summary)[:255],
        "before": _dump(before),
        "after": _dump(after),
        "ip": ip,
        "scope_path": scope_path,
    }
    if at is not None:
        values["at"] = at
    return values
