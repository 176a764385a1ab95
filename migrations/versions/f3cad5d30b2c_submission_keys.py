"""submission keys: a form sent twice creates its record once

Revision ID: f3cad5d30b2c
Revises: 1e57cc1f69ee
Create Date: 2026-12-02 01:00:50.915010

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3cad5d30b2c'
down_revision = '1e57cc1f69ee'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('submission',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.SmallInteger(), nullable=True),
    sa.Column('location', sa.String(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_submission_user_id_user')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_submission'))
    )
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_created_at'))
    op.drop_table('submission')
