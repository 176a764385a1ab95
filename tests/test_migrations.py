"""The schema is built by the migrations, and the models have no change without one."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import String, inspect, text
from sqlalchemy.exc import IntegrityError

from kmvolunteer.extensions import db


def test_upgrade_from_empty_builds_every_table(app, ctx):
    # The session fixture created the schema with `flask db upgrade` on an empty database.
    tables = set(inspect(db.engine).get_table_names())
    assert {t.name for t in db.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def test_no_model_change_without_a_migration(app, ctx):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models differ from the migrations; run `flask db migrate`: {diff}"


def test_every_status_column_is_checked_by_the_database(app, ctx):
    """Each table with a life cycle refuses, in the database itself, a status the code does not declare."""
    inspector = inspect(db.engine)
    for table in db.metadata.sorted_tables:
        if "status" not in table.c or not isinstance(table.c.status.type, String):
            continue  # (a submission's status is the HTTP status of its answer, not a life cycle)
        declared = next(c for c in table.constraints if c.name == f"ck_{table.name}_status_known")
        found = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table.name)}
        assert f"ck_{table.name}_status_known" in found, table.name
        for value in str(declared.sqltext).split("(", 1)[1].rstrip(")").split(", "):
            assert value in found[f"ck_{table.name}_status_known"], (table.name, value)


def test_an_unknown_status_is_refused_by_the_database(app, ctx):
    connection = db.session.connection()  # the test's own transaction, rolled back at its end
    connection.execute(text("INSERT INTO service_year (year, status, reopen_reason) VALUES (2099, 'open', '')"))
    with pytest.raises(IntegrityError), connection.begin_nested():
        connection.execute(text("UPDATE service_year SET status = 'shut' WHERE year = 2099"))
    with pytest.raises(IntegrityError), connection.begin_nested():
        connection.execute(text("INSERT INTO service_year (year, status, reopen_reason) VALUES (2098, 'maybe', '')"))


def test_a_role_grant_names_exactly_one_scope_in_the_database(world):
    """An agency (机关党委) is a scope of its own: a grant with an agency and an area, or with neither, is refused."""
    connection = db.session.connection()
    user_id, agency_id, area_id = world.users["member"].id, world.agency.id, world.district.id
    insert = text("INSERT INTO role_grant (user_id, role, area_id, agency_id, created_at) VALUES (:u, :r, :a, :g, :t)")
    values = {"u": user_id, "r": "agency_party_org", "t": "2026-12-03 08:00:00"}
    connection.execute(insert, {**values, "a": None, "g": agency_id})
    for area, agency in ((area_id, agency_id), (None, None)):
        with pytest.raises(IntegrityError), connection.begin_nested():
            connection.execute(insert, {**values, "a": area, "g": agency})
