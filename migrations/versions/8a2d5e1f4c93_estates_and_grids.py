"""estates and grids (issue 17, item 5): a community's grids and estates, and where a reported-in member lives
with the households they keep in touch with

Revision ID: 8a2d5e1f4c93
Revises: c41d7a2e9b05
Create Date: 2026-12-03 08:10:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "8a2d5e1f4c93"
down_revision = "c41d7a2e9b05"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "grid",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("leader", sa.String(length=50), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["area.id"], name=op.f("fk_grid_community_id_area")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid")),
        sa.UniqueConstraint("community_id", "name", name="uq_grid_community_name"),
    )
    with op.batch_alter_table("grid", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_community_id"), ["community_id"], unique=False)
    op.create_table(
        "estate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("party_branch", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["area.id"], name=op.f("fk_estate_community_id_area")),
        sa.ForeignKeyConstraint(["grid_id"], ["grid.id"], name=op.f("fk_estate_grid_id_grid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estate")),
        sa.UniqueConstraint("community_id", "name", name="uq_estate_community_name"),
    )
    with op.batch_alter_table("estate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_estate_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_estate_grid_id"), ["grid_id"], unique=False)
    with op.batch_alter_table("report_in", schema=None) as batch_op:
        batch_op.add_column(sa.Column("estate_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("grid_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("contact_households", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("contact_note", sa.String(length=200), server_default="", nullable=False))
        batch_op.create_index(batch_op.f("ix_report_in_estate_id"), ["estate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_in_grid_id"), ["grid_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_report_in_estate_id_estate"), "estate", ["estate_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_report_in_grid_id_grid"), "grid", ["grid_id"], ["id"])


def downgrade():
    with op.batch_alter_table("report_in", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_report_in_grid_id_grid"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_report_in_estate_id_estate"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_report_in_grid_id"))
        batch_op.drop_index(batch_op.f("ix_report_in_estate_id"))
        batch_op.drop_column("contact_note")
        batch_op.drop_column("contact_households")
        batch_op.drop_column("grid_id")
        batch_op.drop_column("estate_id")
    with op.batch_alter_table("estate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_estate_grid_id"))
        batch_op.drop_index(batch_op.f("ix_estate_community_id"))
    op.drop_table("estate")
    with op.batch_alter_table("grid", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_community_id"))
    op.drop_table("grid")
