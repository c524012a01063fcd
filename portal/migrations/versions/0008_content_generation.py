"""content generation: one row that every commit changing public content moves on (page cache key)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_generation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
    )
    op.execute(sa.text("INSERT INTO content_generation (id, value, changed_at) VALUES (1, 1, CURRENT_TIMESTAMP)"))


def downgrade() -> None:
    op.drop_table("content_generation")
