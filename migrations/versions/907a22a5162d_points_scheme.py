"""points scheme (issue 19, part 3): what each kind of counted work is worth in a service year, and the
points each of five stars needs; points themselves are computed from the tallies' facts, not stored

Revision ID: 907a22a5162d
Revises: d58b19bd7254
Create Date: 2026-12-10 09:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "907a22a5162d"
down_revision = "d58b19bd7254"
branch_labels = None
depends_on = None

VALUES = (
    "per_hour",
    "per_activity",
    "per_report",
    "grade_excellent",
    "grade_good",
    "grade_fair",
    "grade_poor",
    "per_whistle",
    "star_1",
    "star_2",
    "star_3",
    "star_4",
    "star_5",
)


def upgrade():
    op.create_table(
        "point_scheme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in VALUES),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            " AND ".join(f"{name} BETWEEN 0 AND 100000" for name in VALUES),
            name=op.f("ck_point_scheme_values_in_range"),
        ),
        sa.CheckConstraint(
            "star_1 < star_2 AND star_2 < star_3 AND star_3 < star_4 AND star_4 < star_5",
            name=op.f("ck_point_scheme_stars_increasing"),
        ),
        sa.ForeignKeyConstraint(["updated_by_id"], ["user.id"], name=op.f("fk_point_scheme_updated_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_scheme")),
        sa.UniqueConstraint("year", name=op.f("uq_point_scheme_year")),
    )


def downgrade():
    op.drop_table("point_scheme")
