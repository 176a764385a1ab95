"""Declared state machines: every change of an entity's status goes through here.

A feature declares, once per entity, its states and its transitions (action, from → to,
the policy action that allows it, whether a reason is required). ``Machine.perform``
carries a transition out in the caller's transaction, always in the same order:

    policy check → guarded ``UPDATE … WHERE id = :id AND status = :current``
    (0 rows: someone else decided first, nothing is changed) → audit entry → ``transitioned``

Derived data (tallies, page versions) subscribes to ``transitioned``; features never call it.
The declarations are the documentation: ``flask machines`` prints them as the table in
docs/state-machines.md.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from blinker import signal
from flask_babel import gettext as _
from sqlalchemy import inspect, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ClauseElement

from kmvolunteer.core import audit
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.extensions import db

# Sent after every transition (sender: the entity's class) with obj (as it is now), transition,
# previous (the changed columns' values before) and actor_id; transition and previous are None
# when an entity is created.
transitioned = signal("machine.transitioned")

MACHINES: dict[str, Machine] = {}

# (actor_id, policy action, object) → None when allowed, "self" when the actor would decide about
# themselves, "scope" otherwise. Set by auth.policy, which sits above core.
_policy: Callable[[int, str, Any], str | None] | None = None


def use_policy(check: Callable[[int, str, Any], str | None]) -> None:
    global _policy
    _policy = check


@dataclass(frozen=True)
class Transition:
    action: str
    source: tuple[str, ...]
    target: str
    allowed_by: str  # the auth.policy action asked before the change
    audit: str  # the audit entry's action
    reason: Any = None  # when a reason is required: what a person who gave none is told
    refused_self: str | None = None  # what a person deciding about themselves is told


class Machine:
    def __init__(
        self,
        model: type,
        statuses: type[enum.Enum],
        transitions: Iterable[Transition],
        *,
        labels: dict[str, Any],
        noun: Any,
        reason_column: str | None = None,
    ) -> None:
        self.model = model
        self.key = inspect(model).primary_key[0]  # the column that names one row
        self.name = model.__tablename__
        self.statuses = [s.value for s in statuses]
        self.transitions = {t.action: t for t in transitions}
        self.labels = labels
        self.noun = noun
        self.reason_column = reason_column
        for t in self.transitions.values():
            unknown = {*t.source, t.target} - set(self.statuses)
            if unknown:
                raise ValueError(f"{self.name}.{t.action}: unknown statuses {sorted(unknown)}")
        MACHINES[self.name] = self

    def label(self, status: str | None) -> str:
        return str(self.labels.get(status or "", status or ""))

    def perform(
        self,
        obj: Any,
        action: str,
        *,
        actor_id: int | None,
        scope_path: str,
        summary: str = "",
        values: dict[str, Any] | None = None,
        reason: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """Carry out ``action`` on ``obj`` or raise ServiceError having changed nothing.

        ``actor_id`` None is the system (a command, the demo); people are always checked by policy.
        ``values`` are other columns the UPDATE sets; ``before``/``after`` extend the audit entry."""
        t = self.transitions[action]
        if actor_id is not None:
            self._check(t, actor_id, obj)
        current = obj.status
        if current not in t.source:
            raise ServiceError(
                _("This %(noun)s is already %(state)s; nothing was changed.", noun=self.noun, state=self.label(current))
            )
        values = {**(values or {}), "status": t.target}
        moved = {"status": current} if current != t.target else {}  # an edit keeps its status
        audit_before = {**moved, **(before or {})}
        audit_after = {**({"status": t.target} if moved else {}), **(after or {})}
        if t.reason:
            reason = self.require_reason(action, reason)
            if self.reason_column:
                values[self.reason_column] = reason
                audit_before.setdefault("reason", getattr(obj, self.reason_column) or "")
                audit_after["reason"] = reason
        previous = {key: getattr(obj, key) for key in values}
        result = db.session.execute(
            update(self.model)
            .where(self.key == getattr(obj, self.key.key), self.model.status == current)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            now = db.session.scalar(select(self.model.status).where(self.key == getattr(obj, self.key.key)))
            raise ServiceError(
                _(
                    "Someone else has already changed this %(noun)s: it is now %(state)s. Nothing was changed.",
                    noun=self.noun,
                    state=self.label(now),
                )
            )
        for key, value in values.items():
            if isinstance(value, ClauseElement):
                db.session.expire(obj, [key])
            else:
                set_committed_value(obj, key, value)
        audit.record(
            t.audit,
            obj,
            scope_path=scope_path,
            summary=summary,
            before=audit_before,
            after=audit_after,
            actor_id=actor_id,
        )
        transitioned.send(self.model, obj=obj, transition=t, previous=previous, actor_id=actor_id)

    def created(self, obj: Any, *, actor_id: int | None) -> None:
        """Announce a new entity (its audit entry is the service's): derived data counts it."""
        transitioned.send(self.model, obj=obj, transition=None, previous=None, actor_id=actor_id)

    def _check(self, t: Transition, actor_id: int, obj: Any) -> None:
        if _policy is None:
            raise RuntimeError("core.machine has no policy: import kmvolunteer.auth.policy")
        refusal = _policy(actor_id, t.allowed_by, obj)
        if refusal == "self" and t.refused_self:
            raise ServiceError(str(t.refused_self))
        if refusal is not None:
            raise ServiceError(_("This %(noun)s is not within your scope.", noun=self.noun))

    def require_reason(self, action: str, reason: str | None) -> str:
        """The reason ``action`` requires, trimmed, or ServiceError."""
        reason = (reason or "").strip()
        if not reason:
            raise ServiceError(str(self.transitions[action].reason), "reason")
        if len(reason) > 255:
            raise ServiceError(_("Keep the reason under 255 characters."), "reason")
        return reason

    def markdown(self) -> str:
        """The declaration as a table and a state diagram (Mermaid), for docs/state-machines.md."""
        lines = [
            f"## {self.model.__name__} (`{self.name}`)",
            "",
            "States: " + ", ".join(f"`{status}`" for status in self.statuses),
            "",
            "| action | from | to | allowed by (auth/policy.py) | reason | audit code |",
            "|---|---|---|---|---|---|",
        ]
        for t in self.transitions.values():
            source = ", ".join(f"`{status}`" for status in t.source)
            reason = "required" if t.reason else ""
            lines.append(f"| {t.action} | {source} | `{t.target}` | `{t.allowed_by}` | {reason} | `{t.audit}` |")
        lines += ["", "```mermaid", "stateDiagram-v2"]
        lines += [f"    {source} --> {t.target}: {t.action}" for t in self.transitions.values() for source in t.source]
        return "\n".join([*lines, "```", ""])


def markdown() -> str:
    """Every declared machine, by table name."""
    head = [
        "# State machines",
        "",
        "Generated from the declarations (`flask machines > docs/state-machines.md`); a test keeps it current.",
        "Every change of a status goes through `kmvolunteer/core/machine.py`: policy check → guarded UPDATE",
        "on the current status → audit entry → `machine.transitioned` event, in the caller's transaction.",
        "",
    ]
    return "\n".join([*head, *(MACHINES[name].markdown() for name in sorted(MACHINES))])
