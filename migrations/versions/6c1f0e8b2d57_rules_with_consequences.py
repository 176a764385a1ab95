"""rules with consequences (issue 16, item 4): the year rule's report-in deadline, unit thresholds, and what
follows from falling short

Revision ID: 6c1f0e8b2d57
Revises: 3b7e1c2d9a40
Create Date: 2026-12-03 08:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "6c1f0e8b2d57"
down_revision = "3b7e1c2d9a40"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("year_rule", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_in_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("unit_report_in_rate", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("unit_min_projects", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("mark_review", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("bar_honours", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("name_in_bulletin", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table("year_rule", schema=None) as batch_op:
        batch_op.drop_column("name_in_bulletin")
        batch_op.drop_column("bar_honours")
        batch_op.drop_column("mark_review")
        batch_op.drop_column("unit_min_projects")
        batch_op.drop_column("unit_report_in_rate")
        batch_op.drop_column("report_in_days")
