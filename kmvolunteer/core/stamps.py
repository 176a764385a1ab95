"""Stamps: rendered fragments cached under the versions of what they show.

A stamp is a key ("member:12", "area:34", "org", "rules") with a version. A model lists
in ``__stamps__`` which keys its rows belong to, as (prefix, attribute) pairs — ("member",
"member_id") gives "member:<member_id>", ("org", None) gives "org". Whenever such a row is
added, changed or deleted, each of its keys (before and after the change) gets a new random
version in the same transaction. Changes made with a bulk UPDATE are not seen by the ORM:
``touch_row`` catches them (declared transitions call it through ``core.machine.transitioned``).

``cached`` keeps a fragment under the versions it was built from. After any change to what it
shows, the versions differ and the fragment is built again: nothing is ever invalidated, so
each worker process keeps its own cache and hosts need not talk to each other. Versions are
random rather than counted so that a number, once used, is never used again for other data
(a database restored from a backup counts on from where the backup was).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from typing import Any, TypeVar

from flask import current_app, g, has_app_context
from sqlalchemy import BigInteger, String, bindparam, event, select
from sqlalchemy.orm import Mapped, Mapper, Session, mapped_column, object_session
from sqlalchemy.orm.base import NEVER_SET, NO_VALUE

from kmvolunteer.core import machine
from kmvolunteer.core.db import upsert
from kmvolunteer.extensions import db

PENDING = "kmvolunteer.stamps"
READ = "stamp_versions"


class Stamp(db.Model):
    __tablename__ = "stamp"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


def touch(*keys: str) -> None:
    """Give ``keys`` new versions when the current transaction commits."""
    db.session.info.setdefault(PENDING, set()).update(keys)


def touch_row(obj: Any, values: dict[str, Any] | None = None) -> None:
    """The stamps of a row changed by a bulk UPDATE, which the ORM does not see: those it belonged
    to as loaded, and those the UPDATE's ``values`` move it to."""
    touch(*keys_of(obj))
    for prefix, attribute in getattr(type(obj), "__stamps__", ()):
        if attribute is not None and (values or {}).get(attribute) is not None:
            touch(f"{prefix}:{values[attribute]}")


@machine.transitioned.connect
def _transitioned(sender: type, *, obj: Any, previous: dict[str, Any] | None, **_: Any) -> None:
    if previous is not None:  # a new row is seen by the ORM
        touch_row(obj, previous)


def keys_of(obj: Any) -> set[str]:
    """The stamps a row belongs to now (those it belonged to before a change are caught as it is made)."""
    found: set[str] = set()
    for prefix, attribute in getattr(type(obj), "__stamps__", ()):
        if attribute is None:
            found.add(prefix)
        elif (value := getattr(obj, attribute)) is not None:
            found.add(f"{prefix}:{value}")
    return found


def _owner_changed(prefix: str) -> Callable[..., None]:
    def moved(target: Any, value: Any, old: Any, initiator: Any) -> None:
        session = object_session(target)
        if session is not None and old not in (None, NO_VALUE, NEVER_SET) and old != value:
            session.info.setdefault(PENDING, set()).add(f"{prefix}:{old}")

    return moved


@event.listens_for(Mapper, "mapper_configured")
def _watch_owners(mapper: Mapper, cls: type) -> None:
    """A row moved to another owner (a record to another community) changes the old owner too:
    ``active_history`` loads the old value when the attribute is set."""
    for prefix, attribute in getattr(cls, "__stamps__", ()):
        if attribute is not None:
            event.listen(getattr(cls, attribute), "set", _owner_changed(prefix), active_history=True)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, flush_context: Any) -> None:
    # After a flush, new/dirty/deleted still show what was flushed.
    keys = set()
    for obj in chain(session.new, session.dirty, session.deleted):
        if getattr(type(obj), "__stamps__", None):
            keys |= keys_of(obj)
    if keys:
        session.info.setdefault(PENDING, set()).update(keys)


@event.listens_for(Session, "before_commit")
def _bump(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint is being released; the stamps go up with the real commit
    session.flush()
    keys = session.info.pop(PENDING, None)
    if keys:
        # In key order, so two transactions never wait for each other's stamps crosswise.
        upsert(
            Stamp,
            [{"key": key, "version": secrets.randbits(62)} for key in sorted(keys)],
            keys=["key"],
            columns=["version"],
        )


@event.listens_for(Session, "after_commit")
def _forget_read_versions(session: Session) -> None:
    if has_app_context():
        g.pop(READ, None)  # what this request read before its commit is no longer current


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: Any) -> None:
    if not previous_transaction.nested:
        session.info.pop(PENDING, None)


_VERSIONS = select(Stamp.key, Stamp.version).where(Stamp.key.in_(bindparam("keys", expanding=True)))


def versions(keys: Iterable[str]) -> dict[str, int]:
    """The current versions of ``keys`` (0 for a key never changed), read once per request."""
    known: dict[str, int] = g.setdefault(READ, {})
    missing = sorted(set(keys) - known.keys())
    if missing:
        found = dict(db.session.execute(_VERSIONS, {"keys": missing}).all())
        known.update({key: found.get(key, 0) for key in missing})
    return known


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str) else 64


class FragmentCache:
    """The fragments (and counts) of this process, the least recently used dropped beyond
    ``max_chars`` characters."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple, value: Any) -> None:
        if _size(value) > self.max_chars // 10:
            return  # one huge fragment would push out everything else
        with self._lock:
            old = self._items.pop(key, None)
            self._chars += _size(value) - (_size(old) if old is not None else 0)
            self._items[key] = value
            while self._chars > self.max_chars:
                _key, dropped = self._items.popitem(last=False)
                self._chars -= _size(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._chars = 0


def init_app(app: Any) -> None:
    # A page mixing Chinese and ASCII is stored at two bytes a character.
    app.extensions["kmvolunteer.fragments"] = FragmentCache(app.config["FRAGMENT_CACHE_MB"] * 500_000)


T = TypeVar("T")


def cached(name: str, keys: Sequence[str], build: Callable[[], T], *, vary: tuple = ()) -> T:
    """What ``build`` makes (a fragment, a count), kept until a stamp in ``keys`` changes.

    ``vary`` holds whatever else it depends on (the user, the language, the day, the query).
    In a transaction with changes of its own, nothing is kept or reused: those changes are
    not committed, and their stamps have not moved yet. A build first expires what the session
    has loaded, so call this before loading the rows the rest of the page shows (a cheap count
    is better left uncached than built late in a page, where it would make those rows load again).
    """
    session = db.session
    if session.info.get(PENDING) or session.new or session.dirty or session.deleted:
        return build()
    known = versions(keys)
    key = (name, vary, tuple((k, known[k]) for k in keys))
    cache: FragmentCache = current_app.extensions["kmvolunteer.fragments"]
    value = cache.get(key)
    if value is None:
        # Rows loaded before the versions were read (the user and their places) may be older than
        # them: load again what the build reads, so nothing older is kept under these versions.
        session.expire_all()
        value = build()
        cache.put(key, value)
    return value
