"""joint meetings (issue 17, item 2): a body's meetings with each member unit's attendance and the need a
decision published

Revision ID: a4e7c9d2b615
Revises: 9f3b6c2a1d84
Create Date: 2026-12-03 08:45:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a4e7c9d2b615"
down_revision = "9f3b6c2a1d84"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "joint_meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=100), nullable=False),
        sa.Column("topics", sa.Text(), nullable=False),
        sa.Column("decisions", sa.Text(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["body_id"], ["joint_body.id"], name=op.f("fk_joint_meeting_body_id_joint_body")),
        sa.ForeignKeyConstraint(["need_id"], ["need.id"], name=op.f("fk_joint_meeting_need_id_need")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["user.id"], name=op.f("fk_joint_meeting_recorded_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_joint_meeting")),
    )
    with op.batch_alter_table("joint_meeting", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_joint_meeting_body_id"), ["body_id"], unique=False)
    op.create_table(
        "meeting_attendance",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "status IN ('present', 'excused', 'absent')", name=op.f("ck_meeting_attendance_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["joint_meeting.id"], name=op.f("fk_meeting_attendance_meeting_id_joint_meeting")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["body_unit.id"], name=op.f("fk_meeting_attendance_unit_id_body_unit")),
        sa.PrimaryKeyConstraint("meeting_id", "unit_id", name=op.f("pk_meeting_attendance")),
    )
    with op.batch_alter_table("meeting_attendance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_attendance_unit_id"), ["unit_id"], unique=False)


def downgrade():
    with op.batch_alter_table("meeting_attendance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_attendance_unit_id"))
    op.drop_table("meeting_attendance")
    with op.batch_alter_table("joint_meeting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_joint_meeting_body_id"))
    op.drop_table("joint_meeting")
