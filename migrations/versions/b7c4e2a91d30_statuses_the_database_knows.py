"""statuses the database knows: CHECK (status IN (...)) on every table with a life cycle (issue 14)

Revision ID: b7c4e2a91d30
Revises: f3cad5d30b2c
Create Date: 2026-12-02 02:40:00

The values are written out here, as they were declared when this migration was made: a later change of a
declaration needs a migration of its own.
"""

from alembic import op

revision = "b7c4e2a91d30"
down_revision = "f3cad5d30b2c"
branch_labels = None
depends_on = None

STATUSES = {
    "service_record": ("submitted", "approved", "returned", "rejected", "withdrawn", "revoked"),
    "report_in": ("pending", "confirmed", "rejected", "withdrawn", "ended"),
    "need": ("open", "closed"),
    "claim": ("active", "withdrawn"),
    "resource": ("offered", "taken", "withdrawn"),
    "project": ("open", "in_progress", "done", "cancelled"),
    "report": ("draft", "submitted", "acknowledged"),
    "feedback_sheet": ("draft", "sent"),
    "service_year": ("open", "closed"),
}


def upgrade():
    for table, statuses in STATUSES.items():
        listed = ", ".join(f"'{status}'" for status in statuses)
        # SQLite adds a CHECK only by rebuilding the table (batch mode keeps its indexes, partial ones too;
        # migrations/env.py holds the foreign keys off meanwhile).
        with op.batch_alter_table(table) as batch:
            batch.create_check_constraint(op.f(f"ck_{table}_status_known"), f"status IN ({listed})")


def downgrade():
    for table in STATUSES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_status_known"), type_="check")
