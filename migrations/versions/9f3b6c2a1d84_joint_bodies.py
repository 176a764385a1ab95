"""joint bodies (issue 17, item 1): a community's 大党委 and a subdistrict's 党建联盟, their member units,
part-time members and the alliance's monthly rotating chair

Revision ID: 9f3b6c2a1d84
Revises: 8a2d5e1f4c93
Create Date: 2026-12-03 08:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "9f3b6c2a1d84"
down_revision = "8a2d5e1f4c93"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "joint_body",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('committee', 'alliance')", name=op.f("ck_joint_body_kind_known")),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"], name=op.f("fk_joint_body_area_id_area")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_joint_body")),
        sa.UniqueConstraint("area_id", name="uq_joint_body_area"),
    )
    op.create_table(
        "body_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('agency', 'company', 'school', 'hospital', 'social_org', 'property')",
            name=op.f("ck_body_unit_kind_known"),
        ),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"], name=op.f("fk_body_unit_agency_id_agency")),
        sa.ForeignKeyConstraint(["body_id"], ["joint_body.id"], name=op.f("fk_body_unit_body_id_joint_body")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_body_unit")),
        sa.UniqueConstraint("body_id", "name", name="uq_body_unit_name"),
    )
    with op.batch_alter_table("body_unit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_body_unit_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_body_unit_body_id"), ["body_id"], unique=False)
    op.create_table(
        "body_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("post", sa.String(length=100), nullable=False),
        sa.Column("term_start", sa.Date(), nullable=False),
        sa.Column("term_end", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["body_id"], ["joint_body.id"], name=op.f("fk_body_member_body_id_joint_body")),
        sa.ForeignKeyConstraint(["unit_id"], ["body_unit.id"], name=op.f("fk_body_member_unit_id_body_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_body_member")),
    )
    with op.batch_alter_table("body_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_body_member_body_id"), ["body_id"], unique=False)
    op.create_table(
        "chair_month",
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["body_id"], ["joint_body.id"], name=op.f("fk_chair_month_body_id_joint_body")),
        sa.ForeignKeyConstraint(["unit_id"], ["body_unit.id"], name=op.f("fk_chair_month_unit_id_body_unit")),
        sa.PrimaryKeyConstraint("body_id", "month", name=op.f("pk_chair_month")),
    )


def downgrade():
    op.drop_table("chair_month")
    with op.batch_alter_table("body_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_body_member_body_id"))
    op.drop_table("body_member")
    with op.batch_alter_table("body_unit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_body_unit_body_id"))
        batch_op.drop_index(batch_op.f("ix_body_unit_agency_id"))
    op.drop_table("body_unit")
    op.drop_table("joint_body")
