"""regional coordinators: region grants (who coordinates which region, granted and revoked by whom and when) and the
coordinator's consent to be named on the region pages

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "region_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_region_grants_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], name=op.f("fk_region_grants_region_id_regions"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["granted_by_id"], ["users.id"], name=op.f("fk_region_grants_granted_by_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["users.id"], name=op.f("fk_region_grants_revoked_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_region_grants")),
    )
    op.create_index(op.f("ix_region_grants_user_id"), "region_grants", ["user_id"])
    op.create_index(op.f("ix_region_grants_region_id"), "region_grants", ["region_id"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("coordinator_public_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("coordinator_public_at")
    op.drop_index(op.f("ix_region_grants_region_id"), table_name="region_grants")
    op.drop_index(op.f("ix_region_grants_user_id"), table_name="region_grants")
    op.drop_table("region_grants")
