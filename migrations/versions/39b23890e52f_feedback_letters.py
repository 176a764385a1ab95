"""feedback letters (issue 16, item 2): a community's numbered, immutable letter to an agency for a period;
a notice may be of a letter instead of a whistle

Revision ID: 39b23890e52f
Revises: b7e2a9c4d1f0
Create Date: 2026-12-03 07:57:27.859256

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "39b23890e52f"
down_revision = "b7e2a9c4d1f0"
branch_labels = None
depends_on = None

WHISTLE_KINDS = "'summoned', 'handled', 'declined', 'escalated', 'due_sign', 'due_contact', 'due_handle'"

def upgrade():
    op.create_table('feedback_letter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=32), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=4), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('member_count', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('correction_reason', sa.String(length=255), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('issued', 'acknowledged', 'superseded')", name=op.f('ck_feedback_letter_status_known')),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['user.id'], name=op.f('fk_feedback_letter_acknowledged_by_id_user')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_feedback_letter_agency_id_agency')),
    sa.ForeignKeyConstraint(['community_id'], ['area.id'], name=op.f('fk_feedback_letter_community_id_area')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['user.id'], name=op.f('fk_feedback_letter_issued_by_id_user')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['feedback_letter.id'], name=op.f('fk_feedback_letter_supersedes_id_feedback_letter')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_letter')),
    sa.UniqueConstraint('serial', name=op.f('uq_feedback_letter_serial')),
    sa.UniqueConstraint('supersedes_id', name=op.f('uq_feedback_letter_supersedes_id'))
    )
    with op.batch_alter_table('feedback_letter', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_letter_agency_year', ['agency_id', 'year'], unique=False)
        batch_op.create_index('ix_feedback_letter_community_year', ['community_id', 'year'], unique=False)
        batch_op.create_index('uq_feedback_letter_in_force', ['community_id', 'agency_id', 'year', 'period'], unique=True, sqlite_where=sa.text("status != 'superseded'"), postgresql_where=sa.text("status != 'superseded'"))

    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('letter_id', sa.Integer(), nullable=True))
        batch_op.alter_column('whistle_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_notice_letter_id'), ['letter_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_notice_letter_id_feedback_letter'), 'feedback_letter', ['letter_id'], ['id'])
        batch_op.drop_constraint(batch_op.f("ck_notice_kind_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_notice_kind_known"), f"kind IN ({WHISTLE_KINDS}, 'letter')")
        batch_op.create_check_constraint(
            batch_op.f("ck_notice_of_something"), "whistle_id IS NOT NULL OR letter_id IS NOT NULL"
        )



def downgrade():
    op.execute("DELETE FROM notice WHERE letter_id IS NOT NULL")
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_notice_of_something"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_notice_kind_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_notice_kind_known"), f"kind IN ({WHISTLE_KINDS})")
        batch_op.drop_constraint(batch_op.f('fk_notice_letter_id_feedback_letter'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_notice_letter_id'))
        batch_op.alter_column('whistle_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('letter_id')

    with op.batch_alter_table('feedback_letter', schema=None) as batch_op:
        batch_op.drop_index('uq_feedback_letter_in_force', sqlite_where=sa.text("status != 'superseded'"), postgresql_where=sa.text("status != 'superseded'"))
        batch_op.drop_index('ix_feedback_letter_community_year')
        batch_op.drop_index('ix_feedback_letter_agency_year')

    op.drop_table('feedback_letter')
