"""unit ratings (issue 16, item 3): a community's yearly rating of each branch that reported in to it

Revision ID: 3b7e1c2d9a40
Revises: 90502770ca86
Create Date: 2026-12-03 08:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "3b7e1c2d9a40"
down_revision = "90502770ca86"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "unit_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("rating", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("rated_at", sa.DateTime(), nullable=False),
        sa.Column("rated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "rating IN ('excellent', 'good', 'average', 'poor')", name=op.f("ck_unit_rating_rating_known")
        ),
        sa.ForeignKeyConstraint(["branch_id"], ["branch.id"], name=op.f("fk_unit_rating_branch_id_branch")),
        sa.ForeignKeyConstraint(["community_id"], ["area.id"], name=op.f("fk_unit_rating_community_id_area")),
        sa.ForeignKeyConstraint(["rated_by_id"], ["user.id"], name=op.f("fk_unit_rating_rated_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_rating")),
        sa.UniqueConstraint("community_id", "branch_id", "year", name="uq_unit_rating_year"),
    )
    with op.batch_alter_table("unit_rating", schema=None) as batch_op:
        batch_op.create_index("ix_unit_rating_branch_year", ["branch_id", "year"], unique=False)


def downgrade():
    with op.batch_alter_table("unit_rating", schema=None) as batch_op:
        batch_op.drop_index("ix_unit_rating_branch_year")

    op.drop_table("unit_rating")
