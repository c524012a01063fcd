"""dates and provenance: first publication date for sources and articles, a content-only hash for all items

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("sources", "practice_examples", "articles")


def upgrade() -> None:
    for table in ("sources", "articles"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("published_at", sa.DateTime(), nullable=True))
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("content_hash", sa.String(length=64), server_default="", nullable=False))
    # What is published already counts as published at its last change: the best date the database knows.
    for table in TABLES:
        op.execute(sa.text(f"UPDATE {table} SET published_at = updated_at "  # noqa: S608 (fixed table names)
                           "WHERE published_at IS NULL AND status = 'gepubliceerd'"))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("content_hash")
    for table in ("sources", "articles"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("published_at")
