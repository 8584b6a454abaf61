"""The schema changes only through migrations, and an upgrade keeps the data."""

from sqlalchemy import inspect, text

from lib.db import downgrade, make_engine, migrate
from lib.models import Base
from lib.offers import get_offer, list_offers, status_counts
from lib.views import Viewer


def fill_first_schema(connection) -> None:
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
            "availability, price_cents, vin, commission_number, created_at) VALUES "
            "(1, 'SEAT', 'León', 'FR', 'Rojo', 'Gasolina', 'Manual', 'USED', 'IN_STOCK', "
            "2345000, 'VSSZZZKJZRR012345', 'C026001', '2026-01-02 09:00:00+00:00')"
        )
    )
    connection.execute(
        text(
            "INSERT INTO customers (id, first_name, last_name, phone, email, created_at) "
            "VALUES (1, 'Íñigo', 'Muñoz Peñalver', '+34612345678', "
            "'inigo@correo.example', '2026-01-02 09:00:00+00:00')"
        )
    )
    for offer_id, status, temperature in ((1, "FOLLOW_UP", 0.8), (2, "LOST", 0.2)):
        connection.execute(
            text(
                "INSERT INTO offers (id, number, request_token, status, vehicle_id, "
                "customer_id, salesperson_id, price_cents, discount_cents, temperature, "
                "notes, created_at, updated_at, delivery_count) VALUES "
                f"({offer_id}, '2026-00000{offer_id}', 'token{offer_id}', '{status}', 1, 1, "
                f"1, 2345000, 45000, {temperature}, 'Nota', "
                "'2026-01-03 10:00:00+00:00', '2026-01-03 10:00:00+00:00', 0)"
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
    assert following.prices.total_cents == 2300000
    assert following.notes == "Nota"
    assert following.revision == 1
    assert status_counts(engine) == {"FOLLOW_UP": 1, "WON": 0, "LOST": 1}
    found = list_offers(engine, viewer=Viewer(1, "SALES"), search="penalver")
    assert [offer.number for offer in found.offers] == ["2026-000002", "2026-000001"]


def test_models_match_the_newest_migration(sqlite_url):
    engine = make_engine(sqlite_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()

    assert set(Base.metadata.tables) <= tables
