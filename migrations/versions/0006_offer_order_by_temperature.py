"""Indexes that let the Ofertas list be sorted by temperature, page by page

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_offers_temperature": ["temperature", "id"],
    "ix_offers_status_temperature": ["status", "temperature", "id"],
    "ix_offers_salesperson_status_temperature": [
        "salesperson_id",
        "status",
        "temperature",
        "id",
    ],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "offers", columns)
    # A database analysed before has no statistics for the new indexes, and
    # SQLite would then take one of them for the list by date and sort every
    # match: measure them now, as the older ones were.
    op.execute("ANALYZE offers")


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="offers")
