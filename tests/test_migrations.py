"""The schema changes only through migrations, and an upgrade keeps the data."""

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, text

from lib.customers import create_customer, search_customers
from lib.db import downgrade, make_engine, migrate, reading
from lib.deliveries import list_deliveries
from lib.models import Base, Customer, OfferCounter, StockImport, Vehicle
from lib.offers import data_version, get_offer, list_offers, status_counts
from lib.views import Viewer

WATCHED = ("offers", "customers", "vehicles", "deliveries", "users", "lost_reasons")

# What the database holds on purpose and the models do not declare: the data
# version the triggers move, and the text indexes each backend searches with.
UNDECLARED = {
    "sqlite": {
        ("remove_table", "data_versions"),
        ("remove_table", "offer_search"),
        ("remove_table", "offer_search_config"),
        ("remove_table", "offer_search_data"),
        ("remove_table", "offer_search_docsize"),
        ("remove_table", "offer_search_idx"),
    },
    "postgresql": {
        ("remove_table", "data_versions"),
        ("remove_index", "ix_offers_search_trgm"),
    },
}


def fill_first_schema(connection) -> None:
    connection.execute(
        text(
            "INSERT INTO stock_imports (id, file_name, sha256, imported_rows, "
            "skipped_rows, created_at) VALUES (1, 'stock-enero.csv', "
            f"'{'a' * 64}', 1, 2, '2026-01-02 08:00:00+00:00')"
        )
    )
    connection.execute(
        text("INSERT INTO offer_counters (year, last_value) VALUES (2026, 2)")
    )
    connection.execute(
        text(
            "INSERT INTO users (id, username, full_name, email, phone, role, active, "
            "created_at) VALUES (1, 'lucia', 'Lucía Fernández', '', '', 'SALES', true, "
            "'2026-01-02 09:00:00+00:00')"
        )
    )
    connection.execute(
        text(
            "INSERT INTO vehicles (id, make, model, version, colour, fuel, gear, condition, "
            "availability, price_cents, vin, commission_number, stock_import_id, "
            "created_at) VALUES (1, 'SEAT', 'León', 'FR', 'Rojo', 'Gasolina', "
            "'Manual', 'USED', 'IN_STOCK', 2345000, 'VSSZZZKJZRR012345', 'C026001', "
            "1, '2026-01-02 09:00:00+00:00')"
        )
    )
    connection.execute(
        text(
            "INSERT INTO customers (id, first_name, last_name, phone, email, tax_id, "
            "created_at, created_by_id) VALUES (1, 'Íñigo', 'Muñoz Peñalver', "
            "'+34612345678', 'inigo@correo.example', '12345678Z', "
            "'2026-01-02 09:00:00+00:00', 1)"
        )
    )
    offers = (
        (1, "FOLLOW_UP", 0.8, "'2026-01-04 11:00:00+00:00'", 1, "NULL"),
        (2, "LOST", 0.2, "NULL", 0, "'2026-01-05 12:00:00+00:00'"),
    )
    for offer_id, status, temperature, delivered, count, closed in offers:
        connection.execute(
            text(
                "INSERT INTO offers (id, number, request_token, status, vehicle_id, "
                "customer_id, salesperson_id, price_cents, discount_cents, temperature, "
                "notes, created_at, updated_at, last_delivered_at, delivery_count, "
                f"closed_at) VALUES ({offer_id}, '2026-00000{offer_id}', "
                f"'token{offer_id}', '{status}', 1, 1, 1, 2345000, 45000, {temperature}, "
                "'Nota', '2026-01-03 10:00:00+00:00', '2026-01-03 10:00:00+00:00', "
                f"{delivered}, {count}, {closed})"
            )
        )
    deliveries = (
        (1, "EMAIL", "", "FAILED", "El servidor de correo no responde.", ""),
        (2, "PRINT", "Íñigo Muñoz Peñalver", "SENT", "", "b" * 64),
    )
    for delivery_id, channel, recipient, result, error, sha256 in deliveries:
        connection.execute(
            text(
                "INSERT INTO deliveries (id, offer_id, request_token, channel, "
                "recipient, user_id, result, error, document_sha256, created_at, "
                f"finished_at) VALUES ({delivery_id}, 1, 'delivery{delivery_id}', "
                f"'{channel}', '{recipient}', 1, '{result}', '{error}', '{sha256}', "
                f"'2026-01-04 1{delivery_id}:00:00+00:00', "
                f"'2026-01-04 1{delivery_id}:00:05+00:00')"
            )
        )


def test_upgrade_from_first_schema_keeps_offers(engine):
    # The engine fixture is migrated already: take it back to the first
    # schema, write rows as that schema had them, and upgrade again.
    downgrade(engine, "0001")
    with engine.begin() as connection:
        fill_first_schema(connection)

    migrate(engine)

    following = get_offer(engine, 1)
    assert following.number == "2026-000001"
    assert following.customer.full_name == "Íñigo Muñoz Peñalver"
    assert following.customer.tax_id == "12345678Z"
    assert following.prices.total_cents == 2300000
    assert following.notes == "Nota"
    assert following.revision == 1
    assert following.delivery_count == 1
    assert following.last_delivered_at == datetime(2026, 1, 4, 11, tzinfo=UTC)
    assert following.vehicle.vin == "VSSZZZKJZRR012345"
    lost = get_offer(engine, 2)
    assert lost.closed_at == datetime(2026, 1, 5, 12, tzinfo=UTC)
    assert [
        (d.id, d.channel, d.recipient, d.user_name, d.result, d.error)
        for d in list_deliveries(engine, 1)
    ] == [
        (2, "PRINT", "Íñigo Muñoz Peñalver", "Lucía Fernández", "SENT", ""),
        (
            1,
            "EMAIL",
            "",
            "Lucía Fernández",
            "FAILED",
            "El servidor de correo no responde.",
        ),
    ]
    assert list_deliveries(engine, 1)[0].document_sha256 == "b" * 64
    assert list_deliveries(engine, 1)[0].finished_at == datetime(
        2026, 1, 4, 12, 0, 5, tzinfo=UTC
    )
    with reading(engine) as session:
        assert session.get(OfferCounter, 2026).last_value == 2
        stock_import = session.get(StockImport, 1)
        assert (stock_import.file_name, stock_import.imported_rows) == (
            "stock-enero.csv",
            1,
        )
        assert session.get(Vehicle, 1).stock_import_id == 1
        assert session.get(Customer, 1).created_by_id == 1
    assert status_counts(engine) == {"FOLLOW_UP": 1, "WON": 0, "LOST": 1}
    found = list_offers(engine, viewer=Viewer(1, "SALES"), search="penalver")
    assert [offer.number for offer in found.offers] == ["2026-000002", "2026-000001"]
    # The customers' search text is filled in for the customers already there.
    assert [c.full_name for c in search_customers(engine, "INIGO")] == [
        "Íñigo Muñoz Peñalver"
    ]


def test_list_by_date_keeps_its_index_after_an_analysed_upgrade(sqlite_url):
    # SQLite's plan; PostgreSQL keeps its statistics up to date on its own.
    engine = make_engine(sqlite_url)
    downgrade(engine, "0005")
    with engine.begin() as connection:
        fill_first_schema(connection)
        connection.exec_driver_sql("ANALYZE")
        # The statistics of a database of 100,000 offers, analysed before
        # the temperature indexes existed.
        connection.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = 'offers'")
        connection.exec_driver_sql(
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES "
            "('offers', 'ix_offers_status_created', '100000 33334 1 1'), "
            "('offers', 'ix_offers_created', '100000 1 1'), "
            "('offers', 'ix_offers_status_band', '100000 33334 8334')"
        )

    migrate(engine)

    with engine.connect() as connection:
        plan = connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id, created_at FROM offers "
            "WHERE status = 'FOLLOW_UP' ORDER BY created_at DESC, id DESC LIMIT 51"
        ).all()
    assert [row[-1] for row in plan] == [
        "SEARCH offers USING COVERING INDEX ix_offers_status_created (status=?)"
    ]


def _differences(diffs: list) -> set[tuple[str, str]]:
    """Each difference as (what, name): a table, an index, or table.column."""
    named = set()
    for diff in diffs:
        for change in diff if isinstance(diff, list) else [diff]:
            if change[0].startswith(("modify_", "add_column", "remove_column")):
                column = (
                    change[3] if change[0].startswith("modify_") else change[3].name
                )
                named.add((change[0], f"{change[2]}.{column}"))
            else:
                named.add((change[0], str(getattr(change[1], "name", change[1]))))
    return named


def test_models_match_the_newest_migration(engine):
    # Server defaults are left out: migrations give new NOT NULL columns one
    # to fill the rows already there, and the models set their values in Python.
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)

    assert _differences(diffs) == UNDECLARED[engine.dialect.name]


def _version(engine) -> int:
    with reading(engine) as session:
        return data_version(session)


def _version_triggers(engine) -> set[str]:
    if engine.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = (
            "SELECT tgname || CASE WHEN tgdeferrable THEN ' deferred' ELSE '' END "
            "FROM pg_trigger WHERE NOT tgisinternal"
        )
    with engine.connect() as connection:
        names = connection.scalars(text(query)).all()
    return {name for name in names if "_version" in name}


def _expected_triggers(engine, revision: str) -> set[str]:
    if engine.dialect.name == "sqlite":
        return {
            f"{t}_{e}_version" for t in WATCHED for e in ("insert", "update", "delete")
        }
    if revision == "0003":
        return {f"{table}_version" for table in WATCHED}
    return {f"{t}_version_at_commit deferred" for t in WATCHED} | {
        f"{t}_version_truncate" for t in WATCHED
    }


def _two_customers(connection) -> int:
    """Write two customers in one transaction; the version seen inside it."""
    for name in ("Ana", "Berta"):
        connection.execute(
            insert(Customer.__table__).values(
                first_name=name, last_name="Gil Ibáñez", phone=f"61200000{len(name)}"
            )
        )
    return data_version(connection)


def test_a_write_moves_the_data_version_once_at_commit(engine):
    before = _version(engine)

    with engine.begin() as connection:
        inside = _two_customers(connection)

    after = _version(engine)
    assert _version_triggers(engine) == _expected_triggers(engine, "head")
    if engine.dialect.name == "postgresql":
        # Deferred to the commit, so not yet moved (nor locked) inside, and
        # moved once for the whole transaction.
        assert (inside, after) == (before, before + 1)
    else:
        assert (inside, after) == (before + 2, before + 2)


def test_data_version_moves_after_a_downgrade_to_its_first_triggers_and_back(engine):
    downgrade(engine, "0003")
    assert _version_triggers(engine) == _expected_triggers(engine, "0003")
    before = _version(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO customers (first_name, last_name, phone, created_at) "
                "VALUES ('Ana', 'Gil', '612000001', '2026-01-02 09:00:00+00:00')"
            )
        )
    assert _version(engine) == before + 1

    migrate(engine)

    assert _version_triggers(engine) == _expected_triggers(engine, "head")
    before = _version(engine)
    create_customer(engine, first_name="Berta", last_name="Gil", phone="612000002")
    assert _version(engine) == before + 1
    with engine.begin() as connection:
        _two_customers(connection)
    moved = 1 if engine.dialect.name == "postgresql" else 2
    assert _version(engine) == before + 1 + moved
