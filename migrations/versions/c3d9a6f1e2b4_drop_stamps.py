"""drop stamps: pages are built for each request, nothing is kept under versions

Revision ID: c3d9a6f1e2b4
Revises: b7c4e2a91d30
Create Date: 2026-12-02 14:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c3d9a6f1e2b4"
down_revision = "b7c4e2a91d30"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table("stamp")


def downgrade():
    op.create_table(
        "stamp",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_stamp")),
    )
