"""search outbox read in commit order: transaction ids (PostgreSQL), ids never reused (SQLite)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # xid8 is 64 bits with the epoch: it never wraps around, so it fits a bigint and only grows.
        op.add_column(
            "search_outbox",
            sa.Column("txid", sa.BigInteger(), nullable=True,
                      server_default=sa.text("(pg_current_xact_id())::text::bigint")),
        )
    else:
        # Rebuilt with AUTOINCREMENT: SQLite otherwise reuses the highest id after rows are deleted.
        with op.batch_alter_table("search_outbox", recreate="always",
                                  table_kwargs={"sqlite_autoincrement": True}) as batch:
            batch.add_column(sa.Column("txid", sa.BigInteger(), nullable=True))
    op.create_index("ix_search_outbox_txid", "search_outbox", ["txid"])


def downgrade() -> None:
    op.drop_index("ix_search_outbox_txid", table_name="search_outbox")
    with op.batch_alter_table("search_outbox") as batch:
        batch.drop_column("txid")
