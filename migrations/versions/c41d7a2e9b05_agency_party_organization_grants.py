"""the agency's party organization (issue 16, item 1): a role grant may be bound to an agency

Revision ID: c41d7a2e9b05
Revises: e0ea947db9c1
Create Date: 2026-12-03 07:30:00

A grant names exactly one scope: an area, a branch, a department, or now an agency (机关党委).
"""

import sqlalchemy as sa
from alembic import op

revision = "c41d7a2e9b05"
down_revision = "e0ea947db9c1"
branch_labels = None
depends_on = None

THREE = (
    "(CASE WHEN area_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN branch_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN department_id IS NULL THEN 0 ELSE 1 END)"
)
FOUR = THREE + " + (CASE WHEN agency_id IS NULL THEN 0 ELSE 1 END)"


def upgrade():
    # SQLite changes a CHECK only by rebuilding the table: batch mode does it (migrations/env.py holds the
    # foreign keys off meanwhile).
    with op.batch_alter_table("role_grant") as batch:
        batch.add_column(sa.Column("agency_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_role_grant_agency_id"), ["agency_id"], unique=False)
        batch.create_foreign_key(batch.f("fk_role_grant_agency_id_agency"), "agency", ["agency_id"], ["id"])
        batch.drop_constraint(batch.f("ck_role_grant_one_scope"), type_="check")
        batch.create_check_constraint(batch.f("ck_role_grant_one_scope"), f"{FOUR} = 1")


def downgrade():
    op.execute("DELETE FROM role_grant WHERE agency_id IS NOT NULL")
    with op.batch_alter_table("role_grant") as batch:
        batch.drop_constraint(batch.f("ck_role_grant_one_scope"), type_="check")
        batch.create_check_constraint(batch.f("ck_role_grant_one_scope"), f"{THREE} = 1")
        batch.drop_constraint(batch.f("fk_role_grant_agency_id_agency"), type_="foreignkey")
        batch.drop_index(batch.f("ix_role_grant_agency_id"))
        batch.drop_column("agency_id")
