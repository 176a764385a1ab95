"""needs and whistles carry an estate or grid; needs say the skills they want

Revision ID: 84f352578614
Revises: 39b23890e52f
Create Date: 2026-12-03 10:29:36.168149

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '84f352578614'
down_revision = '39b23890e52f'
branch_labels = None
depends_on = None


def upgrade():
    for table in ("need", "whistle"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("estate_id", sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column("grid_id", sa.Integer(), nullable=True))
            if table == "need":
                batch_op.add_column(sa.Column("skills", sa.String(length=255), server_default="", nullable=False))
            batch_op.create_foreign_key(batch_op.f(f"fk_{table}_estate_id_estate"), "estate", ["estate_id"], ["id"])
            batch_op.create_foreign_key(batch_op.f(f"fk_{table}_grid_id_grid"), "grid", ["grid_id"], ["id"])


def downgrade():
    for table in ("whistle", "need"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_grid_id_grid"), type_="foreignkey")
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_estate_id_estate"), type_="foreignkey")
            if table == "need":
                batch_op.drop_column("skills")
            batch_op.drop_column("grid_id")
            batch_op.drop_column("estate_id")
