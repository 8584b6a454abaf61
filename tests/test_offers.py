import threading
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from lib.customers import create_customer
from lib.db import reading
from lib.errors import InvalidInput, InvalidState, NotFound
from lib.models import Availability, Offer, OfferStatus
from lib.offers import (
    attach_customer,
    create_offer,
    get_offer,
    list_offers,
    mark_lost,
    mark_won,
    offers_table,
    status_counts,
    temperature_band_counts,
)
from lib.vehicles import create_factory_order, get_vehicle, update_vehicle_identifiers


@pytest.fixture
def vehicle(engine):
    made = create_factory_order(
        engine,
        make="SEAT",
        model="León",
        version="FR 1.5 TSI",
        colour="Rojo Desire",
        price_cents=2345000,
        order_number="P1234567",
    )
    return update_vehicle_identifiers(
        engine,
        made.id,
        vin="VSSZZZKJZRR012345",
        order_number="P1234567",
        commission_number="C026001",
        availability=Availability.IN_STOCK,
    )


@pytest.fixture
def customer(engine):
    return create_customer(
        engine,
        first_name="Íñigo",
        last_name="Muñoz Peñalver",
        phone="612345678",
        email="inigo.munoz@correo.example",
    )


def new_offer(engine, vehicle, salesperson, **values):
    arguments = {
        "request_token": uuid.uuid4().hex,
        "vehicle_id": vehicle.id,
        "salesperson_id": salesperson.id,
        "price_cents": vehicle.price_cents,
        "temperature": 0.6,
    }
    arguments.update(values)
    return create_offer(engine, **arguments)


def count_offers(engine) -> int:
    with reading(engine) as session:
        return session.scalar(select(func.count(Offer.id)))


def test_create_offer_stores_it_en_seguimiento_with_number(engine, vehicle, salesperson, customer):
    moment = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)

    offer = new_offer(
        engine, vehicle, salesperson, customer_id=customer.id, discount_cents=45000, now=moment
    )

    stored = get_offer(engine, offer.id)
    assert stored.number == "2026-000001"
    assert stored.status == OfferStatus.FOLLOW_UP
    assert stored.created_at == moment
    assert stored.customer.full_name == "Íñigo Muñoz Peñalver"
    assert stored.prices.total_cents == 2300000
    assert stored.prices.base_cents + stored.prices.vat_cents == 2300000
    assert stored.last_delivered_at is None


def test_offer_numbers_follow_each_other_and_restart_each_year(engine, vehicle, salesperson):
    first = new_offer(engine, vehicle, salesperson, now=datetime(2026, 12, 31, 12, tzinfo=UTC))
    second = new_offer(engine, vehicle, salesperson, now=datetime(2026, 12, 31, 13, tzinfo=UTC))
    # 23:30 UTC on New Year's Eve is already 2027 in Madrid.
    third = new_offer(engine, vehicle, salesperson, now=datetime(2026, 12, 31, 23, 30, tzinfo=UTC))

    assert [first.number, second.number, third.number] == [
        "2026-000001",
        "2026-000002",
        "2027-000001",
    ]


def test_same_request_token_stores_one_offer(engine, vehicle, salesperson):
    token = uuid.uuid4().hex

    first = new_offer(engine, vehicle, salesperson, request_token=token)
    again = new_offer(engine, vehicle, salesperson, request_token=token)

    assert again.id == first.id
    assert count_offers(engine) == 1


def test_concurrent_double_click_stores_one_offer(engine, vehicle, salesperson):
    token = uuid.uuid4().hex
    results = []

    def click() -> None:
        results.append(new_offer(engine, vehicle, salesperson, request_token=token).number)

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == ["2026-000001"] * 4 or len(set(results)) == 1
    assert count_offers(engine) == 1


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ({"temperature": 1.5}, InvalidInput, "entre 0 % y 100 %"),
        ({"discount_cents": 2345000}, InvalidInput, "no puede igualar ni superar"),
        ({"discount_cents": -1}, InvalidInput, "no puede ser negativo"),
        ({"vehicle_id": 999999}, NotFound, "ya no existe"),
        ({"customer_id": 999999}, NotFound, "El cliente no existe"),
    ],
)
def test_create_offer_rejects_bad_input_and_stores_nothing(
    engine, vehicle, salesperson, values, error, message
):
    with pytest.raises(error, match=message):
        new_offer(engine, vehicle, salesperson, **values)
    assert count_offers(engine) == 0


def test_attach_customer_to_offer_without_one(engine, vehicle, salesperson, customer):
    offer = new_offer(engine, vehicle, salesperson)

    attached = attach_customer(engine, offer.id, customer.id, user_id=salesperson.id)

    assert attached.customer.id == customer.id
    assert get_offer(engine, offer.id).customer.email == "inigo.munoz@correo.example"


def test_attach_customer_refuses_to_replace_one(engine, vehicle, salesperson, customer):
    offer = new_offer(engine, vehicle, salesperson, customer_id=customer.id)
    other = create_customer(engine, first_name="Begoña", phone="634567890")

    with pytest.raises(InvalidState, match="ya tiene cliente"):
        attach_customer(engine, offer.id, other.id, user_id=salesperson.id)
    assert get_offer(engine, offer.id).customer.id == customer.id


def test_mark_won_closes_offer_and_sells_vehicle(engine, vehicle, salesperson):
    offer = new_offer(engine, vehicle, salesperson)

    won = mark_won(engine, offer.id, user_id=salesperson.id)

    assert won.status == OfferStatus.WON
    assert get_vehicle(engine, vehicle.id).availability == Availability.SOLD
    with pytest.raises(InvalidState, match="ya está cerrada como Éxito"):
        mark_lost(engine, offer.id, user_id=salesperson.id)
    assert get_offer(engine, offer.id).status == OfferStatus.WON


def test_mark_lost_keeps_vehicle_available(engine, vehicle, salesperson):
    offer = new_offer(engine, vehicle, salesperson)

    lost = mark_lost(engine, offer.id, user_id=salesperson.id)

    assert lost.status == OfferStatus.LOST
    assert get_vehicle(engine, vehicle.id).availability == Availability.IN_STOCK


def test_list_offers_filters_by_status_and_search_and_pages(engine, vehicle, salesperson, customer):
    offers = [
        new_offer(engine, vehicle, salesperson, now=datetime(2026, 11, day, tzinfo=UTC))
        for day in range(1, 8)
    ]
    attach_customer(engine, offers[0].id, customer.id, user_id=salesperson.id)
    mark_lost(engine, offers[1].id, user_id=salesperson.id)

    following = list_offers(engine, status=OfferStatus.FOLLOW_UP, page_size=4)
    second_page = list_offers(engine, status=OfferStatus.FOLLOW_UP, page=2, page_size=4)
    found = list_offers(engine, search="peñalver")
    by_vin = list_offers(engine, search="VSSZZZKJZRR012345")

    assert following.total == 6
    assert following.pages == 2
    assert [o.number for o in following.offers] == [
        "2026-000007",
        "2026-000006",
        "2026-000005",
        "2026-000004",
    ]
    assert [o.number for o in second_page.offers] == ["2026-000003", "2026-000001"]
    assert [o.number for o in found.offers] == ["2026-000001"]
    assert by_vin.total == 7
    assert status_counts(engine) == {"FOLLOW_UP": 6, "WON": 0, "LOST": 1}


def test_offers_table_shows_spanish_values(engine, vehicle, salesperson, customer):
    offer = new_offer(
        engine,
        vehicle,
        salesperson,
        customer_id=customer.id,
        temperature=0.8,
        now=datetime(2026, 12, 3, 9, tzinfo=UTC),
    )

    row = offers_table([get_offer(engine, offer.id)]).iloc[0]

    assert row["Número"] == "2026-000001"
    assert row["Estado"] == "en Seguimiento"
    assert row["Creada"] == "03/12/2026"
    assert row["Última entrega"] == ""
    assert row["Cliente"] == "Íñigo Muñoz Peñalver"
    assert row["Teléfono"] == "612 34 56 78"
    assert row["Temperatura"] == "🔥 80\xa0%"
    assert row["Vehículo"] == "🟢"
    assert row["Modelo"] == "SEAT León FR 1.5 TSI"
    assert row["Bastidor"] == "VSSZZZKJZRR012345"
    assert row["Nº pedido"] == "P1234567"
    assert row["Nº comisión"] == "C026001"
    assert row["Total"] == "23.450,00\xa0€"


def test_temperature_band_counts_group_in_sql(engine, vehicle, salesperson):
    for temperature in (0.1, 0.2, 0.55, 0.9, 0.95):
        new_offer(engine, vehicle, salesperson, temperature=temperature)
    won = new_offer(engine, vehicle, salesperson, temperature=0.9)
    mark_won(engine, won.id, user_id=salesperson.id)

    frame = temperature_band_counts(engine)
    counts = {(row.band, row.status): row.offers for row in frame.itertuples()}

    assert counts == {
        ("Fría", "en Seguimiento"): 2,
        ("Caliente", "en Seguimiento"): 1,
        ("Muy caliente", "en Seguimiento"): 2,
        ("Muy caliente", "Éxito"): 1,
    }
