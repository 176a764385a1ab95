"""通报 (issue 16, item 6): bulletins, the figures frozen into them, and their good examples

Revision ID: b7e2a9c4d1f0
Revises: a7c3e5f1d2b8
Create Date: 2026-12-03 08:10:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'b7e2a9c4d1f0'
down_revision = 'a7c3e5f1d2b8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bulletin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('serial', sa.String(length=32), nullable=True),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('issuer', sa.String(length=60), nullable=False),
    sa.Column('preamble', sa.Text(), nullable=False),
    sa.Column('closing', sa.Text(), nullable=False),
    sa.Column('name_members', sa.Boolean(), nullable=False),
    sa.Column('figures_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'published')", name=op.f('ck_bulletin_status_known')),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_bulletin_area_id_area')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_bulletin_created_by_id_user')),
    sa.ForeignKeyConstraint(['published_by_id'], ['user.id'], name=op.f('fk_bulletin_published_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulletin')),
    sa.UniqueConstraint('area_id', 'year', 'number', name='uq_bulletin_number'),
    sa.UniqueConstraint('serial', name=op.f('uq_bulletin_serial'))
    )
    with op.batch_alter_table('bulletin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulletin_area_id'), ['area_id'], unique=False)

    op.create_table('bulletin_example',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bulletin_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('branch_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_bulletin_example_agency_id_agency')),
    sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], name=op.f('fk_bulletin_example_branch_id_branch')),
    sa.ForeignKeyConstraint(['bulletin_id'], ['bulletin.id'], name=op.f('fk_bulletin_example_bulletin_id_bulletin')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulletin_example'))
    )
    with op.batch_alter_table('bulletin_example', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulletin_example_branch_id'), ['branch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bulletin_example_bulletin_id'), ['bulletin_id'], unique=False)

    op.create_table('bulletin_unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bulletin_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('headcount', sa.Integer(), nullable=False),
    sa.Column('reported_in', sa.Integer(), nullable=False),
    sa.Column('half_hours', sa.Integer(), nullable=False),
    sa.Column('rate_rank', sa.Integer(), nullable=False),
    sa.Column('hours_rank', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_bulletin_unit_agency_id_agency')),
    sa.ForeignKeyConstraint(['bulletin_id'], ['bulletin.id'], name=op.f('fk_bulletin_unit_bulletin_id_bulletin')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulletin_unit'))
    )
    with op.batch_alter_table('bulletin_unit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulletin_unit_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bulletin_unit_bulletin_id'), ['bulletin_id'], unique=False)

    op.create_table('bulletin_shortfall',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bulletin_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('agency', sa.String(length=100), nullable=False),
    sa.Column('branch', sa.String(length=100), nullable=False),
    sa.Column('member', sa.String(length=50), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], name=op.f('fk_bulletin_shortfall_branch_id_branch')),
    sa.ForeignKeyConstraint(['bulletin_id'], ['bulletin.id'], name=op.f('fk_bulletin_shortfall_bulletin_id_bulletin')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_bulletin_shortfall_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulletin_shortfall'))
    )
    with op.batch_alter_table('bulletin_shortfall', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulletin_shortfall_branch_id'), ['branch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bulletin_shortfall_bulletin_id'), ['bulletin_id'], unique=False)



def downgrade():
    with op.batch_alter_table('bulletin_shortfall', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulletin_shortfall_bulletin_id'))
        batch_op.drop_index(batch_op.f('ix_bulletin_shortfall_branch_id'))

    op.drop_table('bulletin_shortfall')
    with op.batch_alter_table('bulletin_unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulletin_unit_bulletin_id'))
        batch_op.drop_index(batch_op.f('ix_bulletin_unit_agency_id'))

    op.drop_table('bulletin_unit')
    with op.batch_alter_table('bulletin_example', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulletin_example_bulletin_id'))
        batch_op.drop_index(batch_op.f('ix_bulletin_example_branch_id'))

    op.drop_table('bulletin_example')
    with op.batch_alter_table('bulletin', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulletin_area_id'))

    op.drop_table('bulletin')
