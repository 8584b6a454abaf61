"""Who imported stock, changed a vehicle, recorded a consent or edited a reason

Also an index on the security events by user name, for the lockout of names
that have no account.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column): each a nullable reference to the user who did it. Old rows
# keep NULL: who did them was not recorded then.
BY_COLUMNS = (
    ("stock_imports", "imported_by_id"),
    ("vehicles", "created_by_id"),
    ("vehicles", "updated_by_id"),
    ("customers", "email_consent_by_id"),
    ("lost_reasons", "changed_by_id"),
)
AT_COLUMNS = (("vehicles", "updated_at"), ("lost_reasons", "changed_at"))


def upgrade() -> None:
    # Plain ALTER TABLE ... ADD COLUMN, never a batch copy of the table: on
    # SQLite a copied table would lose the triggers that move the data version.
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column in BY_COLUMNS:
        if sqlite:
            # Alembic adds no constraint on SQLite; SQLite itself takes one
            # in ADD COLUMN when the column may be NULL.
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES users (id)"
            )
        else:
            op.add_column(
                table,
                sa.Column(column, sa.Integer(), sa.ForeignKey("users.id")),
            )
    for table, column in AT_COLUMNS:
        op.add_column(table, sa.Column(column, sa.DateTime(timezone=True)))
    op.create_index(
        "ix_security_events_username_at", "security_events", ["username", "at"]
    )


# Tables whose SQLite triggers move the data version (see 0003).
WATCHED = ("customers", "vehicles", "lost_reasons")


def downgrade() -> None:
    op.drop_index("ix_security_events_username_at", table_name="security_events")
    for table, column in AT_COLUMNS + BY_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
    if op.get_bind().dialect.name != "sqlite":
        return
    # A batch copy of a SQLite table leaves its triggers behind: put them back.
    for table in WATCHED:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS {table}_{event.lower()}_version "
                f"AFTER {event} ON {table} BEGIN UPDATE data_versions "
                "SET value = value + 1 WHERE name = 'offers'; END"
            )
