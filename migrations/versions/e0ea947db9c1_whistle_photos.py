"""whistle photos (issue 15, items 1 and 3): photos of a whistle's problem and of a department's progress
notes; the re-encoded files are kept in the instance folder, the rows say where

Revision ID: e0ea947db9c1
Revises: 6c1f0e8b2d57
Create Date: 2026-12-03 07:25:03.132283

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "e0ea947db9c1"
down_revision = "6c1f0e8b2d57"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "whistle_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("whistle_id", sa.Integer(), nullable=False),
        sa.Column("progress_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=48), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["user.id"], name=op.f("fk_whistle_photo_by_id_user")),
        sa.ForeignKeyConstraint(
            ["progress_id"], ["summons_progress.id"], name=op.f("fk_whistle_photo_progress_id_summons_progress")
        ),
        sa.ForeignKeyConstraint(["whistle_id"], ["whistle.id"], name=op.f("fk_whistle_photo_whistle_id_whistle")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whistle_photo")),
        sa.UniqueConstraint("name", name=op.f("uq_whistle_photo_name")),
    )
    with op.batch_alter_table("whistle_photo", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_whistle_photo_progress_id"), ["progress_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_whistle_photo_whistle_id"), ["whistle_id"], unique=False)


def downgrade():
    with op.batch_alter_table("whistle_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_whistle_photo_whistle_id"))
        batch_op.drop_index(batch_op.f("ix_whistle_photo_progress_id"))

    op.drop_table("whistle_photo")
