"""Closing a year: refused while entries wait; then locked, and the tallies frozen with a serial."""

from __future__ import annotations

import secrets

from flask_babel import gettext as _
from sqlalchemy import delete, insert, literal, select

from kmvolunteer.auth.models import User
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.time import utcnow
from kmvolunteer.extensions import db
from kmvolunteer.service.models import RecordStatus, ServiceRecord
from kmvolunteer.tallies import rollup
from kmvolunteer.tallies.facts import (
    FACT_COLUMNS,
    city_id,
    is_kept,
    kept_facts,
    live_facts,
)
from kmvolunteer.tallies.models import TallySnapshot
from kmvolunteer.years.models import YEARS, Year


def year_row(year: int) -> Year:
    """The Year row, created open on first use."""
    row = db.session.get(Year, year)
    if row is None:
        row = Year(year=year, status="open")
        db.session.add(row)
        db.session.flush()
    return row


def pending_count(year: int) -> int:
    from sqlalchemy import func

    return (
        db.session.scalar(
            select(func.count(ServiceRecord.id)).where(
                ServiceRecord.year == year, ServiceRecord.status == RecordStatus.submitted.value
            )
        )
        or 0
    )


def pending_records(year: int, limit: int = 200) -> list[ServiceRecord]:
    return list(
        db.session.scalars(
            select(ServiceRecord)
            .where(ServiceRecord.year == year, ServiceRecord.status == RecordStatus.submitted.value)
            .order_by(ServiceRecord.community_id, ServiceRecord.service_date)
            .limit(limit)
        )
    )


def _city_path() -> str:
    from kmvolunteer.org.models import Area

    area = db.session.get(Area, city_id())
    return area.path if area else "/"


def close_year(year: int, *, actor: User) -> Year:
    """Lock ``year`` and freeze its tallies. Refused while any entry of the year is still pending."""
    if pending_records(year, limit=1):
        raise ServiceError(_("Year %(year)d cannot be closed while entries are waiting for review.", year=year))
    row = year_row(year)
    serial = f"ND{year}-{secrets.token_hex(4).upper()}"
    YEARS.perform(
        row,
        "close",
        actor_id=actor.id,
        scope_path=_city_path(),
        summary=f"{year} {serial}",
        values={"closed_at": utcnow(), "closed_by_id": actor.id, "serial": serial},
        after={"serial": serial},
    )
    # A kept year's facts are current already; only a year nobody kept is counted from the records.
    source = (kept_facts(year) if is_kept(year) else live_facts(year)).subquery()
    db.session.execute(
        insert(TallySnapshot).from_select(
            ["year", *FACT_COLUMNS], select(literal(year), *(source.c[name] for name in FACT_COLUMNS))
        )
    )
    rollup.freeze_year(year)
    return row


def reopen_year(year: int, *, reason: str, actor: User) -> Year:
    row = year_row(year)
    YEARS.perform(
        row,
        "reopen",
        actor_id=actor.id,
        scope_path=_city_path(),
        summary=f"{year}: {reason}"[:255],
        values={"serial": None},
        reason=reason,
        before={"serial": row.serial},
    )
    db.session.execute(delete(TallySnapshot).where(TallySnapshot.year == year))
    rollup.touch_year(year)
    return row
