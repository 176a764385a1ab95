"""Login throttling that holds under concurrency, across workers and across hosts.

Each login attempt first *takes a try* on its counters (``LoginThrottle`` rows) before any password is
checked: the account name and the client address; or, from an address the account logged in from
lately, only the account at that address. Taking a try is one guarded ``UPDATE … RETURNING``
per counter, in one short transaction that holds the rows (on SQLite, the database) until it commits,
so attempts that arrive together, from any worker or host, are counted one after another.

The first ``free`` tries of a counter pass at once. From then on each try also closes the counter for
a delay — LOGIN_DELAY_SECONDS, doubling with each further try, at most LOGIN_MAX_DELAY_SECONDS — so
while it is being checked every other try is refused, and the next may come when the delay is over.
Nothing locks for good: an attacker earns waits, and the owner, at an address they used before,
counts on a counter of their own. A try that proves not to be a failure is given back; a correct
password starts its account counter again.

The public pages of residents' requests (resident/services.py) count on counters of their own here, with
their own delays: each request sent from a client address, and each status code looked up there that
proves wrong.

Why a table and not Flask-Limiter: Flask-Limiter keeps its counts in process memory, Redis, Memcached
or MongoDB, none of which is the database every host already shares, and it counts requests per
window rather than failures with a growing delay that a correct password clears. Logins are few, so
one small row write per attempt costs nothing worth a second store.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, or_, select, update

from kmvolunteer.auth.models import LoginThrottle
from kmvolunteer.core.db import insert_ignore
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db


@dataclass(frozen=True)
class Counter:
    key: str
    free: int  # tries that pass before the delays start
    delay: int | None = None  # seconds of the first wait (None: LOGIN_DELAY_SECONDS)
    max_delay: int | None = None  # the longest wait (None: LOGIN_MAX_DELAY_SECONDS)


@dataclass
class Reservation:
    wait: int | None = None  # seconds to wait, when the attempt is refused
    # Each counter taken, with the block the try set on it (None while the try was free).
    leases: dict[str, datetime | None] = field(default_factory=dict)


def address_key(address: str) -> str:
    """A client's counter: its IPv4 address, or its IPv6 /64 (what one subscriber is given)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"addr:{address[:64]}"
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.version == 6:
        return f"addr:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"addr:{ip}"


def counters(name: str, user_id: int | None, address: str, *, usual: bool) -> list[Counter]:
    """The counters a login attempt takes a try on, always in this order (account, then address).

    At an address the account used lately, the owner counts on a counter of their own only: neither a
    stranger's failures elsewhere nor colleagues' typos behind the same office address hold them up.
    """
    config = current_app.config
    if usual:
        return [Counter(f"user:{user_id}@{address[:64]}", config["LOGIN_MAX_FAILURES"])]
    return [
        Counter(f"name:{name}", config["LOGIN_MAX_FAILURES"]),
        Counter(address_key(address), config["LOGIN_MAX_FAILURES_PER_ADDRESS"]),
    ]


def _delay(counter: Counter, tries_over: int) -> timedelta:
    config = current_app.config
    first = config["LOGIN_DELAY_SECONDS"] if counter.delay is None else counter.delay
    longest = config["LOGIN_MAX_DELAY_SECONDS"] if counter.max_delay is None else counter.max_delay
    return timedelta(seconds=min(first * 2 ** min(tries_over, 30), longest))


def take(taken: list[Counter]) -> Reservation:
    """Take one try on every counter and commit; if any counter is closed, take none and say how long to wait."""
    now = utcnow()
    forgotten = now - timedelta(hours=current_app.config["LOGIN_FORGET_HOURS"])
    leases: dict[str, datetime | None] = {}
    for counter in taken:
        insert_ignore(LoginThrottle, {"key": counter.key, "failures": 0, "last_at": now}, ["key"])
        failures = db.session.execute(
            update(LoginThrottle)
            .where(
                LoginThrottle.key == counter.key,
                or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until <= now),
            )
            .values(
                failures=case((LoginThrottle.last_at < forgotten, 1), else_=LoginThrottle.failures + 1), last_at=now
            )
            .returning(LoginThrottle.failures)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if failures is None:
            until = db.session.scalar(select(LoginThrottle.blocked_until).where(LoginThrottle.key == counter.key))
            db.session.rollback()
            seconds = (until - utcnow()).total_seconds() if until else 0  # now: it may have waited for the row
            return Reservation(wait=max(1, math.ceil(seconds)))
        lease = None
        if failures >= counter.free:
            lease = now + _delay(counter, failures - counter.free)
            db.session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.key == counter.key)
                .values(blocked_until=lease)
                .execution_options(synchronize_session=False)
            )
        leases[counter.key] = lease
    db.session.commit()
    return Reservation(leases=leases)


def give_back(reservation: Reservation) -> None:
    """The tries were no failures: count them off, and lift the blocks they set unless a later try set its own."""
    for key, lease in reservation.leases.items():
        values = {"failures": case((LoginThrottle.failures > 0, LoginThrottle.failures - 1), else_=0)}
        if lease is not None:
            values["blocked_until"] = case(
                (LoginThrottle.blocked_until == lease, None), else_=LoginThrottle.blocked_until
            )
        db.session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key == key)
            .values(values)
            .execution_options(synchronize_session=False)
        )


def clear(key: str) -> None:
    """Start a counter again (its account's password was given)."""
    db.session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key)
        .values(failures=0, blocked_until=None)
        .execution_options(synchronize_session=False)
    )


def clear_account(name: str, user_id: int) -> None:
    """Start every counter of an account again (a password reset), at every address."""
    db.session.execute(
        update(LoginThrottle)
        .where(
            or_(LoginThrottle.key == f"name:{name}", LoginThrottle.key.startswith(f"user:{user_id}@", autoescape=True))
        )
        .values(failures=0, blocked_until=None)
        .execution_options(synchronize_session=False)
    )
