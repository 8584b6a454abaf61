"""Customers found by name without minding case or accents, on every database

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lib.search import fold

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5_000


def upgrade() -> None:
    # A plain ADD COLUMN: a batch copy would drop the table's SQLite triggers.
    op.add_column(
        "customers",
        sa.Column("search_text", sa.Text(), nullable=False, server_default=""),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, first_name, last_name, phone, email, tax_id FROM customers")
    ).all()
    update = sa.text("UPDATE customers SET search_text = :text WHERE id = :id")
    for start in range(0, len(rows), BATCH):
        connection.execute(
            update,
            [
                {"id": row[0], "text": fold(*row[1:])}
                for row in rows[start : start + BATCH]
            ],
        )


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("search_text")
    if op.get_bind().dialect.name != "sqlite":
        return
    # A batch copy of a SQLite table leaves its triggers behind: put them back.
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER IF NOT EXISTS customers_{event.lower()}_version "
            f"AFTER {event} ON customers BEGIN UPDATE data_versions "
            "SET value = value + 1 WHERE name = 'offers'; END"
        )
