"""residents' requests (居民点单, issue 17 item 4): a resident's request to a community, triaged by its secretary

Revision ID: a7c3e5f1d2b8
Revises: b5f8d0e3c726
Create Date: 2026-12-03 08:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a7c3e5f1d2b8"
down_revision = "b5f8d0e3c726"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "resident_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("place", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=11), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=True),
        sa.Column("whistle_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('received', 'answered', 'to_need', 'to_whistle', 'rejected')",
            name=op.f("ck_resident_request_status_known"),
        ),
        sa.ForeignKeyConstraint(["community_id"], ["area.id"], name=op.f("fk_resident_request_community_id_area")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user.id"], name=op.f("fk_resident_request_decided_by_id_user")),
        sa.ForeignKeyConstraint(["need_id"], ["need.id"], name=op.f("fk_resident_request_need_id_need")),
        sa.ForeignKeyConstraint(["whistle_id"], ["whistle.id"], name=op.f("fk_resident_request_whistle_id_whistle")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_request")),
        sa.UniqueConstraint("code", name=op.f("uq_resident_request_code")),
        sa.UniqueConstraint("need_id", name=op.f("uq_resident_request_need_id")),
        sa.UniqueConstraint("whistle_id", name=op.f("uq_resident_request_whistle_id")),
    )
    op.create_index(
        "ix_resident_request_inbox", "resident_request", ["community_id", "status", "created_at"], unique=False
    )


def downgrade():
    op.drop_index("ix_resident_request_inbox", table_name="resident_request")
    op.drop_table("resident_request")
