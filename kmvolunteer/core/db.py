"""Small database helpers that several features share."""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, insert, select
from sqlalchemy.exc import IntegrityError

from kmvolunteer.extensions import db


def insert_ignore(model: type, values: dict[str, Any], keys: list[str]) -> None:
    """Insert a row unless one with the same ``keys`` exists, safe against a concurrent insert.

    INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL; elsewhere, insert in a
    savepoint and ignore the duplicate key.
    """
    dialect = db.session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        db.session.execute(dialect_insert(model).values(**values).on_conflict_do_nothing(index_elements=keys))
        return
    match = and_(*(getattr(model, key) == values[key] for key in keys))
    if db.session.scalar(select(getattr(model, keys[0])).where(match)) is None:
        try:
            with db.session.begin_nested():
                db.session.execute(insert(model).values(**values))
        except IntegrityError:
            pass  # another transaction created it first
