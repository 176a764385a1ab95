"""on-site sign-in sessions and attendance; records marked on site

Revision ID: d58b19bd7254
Revises: 2225ff2bd44f
Create Date: 2026-12-03 10:41:03.822518

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd58b19bd7254'
down_revision = '2225ff2bd44f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "activity_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("signed_in", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'closed', 'cancelled')", name=op.f("ck_activity_session_status_known")
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_activity_session_ends_after_start")),
        sa.CheckConstraint("capacity IS NULL OR capacity > 0", name=op.f("ck_activity_session_capacity_positive")),
        sa.CheckConstraint(
            "capacity IS NULL OR signed_in <= capacity", name=op.f("ck_activity_session_within_capacity")
        ),
        sa.ForeignKeyConstraint(["need_id"], ["need.id"], name=op.f("fk_activity_session_need_id_need")),
        sa.ForeignKeyConstraint(["community_id"], ["area.id"], name=op.f("fk_activity_session_community_id_area")),
        sa.ForeignKeyConstraint(["opened_by_id"], ["user.id"], name=op.f("fk_activity_session_opened_by_id_user")),
        sa.ForeignKeyConstraint(["closed_by_id"], ["user.id"], name=op.f("fk_activity_session_closed_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_session")),
    )
    with op.batch_alter_table("activity_session", schema=None) as batch_op:
        batch_op.create_index("ix_activity_session_need", ["need_id", "day"], unique=False)
        batch_op.create_index("ix_activity_session_community", ["community_id", "status"], unique=False)

    op.create_table(
        "activity_attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("signed_in_at", sa.DateTime(), nullable=False),
        sa.Column("signed_out_at", sa.DateTime(), nullable=True),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=255), nullable=False),
        sa.CheckConstraint(
            "signed_out_at IS NULL OR signed_out_at >= signed_in_at", name=op.f("ck_activity_attendance_out_after_in")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["activity_session.id"], name=op.f("fk_activity_attendance_session_id_activity_session")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name=op.f("fk_activity_attendance_member_id_member")),
        sa.ForeignKeyConstraint(["added_by_id"], ["user.id"], name=op.f("fk_activity_attendance_added_by_id_user")),
        sa.ForeignKeyConstraint(
            ["record_id"], ["service_record.id"], name=op.f("fk_activity_attendance_record_id_service_record")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_attendance")),
        sa.UniqueConstraint("session_id", "member_id", name="uq_activity_attendance_member"),
    )
    with op.batch_alter_table("activity_attendance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_activity_attendance_member_id"), ["member_id"], unique=False)

    with op.batch_alter_table("service_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("on_site", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table("service_record", schema=None) as batch_op:
        batch_op.drop_column("on_site")
    with op.batch_alter_table("activity_attendance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_attendance_member_id"))
    op.drop_table("activity_attendance")
    with op.batch_alter_table("activity_session", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_session_community")
        batch_op.drop_index("ix_activity_session_need")
    op.drop_table("activity_session")
