"""A version number of the offers' data, moved by the database on every write

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Everything the Ofertas list, its counts and its chart are made of.
WATCHED = ("offers", "customers", "vehicles", "deliveries", "users", "lost_reasons")


def upgrade() -> None:
    op.create_table(
        "data_versions",
        sa.Column("name", sa.String(length=40), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.execute("INSERT INTO data_versions (name, value) VALUES ('offers', 0)")
    if op.get_bind().dialect.name == "sqlite":
        for table in WATCHED:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_{event.lower()}_version "
                    f"AFTER {event} ON {table} "
                    "BEGIN UPDATE data_versions SET value = value + 1 "
                    "WHERE name = 'offers'; END"
                )
        return
    op.execute(
        "CREATE FUNCTION bump_offers_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN UPDATE data_versions SET value = value + 1 WHERE name = 'offers'; "
        "RETURN NULL; END $$"
    )
    for table in WATCHED:
        op.execute(
            f"CREATE TRIGGER {table}_version "
            "AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_offers_version()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{event}_version")
    else:
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_version ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bump_offers_version()")
    op.drop_table("data_versions")
