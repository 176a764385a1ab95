"""whistles (吹哨报到, issue 15): whistles, their categories, each department's summons, its progress notes
and one extension, and the deadline rules per tier and urgency

Revision ID: 127616af5ed1
Revises: d4e8b1c7a2f5
Create Date: 2026-12-02 16:59:07.858456

"""

from alembic import op
import sqlalchemy as sa


revision = "127616af5ed1"
down_revision = "d4e8b1c7a2f5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "whistle_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whistle_category")),
        sa.UniqueConstraint("name", name=op.f("uq_whistle_category_name")),
    )
    op.create_table(
        "deadline_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("urgency", sa.String(length=8), nullable=False),
        sa.Column("sign_minutes", sa.Integer(), nullable=False),
        sa.Column("contact_hours", sa.Integer(), nullable=False),
        sa.Column("handle_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "tier IN ('community', 'subdistrict', 'district')", name=op.f("ck_deadline_rule_tier_known")
        ),
        sa.CheckConstraint("urgency IN ('normal', 'urgent')", name=op.f("ck_deadline_rule_urgency_known")),
        sa.CheckConstraint("contact_hours BETWEEN 1 AND 72", name=op.f("ck_deadline_rule_contact_hours_range")),
        sa.CheckConstraint("handle_days BETWEEN 1 AND 30", name=op.f("ck_deadline_rule_handle_days_range")),
        sa.CheckConstraint("sign_minutes BETWEEN 10 AND 480", name=op.f("ck_deadline_rule_sign_minutes_range")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["user.id"], name=op.f("fk_deadline_rule_updated_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_rule")),
        sa.UniqueConstraint("tier", "urgency", name="uq_deadline_rule_tier_urgency"),
    )
    op.create_table(
        "whistle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("blower_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("place", sa.String(length=100), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("urgency", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("escalated_from_id", sa.Integer(), nullable=True),
        sa.Column("escalation_reason", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("handled_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "escalation_reason IN ('', 'manual', 'overdue', 'unsatisfied')",
            name=op.f("ck_whistle_escalation_reason_known"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'handled', 'closed', 'escalated')", name=op.f("ck_whistle_status_known")
        ),
        sa.CheckConstraint("urgency IN ('normal', 'urgent')", name=op.f("ck_whistle_urgency_known")),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"], name=op.f("fk_whistle_area_id_area")),
        sa.ForeignKeyConstraint(["blower_id"], ["user.id"], name=op.f("fk_whistle_blower_id_user")),
        sa.ForeignKeyConstraint(
            ["category_id"], ["whistle_category.id"], name=op.f("fk_whistle_category_id_whistle_category")
        ),
        sa.ForeignKeyConstraint(
            ["escalated_from_id"], ["whistle.id"], name=op.f("fk_whistle_escalated_from_id_whistle")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whistle")),
        sa.UniqueConstraint("escalated_from_id", name=op.f("uq_whistle_escalated_from_id")),
    )
    with op.batch_alter_table("whistle", schema=None) as batch_op:
        batch_op.create_index("ix_whistle_area_status", ["area_id", "status", "created_at"], unique=False)

    op.create_table(
        "summons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("whistle_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summoned_at", sa.DateTime(), nullable=False),
        sa.Column("sign_due_at", sa.DateTime(), nullable=False),
        sa.Column("contact_due_at", sa.DateTime(), nullable=False),
        sa.Column("handle_due_at", sa.DateTime(), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=True),
        sa.Column("signed_by_id", sa.Integer(), nullable=True),
        sa.Column("contacted_at", sa.DateTime(), nullable=True),
        sa.Column("contact_note", sa.String(length=255), nullable=False),
        sa.Column("handled_at", sa.DateTime(), nullable=True),
        sa.Column("handled_by_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("rating", sa.String(length=16), nullable=True),
        sa.Column("rating_comment", sa.String(length=255), nullable=False),
        sa.Column("rated_at", sa.DateTime(), nullable=True),
        sa.Column("rated_by_id", sa.Integer(), nullable=True),
        sa.Column("unsatisfied_count", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "rating IS NULL OR rating IN ('satisfied', 'basic', 'unsatisfied')", name=op.f("ck_summons_rating_known")
        ),
        sa.CheckConstraint(
            "status IN ('summoned', 'signed', 'contacted', 'handled', 'rated', 'declined')",
            name=op.f("ck_summons_status_known"),
        ),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"], name=op.f("fk_summons_department_id_department")),
        sa.ForeignKeyConstraint(["handled_by_id"], ["user.id"], name=op.f("fk_summons_handled_by_id_user")),
        sa.ForeignKeyConstraint(["rated_by_id"], ["user.id"], name=op.f("fk_summons_rated_by_id_user")),
        sa.ForeignKeyConstraint(["signed_by_id"], ["user.id"], name=op.f("fk_summons_signed_by_id_user")),
        sa.ForeignKeyConstraint(["whistle_id"], ["whistle.id"], name=op.f("fk_summons_whistle_id_whistle")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_summons")),
        sa.UniqueConstraint("whistle_id", "department_id", name="uq_summons_whistle_department"),
    )
    with op.batch_alter_table("summons", schema=None) as batch_op:
        batch_op.create_index("ix_summons_queue", ["department_id", "status", "handle_due_at"], unique=False)
        batch_op.create_index("ix_summons_status_due", ["status", "handle_due_at"], unique=False)

    op.create_table(
        "summons_extension",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("summons_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.Column("request_reason", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('requested', 'approved', 'refused')", name=op.f("ck_summons_extension_status_known")
        ),
        sa.CheckConstraint("working_days BETWEEN 1 AND 10", name=op.f("ck_summons_extension_working_days_range")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user.id"], name=op.f("fk_summons_extension_decided_by_id_user")),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["user.id"], name=op.f("fk_summons_extension_requested_by_id_user")
        ),
        sa.ForeignKeyConstraint(["summons_id"], ["summons.id"], name=op.f("fk_summons_extension_summons_id_summons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_summons_extension")),
        sa.UniqueConstraint("summons_id", name=op.f("uq_summons_extension_summons_id")),
    )
    op.create_table(
        "summons_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("summons_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["user.id"], name=op.f("fk_summons_progress_by_id_user")),
        sa.ForeignKeyConstraint(["summons_id"], ["summons.id"], name=op.f("fk_summons_progress_summons_id_summons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_summons_progress")),
    )
    with op.batch_alter_table("summons_progress", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_summons_progress_summons_id"), ["summons_id"], unique=False)


def downgrade():
    with op.batch_alter_table("summons_progress", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_summons_progress_summons_id"))

    op.drop_table("summons_progress")
    op.drop_table("summons_extension")
    with op.batch_alter_table("summons", schema=None) as batch_op:
        batch_op.drop_index("ix_summons_status_due")
        batch_op.drop_index("ix_summons_queue")

    op.drop_table("summons")
    with op.batch_alter_table("whistle", schema=None) as batch_op:
        batch_op.drop_index("ix_whistle_area_status")

    op.drop_table("whistle")
    op.drop_table("deadline_rule")
    op.drop_table("whistle_category")
