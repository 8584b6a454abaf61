"""Follow-up, outcomes, consent, credentials, price lines and offer search

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lib.search import fold

LOST_REASONS = [
    "Compró otra marca",
    "Compró otro modelo de la marca en otro concesionario",
    "Financiación denegada",
    "Plazo de entrega",
    "Valoración del vehículo usado",
    "Precio",
    "No contesta",
    "Aplaza la compra",
]

BAND_CASE = (
    "CASE WHEN temperature < 0.25 THEN 0 WHEN temperature < 0.5 THEN 1 "
    "WHEN temperature < 0.75 THEN 2 ELSE 3 END"
)


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lost_reasons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("label"),
    )
    op.create_table(
        "offer_counts",
        sa.Column("salesperson_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("band", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("offers", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["salesperson_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("salesperson_id", "status", "band"),
    )
    op.create_table(
        "security_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("security_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_security_events_at"), ["at"], unique=False)

    op.create_table(
        "activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("happened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activities_offer_happened", ["offer_id", "happened_at"], unique=False
        )

    op.create_table(
        "offer_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_value", sa.String(length=255), nullable=False),
        sa.Column("to_value", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("offer_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_offer_events_offer_at", ["offer_id", "at"], unique=False
        )

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_consent_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "email_consent_method",
                sa.String(length=40),
                nullable=False,
                server_default="",
            )
        )

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offer_revision", sa.Integer(), nullable=True))

    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "options_cents", sa.BigInteger(), nullable=False, server_default="0"
            )
        )
        batch_op.add_column(
            sa.Column(
                "transport_cents", sa.BigInteger(), nullable=False, server_default="0"
            )
        )
        batch_op.add_column(
            sa.Column(
                "registration_tax_cents",
                sa.BigInteger(),
                nullable=False,
                server_default="0",
            )
        )
        batch_op.add_column(
            sa.Column("band", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("valid_until", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("revision", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column("delivered_revision", sa.Integer(), nullable=True)
        )
        batch_op.add_column(sa.Column("next_contact_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("lost_reason_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "competitor_make",
                sa.String(length=80),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column(
                "competitor_model",
                sa.String(length=120),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column("search_text", sa.Text(), nullable=False, server_default="")
        )
        batch_op.drop_index(batch_op.f("ix_offers_created"))
        batch_op.create_index("ix_offers_created", ["created_at", "id"], unique=False)
        batch_op.drop_index(batch_op.f("ix_offers_status_created"))
        batch_op.create_index(
            "ix_offers_status_created", ["status", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_offers_last_delivered", ["last_delivered_at"], unique=False
        )
        batch_op.create_index(
            "ix_offers_next_contact", ["status", "next_contact_on"], unique=False
        )
        batch_op.create_index(
            "ix_offers_salesperson_status_created",
            ["salesperson_id", "status", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index("ix_offers_status_band", ["status", "band"], unique=False)
        batch_op.create_foreign_key(
            "fk_offers_lost_reason_id", "lost_reasons", ["lost_reason_id"], ["id"]
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("password_hash", sa.String(length=255), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "must_change_password",
                sa.Boolean(),
                nullable=False,
                server_default=sa.true(),
            )
        )
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("oidc_subject", sa.String(length=255), nullable=True)
        )
        batch_op.create_unique_constraint("uq_users_oidc_subject", ["oidc_subject"])

    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("co2_gkm", sa.Integer(), nullable=True))

    _backfill()
    _create_search_index()


def downgrade() -> None:
    _drop_search_index()
    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.drop_column("co2_gkm")

    with op.batch_alter_table("users", schema=None) as batch_op:
        # WARNING: constraint name is None; this directive will fail as
        # rendered.  Add a name, or use a naming convention; see
        # https://alembic.sqlalchemy.org/en/latest/naming.html
        batch_op.drop_constraint("uq_users_oidc_subject", type_="unique")
        batch_op.drop_column("oidc_subject")
        batch_op.drop_column("last_login_at")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("password_hash")

    with op.batch_alter_table("offers", schema=None) as batch_op:
        # WARNING: constraint name is None; this directive will fail as
        # rendered.  Add a name, or use a naming convention; see
        # https://alembic.sqlalchemy.org/en/latest/naming.html
        batch_op.drop_constraint("fk_offers_lost_reason_id", type_="foreignkey")
        batch_op.drop_index("ix_offers_status_band")
        batch_op.drop_index("ix_offers_salesperson_status_created")
        batch_op.drop_index("ix_offers_next_contact")
        batch_op.drop_index("ix_offers_last_delivered")
        batch_op.drop_index("ix_offers_status_created")
        batch_op.create_index(
            batch_op.f("ix_offers_status_created"),
            ["status", "created_at"],
            unique=False,
        )
        batch_op.drop_index("ix_offers_created")
        batch_op.create_index(
            batch_op.f("ix_offers_created"), ["created_at"], unique=False
        )
        batch_op.drop_column("search_text")
        batch_op.drop_column("competitor_model")
        batch_op.drop_column("competitor_make")
        batch_op.drop_column("lost_reason_id")
        batch_op.drop_column("next_contact_on")
        batch_op.drop_column("delivered_revision")
        batch_op.drop_column("revision")
        batch_op.drop_column("valid_until")
        batch_op.drop_column("band")
        batch_op.drop_column("registration_tax_cents")
        batch_op.drop_column("transport_cents")
        batch_op.drop_column("options_cents")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("offer_revision")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("email_consent_method")
        batch_op.drop_column("email_consent_at")

    with op.batch_alter_table("offer_events", schema=None) as batch_op:
        batch_op.drop_index("ix_offer_events_offer_at")

    op.drop_table("offer_events")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index("ix_activities_offer_happened")

    op.drop_table("activities")
    with op.batch_alter_table("security_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_security_events_at"))

    op.drop_table("security_events")
    op.drop_table("offer_counts")
    op.drop_table("lost_reasons")


def _backfill() -> None:
    """Fill the new columns of offers that already exist."""
    bind = op.get_bind()
    lost_reasons = sa.table(
        "lost_reasons",
        sa.column("label", sa.String),
        sa.column("active", sa.Boolean),
        sa.column("position", sa.Integer),
    )
    op.bulk_insert(
        lost_reasons,
        [
            {"label": label, "active": True, "position": index}
            for index, label in enumerate(LOST_REASONS)
        ],
    )
    op.execute(f"UPDATE offers SET band = {BAND_CASE}")
    rows = bind.execute(
        sa.text(
            "SELECT o.id, o.number, c.first_name, c.last_name, c.phone, c.email, "
            "c.tax_id, v.make, v.model, v.version, v.vin, v.order_number, "
            "v.commission_number FROM offers o JOIN vehicles v ON v.id = o.vehicle_id "
            "LEFT JOIN customers c ON c.id = o.customer_id"
        )
    ).all()
    for row in rows:
        bind.execute(
            sa.text("UPDATE offers SET search_text = :text WHERE id = :id"),
            {"text": fold(*row[1:]), "id": row[0]},
        )
    op.execute(
        "INSERT INTO offer_counts (salesperson_id, status, band, offers) "
        "SELECT salesperson_id, status, band, COUNT(*) FROM offers "
        "GROUP BY salesperson_id, status, band"
    )
    op.execute(
        "INSERT INTO offer_events "
        "(offer_id, kind, from_value, to_value, user_id, at, note) "
        "SELECT id, 'CREATED', '', 'FOLLOW_UP', salesperson_id, created_at, '' "
        "FROM offers"
    )


def _create_search_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # A trigram index answers substring searches of three or more
        # characters without reading the offers table row by row.
        op.execute(
            "CREATE VIRTUAL TABLE offer_search USING fts5("
            "search_text, content='offers', content_rowid='id', tokenize='trigram')"
        )
        op.execute(
            "CREATE TRIGGER offer_search_insert AFTER INSERT ON offers BEGIN "
            "INSERT INTO offer_search(rowid, search_text) "
            "VALUES (new.id, new.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER offer_search_delete AFTER DELETE ON offers BEGIN "
            "INSERT INTO offer_search(offer_search, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER offer_search_update AFTER UPDATE OF search_text ON offers "
            "BEGIN INSERT INTO offer_search(offer_search, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); "
            "INSERT INTO offer_search(rowid, search_text) "
            "VALUES (new.id, new.search_text); END"
        )
        op.execute("INSERT INTO offer_search(offer_search) VALUES ('rebuild')")
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_offers_search_trgm ON offers "
            "USING gin (search_text gin_trgm_ops)"
        )


def _drop_search_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS offer_search_{trigger}")
        op.execute("DROP TABLE IF EXISTS offer_search")
    else:
        op.execute("DROP INDEX IF EXISTS ix_offers_search_trgm")
