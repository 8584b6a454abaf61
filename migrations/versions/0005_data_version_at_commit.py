"""On PostgreSQL, move the data version once per transaction, at its commit

0003's triggers updated the single row of ``data_versions`` after every
statement, so a transaction held that row's lock from its first write on and
took other rows after it. Finishing a delivery writes its log row (and so the
version row), then the offer; a change of terms locks the offer, then writes
the version row: crossing order, and one of the two dies of a deadlock. Here
the triggers are deferred to the commit: the version row is the last lock a
transaction takes, held only while it commits, and it is written once however
many rows changed (a stock import of 46,000 vehicles moves it once). Readers
still see either the old data with the old version or the new data with the
new one, since the version moves inside the writing transaction.

SQLite keeps 0003's triggers: a writer there takes the write lock at BEGIN, so
nothing can cross.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables 0003 watches.
WATCHED = ("offers", "customers", "vehicles", "deliveries", "users", "lost_reasons")

# A transaction-local setting remembers that this transaction has moved the
# version already; it holds the transaction's id so that a value left in the
# session by hand can never stop a later transaction's bump.
BUMP_ONCE = """
CREATE FUNCTION bump_offers_version_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('offerdesk.version_bumped', true)
            IS DISTINCT FROM pg_current_xact_id()::text THEN
        PERFORM set_config(
            'offerdesk.version_bumped', pg_current_xact_id()::text, true
        );
        UPDATE data_versions SET value = value + 1 WHERE name = 'offers';
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table in WATCHED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_version ON {table}")
    op.execute("DROP FUNCTION IF EXISTS bump_offers_version()")
    op.execute(BUMP_ONCE)
    for table in WATCHED:
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_version_at_commit "
            f"AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            "EXECUTE FUNCTION bump_offers_version_once()"
        )
        # A constraint trigger cannot watch TRUNCATE: this one moves the
        # version at once. TRUNCATE locks the whole table anyway, and only
        # tests and maintenance use it.
        op.execute(
            f"CREATE TRIGGER {table}_version_truncate AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION bump_offers_version_once()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table in WATCHED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_version_at_commit ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_version_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS bump_offers_version_once()")
    # 0003's triggers, as 0003 made them.
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
