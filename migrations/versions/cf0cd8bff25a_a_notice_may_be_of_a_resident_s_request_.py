"""a notice may be of a resident's request: the community's secretaries hear of each new one

Revision ID: cf0cd8bff25a
Revises: 84f352578614
Create Date: 2026-12-03 10:35:20.273594

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'cf0cd8bff25a'
down_revision = '84f352578614'
branch_labels = None
depends_on = None


KINDS = "'summoned', 'handled', 'declined', 'escalated', 'due_sign', 'due_contact', 'due_handle', 'letter'"


def upgrade():
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_notice_request_id"), ["request_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_notice_request_id_resident_request"), "resident_request", ["request_id"], ["id"]
        )
        batch_op.drop_constraint(batch_op.f("ck_notice_kind_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_notice_kind_known"), f"kind IN ({KINDS}, 'request')")
        batch_op.drop_constraint(batch_op.f("ck_notice_of_something"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_notice_of_something"),
            "whistle_id IS NOT NULL OR letter_id IS NOT NULL OR request_id IS NOT NULL",
        )


def downgrade():
    op.execute("DELETE FROM notice WHERE request_id IS NOT NULL")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_notice_of_something"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_notice_of_something"), "whistle_id IS NOT NULL OR letter_id IS NOT NULL"
        )
        batch_op.drop_constraint(batch_op.f("ck_notice_kind_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_notice_kind_known"), f"kind IN ({KINDS})")
        batch_op.drop_constraint(batch_op.f("fk_notice_request_id_resident_request"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_notice_request_id"))
        batch_op.drop_column("request_id")
