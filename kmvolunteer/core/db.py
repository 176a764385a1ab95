"""Small database helpers that several features share."""

from __future__ import annotations

import enum
import secrets
from typing import Any

from sqlalchemy import CheckConstraint, Float, String, and_, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from kmvolunteer.extensions import db

SERIAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by hand


def unique_serial(column: Any, prefix: str, length: int = 10) -> str:
    """A printed document's number: ``prefix`` and ``length`` random characters (unguessable, so the public
    check by serial cannot be walked), not yet in ``column``."""
    while True:
        serial = prefix + "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(length))
        if db.session.scalar(select(column).where(column == serial).limit(1)) is None:
            return serial


def known_statuses(statuses: type[enum.Enum], column: str = "status") -> CheckConstraint:
    """CHECK (status IN (…)): the database itself refuses a status (or another ``column``'s value) the code
    does not declare."""
    listed = ", ".join(f"'{status.value}'" for status in statuses)
    return CheckConstraint(f"{column} IN ({listed})", name=f"{column}_known")


def _upserting_insert():
    """The INSERT that knows ON CONFLICT, on the engines that have one."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        return None
    return dialect_insert


def insert_ignore(model: type, values: dict[str, Any], keys: list[str]) -> None:
    """Insert a row unless one with the same ``keys`` exists, safe against a concurrent insert.

    INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL; elsewhere, insert in a
    savepoint and ignore the duplicate key.
    """
    dialect_insert = _upserting_insert()
    if dialect_insert is not None:
        db.session.execute(dialect_insert(model).values(**values).on_conflict_do_nothing(index_elements=keys))
        return
    match = and_(*(getattr(model, key) == values[key] for key in keys))
    if db.session.scalar(select(getattr(model, keys[0])).where(match)) is None:
        try:
            with db.session.begin_nested():
                db.session.execute(insert(model).values(**values))
        except IntegrityError:
            pass  # another transaction created it first


def add_to(model: type, keys: dict[str, Any], amounts: dict[str, int], new: dict[str, Any] | None = None) -> None:
    """Add ``amounts`` to the counters of the row with these ``keys``, creating it (with the other
    columns ``new``) when missing: one INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n."""
    dialect_insert = _upserting_insert()
    if dialect_insert is not None:
        stmt = dialect_insert(model).values(**keys, **(new or {}), **amounts)
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=list(keys),
                set_={name: getattr(model, name) + getattr(stmt.excluded, name) for name in amounts},
            )
        )
        return
    insert_ignore(model, {**keys, **(new or {}), **{name: 0 for name in amounts}}, list(keys))
    match = and_(*(getattr(model, key) == value for key, value in keys.items()))
    db.session.execute(
        update(model)
        .where(match)
        .values({name: getattr(model, name) + value for name, value in amounts.items()})
        .execution_options(synchronize_session=False)
    )


def upsert(model: type, rows: list[dict[str, Any]], keys: list[str], columns: list[str]) -> None:
    """Insert each row, or set its ``columns`` where a row with the same ``keys`` exists.

    Rows are written in the order given, so callers that sort them take row locks in one order.
    """
    if not rows:
        return
    dialect_insert = _upserting_insert()
    if dialect_insert is not None:
        stmt = dialect_insert(model)
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=keys, set_={column: getattr(stmt.excluded, column) for column in columns}
            ),
            rows,
        )
        return
    for row in rows:
        match = and_(*(getattr(model, key) == row[key] for key in keys))
        if db.session.execute(update(model).where(match).values({c: row[c] for c in columns})).rowcount == 0:
            db.session.execute(insert(model).values(**row))


def forget_on_rollback(key: str) -> None:
    """What a session gathers under ``session.info[key]`` for its commit is dropped when its transaction
    rolls back (not a savepoint's)."""

    @event.listens_for(Session, "after_soft_rollback")
    def _forget(session: Session, previous_transaction: Any) -> None:
        if not previous_transaction.nested:
            session.info.pop(key, None)


def seed_list(model: type, names: tuple[str, ...]) -> None:
    """Give an empty managed list (rows with name, sort_order and active) its starting ``names``."""
    if (db.session.scalar(select(func.count()).select_from(model)) or 0) == 0:
        for order, name in enumerate(names, start=1):
            db.session.add(model(name=name, sort_order=order * 10, active=True))
        db.session.flush()


def commit_keeping_loaded() -> None:
    """Commit without expiring the objects loaded: they hold what this transaction wrote, so the
    response can be built from them without loading them all again."""
    session = db.session()
    expiring, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expiring


def pending_migrations() -> bool | None:
    """Whether migrations/ has revisions the database lacks; None when the database has no schema at all."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from flask import current_app

    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    with db.engine.connect() as connection:
        applied = set(MigrationContext.configure(connection).get_current_heads())
    if not applied:
        return None
    return applied != set(script.get_heads())


class hours_between(FunctionElement):
    """The hours from one timestamp column to another, as a number, on either engine."""

    type = Float()
    inherit_cache = True


@compiles(hours_between, "sqlite")
def _hours_between_sqlite(element, compiler, **kw):
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 24.0)"


@compiles(hours_between, "postgresql")
def _hours_between_postgresql(element, compiler, **kw):
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 3600.0)"


class number_list(FunctionElement):
    """The numbers of a group (NULLs left out) as one text, "1.5,26.25", on either engine: for a figure such
    as a median that SQL does not aggregate on both, without a second query for the rows. Read it with
    numbers_of()."""

    type = String()
    inherit_cache = True


@compiles(number_list, "sqlite")
def _number_list_sqlite(element, compiler, **kw):
    (value,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"group_concat({value}, ',')"


@compiles(number_list, "postgresql")
def _number_list_postgresql(element, compiler, **kw):
    (value,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"string_agg(CAST({value} AS TEXT), ',')"


def numbers_of(text: str | None) -> list[float]:
    return [float(part) for part in text.split(",")] if text else []


def bulk_insert(model: type, rows: list[dict]) -> None:
    """Bulk insert of rows that name every column (ids included): `insert(Model)` with many rows; on
    PostgreSQL, COPY through the same connection and transaction, which is several times faster for
    hundreds of thousands of rows (the demo city's)."""
    if not rows:
        return
    if db.engine.dialect.name != "postgresql":
        db.session.execute(insert(model), rows)
        return
    db.session.flush()
    columns = list(rows[0])
    table = model.__table__.name
    driver = db.session.connection().connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])
