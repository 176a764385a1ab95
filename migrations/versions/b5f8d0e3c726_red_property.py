"""红色物业 (issue 17, item 6): property companies serving estates, their yearly ratings on six criteria, and
the year rule's brand thresholds

Revision ID: b5f8d0e3c726
Revises: a4e7c9d2b615
Create Date: 2026-12-03 09:00:00.000000

"""

from alembic import op
import sqlalchemy as sa

CRITERIA = ("leadership", "members", "mechanism", "cobuilding", "service", "residents")

# revision identifiers, used by Alembic.
revision = "b5f8d0e3c726"
down_revision = "a4e7c9d2b615"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "property_company",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["district_id"], ["area.id"], name=op.f("fk_property_company_district_id_area")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_property_company")),
        sa.UniqueConstraint("district_id", "name", name="uq_property_company_district_name"),
    )
    with op.batch_alter_table("property_company", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_property_company_district_id"), ["district_id"], unique=False)
    with op.batch_alter_table("estate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("property_company_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_estate_property_company_id"), ["property_company_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_estate_property_company_id_property_company"),
            "property_company",
            ["property_company_id"],
            ["id"],
        )
    op.create_table(
        "property_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("estate_id", sa.Integer(), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in CRITERIA),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.Column("rated_by_id", sa.Integer(), nullable=True),
        sa.Column("rated_at", sa.DateTime(), nullable=False),
        *(sa.CheckConstraint(f"{name} BETWEEN 1 AND 5", name=op.f(f"ck_property_rating_{name}_range")) for name in CRITERIA),
        sa.ForeignKeyConstraint(["community_id"], ["area.id"], name=op.f("fk_property_rating_community_id_area")),
        sa.ForeignKeyConstraint(
            ["company_id"], ["property_company.id"], name=op.f("fk_property_rating_company_id_property_company")
        ),
        sa.ForeignKeyConstraint(["estate_id"], ["estate.id"], name=op.f("fk_property_rating_estate_id_estate")),
        sa.ForeignKeyConstraint(["rated_by_id"], ["user.id"], name=op.f("fk_property_rating_rated_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_property_rating")),
        sa.UniqueConstraint("company_id", "year", "community_id", "estate_id", name="uq_property_rating"),
    )
    with op.batch_alter_table("property_rating", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_property_rating_company_id"), ["company_id"], unique=False)
        batch_op.create_index(
            "uq_property_rating_community",
            ["company_id", "year", "community_id"],
            unique=True,
            sqlite_where=sa.text("estate_id IS NULL"),
            postgresql_where=sa.text("estate_id IS NULL"),
        )
    with op.batch_alter_table("year_rule", schema=None) as batch_op:
        batch_op.add_column(sa.Column("brand_city_min", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("brand_district_min", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("year_rule", schema=None) as batch_op:
        batch_op.drop_column("brand_district_min")
        batch_op.drop_column("brand_city_min")
    with op.batch_alter_table("property_rating", schema=None) as batch_op:
        batch_op.drop_index("uq_property_rating_community")
        batch_op.drop_index(batch_op.f("ix_property_rating_company_id"))
    op.drop_table("property_rating")
    with op.batch_alter_table("estate", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_estate_property_company_id_property_company"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_estate_property_company_id"))
        batch_op.drop_column("property_company_id")
    with op.batch_alter_table("property_company", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_property_company_district_id"))
    op.drop_table("property_company")
