"""list indexes: published examples in title and place order, and lookups by theme, school type and region

Without them every list page (/voorbeelden, theme and region pages, /api/voorbeelden) sorted or scanned all
examples: at 10,000 examples /voorbeelden cost 20 ms per request for one page of 12 cards.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 07:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# name -> (table, columns); lower() as in portal.content.catalog._ordered (A-Z for people on every database)
INDEXES = {
    "ix_practice_examples_title_order": ("practice_examples", ["status", sa.text("lower(title)"), "slug"]),
    "ix_practice_examples_place_order": ("practice_examples",
                                         ["status", sa.text("lower(place)"), sa.text("lower(title)"), "slug"]),
    "ix_practice_examples_province_id": ("practice_examples", ["province_id"]),
    "ix_practice_examples_youth_region_id": ("practice_examples", ["youth_region_id"]),
    "ix_practice_examples_gemeente_id": ("practice_examples", ["gemeente_id"]),
    "ix_example_themes_theme_id": ("example_themes", ["theme_id", "example_id"]),
    "ix_example_school_types_school_type_id": ("example_school_types", ["school_type_id", "example_id"]),
}


#: "nieuwste" order (catalog._ordered): NULLs last. SQLite puts NULLs last in a descending index anyway and refuses
#: NULLS LAST in CREATE INDEX; PostgreSQL needs it said to match the ORDER BY.
NEWEST = "ix_practice_examples_newest_order"


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)
    nulls = " NULLS LAST" if op.get_bind().dialect.name == "postgresql" else ""
    op.create_index(NEWEST, "practice_examples", ["status", sa.text(f"published_at DESC{nulls}"),
                                                  sa.text(f"start_year DESC{nulls}"), "title"])


def downgrade() -> None:
    op.drop_index(NEWEST, table_name="practice_examples")
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
