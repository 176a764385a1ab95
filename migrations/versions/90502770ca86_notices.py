"""notices (issue 15, item 6): in-app notices of whistle events and deadline reminders, one per user and
reminder key

Revision ID: 90502770ca86
Revises: 127616af5ed1
Create Date: 2026-12-02 17:35:52.062379

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "90502770ca86"
down_revision = "127616af5ed1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("whistle_id", sa.Integer(), nullable=False),
        sa.Column("summons_id", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("key", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('summoned', 'handled', 'declined', 'escalated', 'due_sign', 'due_contact', 'due_handle')",
            name=op.f("ck_notice_kind_known"),
        ),
        sa.ForeignKeyConstraint(["summons_id"], ["summons.id"], name=op.f("fk_notice_summons_id_summons")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_notice_user_id_user")),
        sa.ForeignKeyConstraint(["whistle_id"], ["whistle.id"], name=op.f("fk_notice_whistle_id_whistle")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice")),
        sa.UniqueConstraint("user_id", "key", name="uq_notice_user_key"),
    )
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_summons_id"), ["summons_id"], unique=False)
        batch_op.create_index("ix_notice_user_unread", ["user_id", "read_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_whistle_id"), ["whistle_id"], unique=False)


def downgrade():
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_whistle_id"))
        batch_op.drop_index("ix_notice_user_unread")
        batch_op.drop_index(batch_op.f("ix_notice_summons_id"))

    op.drop_table("notice")
