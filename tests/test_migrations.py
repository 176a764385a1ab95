"""The schema is built by the migrations, and the models have no change without one."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

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
