"""one counter layer: the tallies' member facts and cells count hours by month; the service's
member-year tallies and community months are dropped (issue 14, item 4)

Revision ID: d4e8b1c7a2f5
Revises: c3d9a6f1e2b4
Create Date: 2026-12-02 17:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d4e8b1c7a2f5"
down_revision = "c3d9a6f1e2b4"
branch_labels = None
depends_on = None

MONTHS = [f"month_{month}" for month in range(1, 13)]
record = sa.table(
    "service_record",
    sa.column("member_id", sa.Integer),
    sa.column("community_id", sa.Integer),
    sa.column("year", sa.Integer),
    sa.column("service_date", sa.Date),
    sa.column("half_hours", sa.Integer),
    sa.column("status", sa.String),
)
fact = sa.table(
    "member_fact",
    sa.column("year", sa.Integer),
    sa.column("member_id", sa.Integer),
    sa.column("agency_id", sa.Integer),
    sa.column("community_id", sa.Integer),
    *(sa.column(name, sa.Integer) for name in MONTHS),
)
cell = sa.table(
    "tally_cell",
    sa.column("year", sa.Integer),
    sa.column("agency_id", sa.Integer),
    sa.column("community_id", sa.Integer),
    *(sa.column(name, sa.Integer) for name in MONTHS),
)
approved = record.c.status == "approved"
month = sa.extract("month", record.c.service_date)


def _sum(value, *where):
    return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*where), value), else_=0)), 0)


def upgrade():
    for table in ("member_fact", "tally_cell"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in MONTHS:
                batch_op.add_column(sa.Column(name, sa.Integer(), server_default="0", nullable=False))
    # The kept facts and cells get their months from the records.
    op.execute(
        fact.update().values(
            {
                name: sa.select(_sum(record.c.half_hours, approved, month == number))
                .where(record.c.member_id == fact.c.member_id, record.c.year == fact.c.year)
                .scalar_subquery()
                for number, name in enumerate(MONTHS, start=1)
            }
        )
    )
    op.execute(
        cell.update().values(
            {
                name: sa.select(sa.func.coalesce(sa.func.sum(fact.c[name]), 0))
                .where(
                    fact.c.year == cell.c.year,
                    fact.c.agency_id == cell.c.agency_id,
                    sa.func.coalesce(fact.c.community_id, 0) == cell.c.community_id,
                )
                .scalar_subquery()
                for name in MONTHS
            }
        )
    )
    with op.batch_alter_table("member_year_tally", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_year_tally_year"))
    op.drop_table("member_year_tally")
    op.drop_table("community_month")


def downgrade():
    op.create_table(
        "community_month",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("approved_half_hours", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["community_id"], ["area.id"], name=op.f("fk_community_month_community_id_area")),
        sa.PrimaryKeyConstraint("community_id", "year", "month", name=op.f("pk_community_month")),
    )
    op.create_table(
        "member_year_tally",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("approved_half_hours", sa.Integer(), nullable=False),
        sa.Column("approved_entries", sa.Integer(), nullable=False),
        sa.Column("pending_entries", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name=op.f("fk_member_year_tally_member_id_member")),
        sa.PrimaryKeyConstraint("member_id", "year", name=op.f("pk_member_year_tally")),
    )
    with op.batch_alter_table("member_year_tally", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_year_tally_year"), ["year"], unique=False)
    # Their counters, from the records.
    tally = sa.table(
        "member_year_tally",
        *(
            sa.column(name)
            for name in ("member_id", "year", "approved_half_hours", "approved_entries", "pending_entries")
        ),
    )
    op.execute(
        tally.insert().from_select(
            [c.name for c in tally.columns],
            sa.select(
                record.c.member_id,
                record.c.year,
                _sum(record.c.half_hours, approved),
                _sum(1, approved),
                _sum(1, record.c.status == "submitted"),
            ).group_by(record.c.member_id, record.c.year),
        )
    )
    months = sa.table(
        "community_month", *(sa.column(name) for name in ("community_id", "year", "month", "approved_half_hours"))
    )
    op.execute(
        months.insert().from_select(
            [c.name for c in months.columns],
            sa.select(record.c.community_id, record.c.year, month, sa.func.sum(record.c.half_hours))
            .where(approved)
            .group_by(record.c.community_id, record.c.year, month),
        )
    )
    for table in ("tally_cell", "member_fact"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in reversed(MONTHS):
                batch_op.drop_column(name)
