import threading
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from lib import formatting
from lib.activities import add_activity, list_activities, list_events
from lib.customers import create_customer, record_email_consent
from lib.db import make_engine, reading
from lib.errors import InvalidInput, InvalidState, NotAllowed, NotFound
from lib.lost_reasons import list_lost_reasons
from lib.models import Availability, Offer, OfferStatus, Role, SecurityEvent
from lib.offers import (
    OfferFilter,
    attach_customer,
    create_offer,
    find_offer,
    get_offer,
    list_offers,
    mark_lost,
    mark_won,
    offers_table,
    reassign_offer,
    reopen_offer,
    status_counts,
    temperature_band_counts,
    update_terms,
    vehicle_in_other_offers,
)
from lib.users import create_user
from lib.vehicles import create_factory_order, get_vehicle, update_vehicle_identifiers
from lib.views import Viewer


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
        co2_gkm=118,
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


def seller(person) -> Viewer:
    return Viewer(user_id=person.id, role=Role.SALES)


def first_reason(engine) -> int:
    return list_lost_reasons(engine)[0].id


def denied(engine) -> list[tuple[int, str]]:
    statement = select(SecurityEvent.user_id, SecurityEvent.detail).where(
        SecurityEvent.event == "ACCESS_DENIED"
    )
    with reading(engine) as session:
        return [tuple(row) for row in session.execute(statement)]


def count_offers(engine) -> int:
    with reading(engine) as session:
        return session.scalar(select(func.count(Offer.id)))


def test_create_offer_stores_it_en_seguimiento_with_number(
    engine, vehicle, salesperson, customer
):
    moment = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)

    offer = new_offer(
        engine,
        vehicle,
        salesperson,
        customer_id=customer.id,
        discount_cents=45000,
        now=moment,
    )

    stored = get_offer(engine, offer.id)
    assert stored.number == "2026-000001"
    assert stored.status == OfferStatus.FOLLOW_UP
    assert stored.created_at == moment
    assert stored.customer.full_name == "Íñigo Muñoz Peñalver"
    assert stored.prices.total_cents == 2300000
    assert stored.prices.base_cents + stored.prices.vat_cents == 2300000
    assert stored.last_delivered_at is None


def test_new_vehicle_over_120_gkm_pays_registration_tax(engine, salesperson):
    vehicle = create_factory_order(
        engine,
        make="CUPRA",
        model="Formentor",
        version="",
        colour="",
        price_cents=2345000,
    )

    with pytest.raises(InvalidInput, match="emisiones de CO2"):
        new_offer(engine, vehicle, salesperson)
    offer = new_offer(engine, vehicle, salesperson, discount_cents=45000, co2_gkm=132)

    prices = get_offer(engine, offer.id).prices
    assert prices.subtotal_cents == 2300000
    assert prices.base_cents + prices.vat_cents == 2300000
    # 4,75 % of the base without IVA (19.008,26 €), rounded half up.
    assert prices.registration_tax_cents == 90289
    assert prices.total_cents == 2390289
    assert get_vehicle(engine, vehicle.id).co2_gkm == 132


def test_offer_numbers_follow_each_other_and_restart_each_year(
    engine, vehicle, salesperson
):
    first = new_offer(
        engine, vehicle, salesperson, now=datetime(2026, 12, 31, 12, tzinfo=UTC)
    )
    second = new_offer(
        engine, vehicle, salesperson, now=datetime(2026, 12, 31, 13, tzinfo=UTC)
    )
    # 23:30 UTC on New Year's Eve is already 2027 in Madrid.
    third = new_offer(
        engine, vehicle, salesperson, now=datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    )

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
        results.append(
            new_offer(engine, vehicle, salesperson, request_token=token).number
        )

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 4
    assert len(set(results)) == 1
    assert count_offers(engine) == 1


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ({"temperature": 1.5}, InvalidInput, "entre 0 % y 100 %"),
        ({"discount_cents": 2345000}, InvalidInput, "no puede igualar ni superar"),
        ({"discount_cents": -1}, InvalidInput, "no pueden ser negativos"),
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

    attached = attach_customer(
        engine, offer.id, customer.id, viewer=seller(salesperson)
    )

    assert attached.customer.id == customer.id
    assert get_offer(engine, offer.id).customer.email == "inigo.munoz@correo.example"


def test_attach_customer_refuses_to_replace_one(engine, vehicle, salesperson, customer):
    offer = new_offer(engine, vehicle, salesperson, customer_id=customer.id)
    other = create_customer(engine, first_name="Begoña", phone="634567890")

    with pytest.raises(InvalidState, match="ya tiene cliente"):
        attach_customer(engine, offer.id, other.id, viewer=seller(salesperson))
    assert get_offer(engine, offer.id).customer.id == customer.id


def test_mark_won_closes_offer_and_sells_vehicle(engine, vehicle, salesperson):
    offer = new_offer(engine, vehicle, salesperson)

    won = mark_won(engine, offer.id, viewer=seller(salesperson))

    assert won.status == OfferStatus.WON
    assert get_vehicle(engine, vehicle.id).availability == Availability.SOLD
    with pytest.raises(InvalidState, match="ya está cerrada como Éxito"):
        mark_lost(
            engine, offer.id, viewer=seller(salesperson), reason_id=first_reason(engine)
        )
    assert get_offer(engine, offer.id).status == OfferStatus.WON


def test_sale_date_before_the_offer_is_refused(engine, vehicle, salesperson):
    offer = new_offer(
        engine, vehicle, salesperson, now=datetime(2026, 11, 20, tzinfo=UTC)
    )

    with pytest.raises(InvalidInput) as refused:
        mark_won(
            engine, offer.id, viewer=seller(salesperson), sold_on=date(2026, 11, 19)
        )

    assert refused.value.message == (
        "La fecha de venta no puede ser anterior a la oferta, creada el 20/11/2026."
    )
    assert get_offer(engine, offer.id).status == OfferStatus.FOLLOW_UP
    assert get_vehicle(engine, vehicle.id).availability == Availability.IN_STOCK
    sold = mark_won(
        engine, offer.id, viewer=seller(salesperson), sold_on=date(2026, 11, 20)
    )
    assert sold.closed_at.date() == date(2026, 11, 19)  # midnight in Madrid, in UTC


def test_mark_lost_keeps_vehicle_available(engine, vehicle, salesperson):
    offer = new_offer(engine, vehicle, salesperson)

    lost = mark_lost(
        engine, offer.id, viewer=seller(salesperson), reason_id=first_reason(engine)
    )

    assert lost.status == OfferStatus.LOST
    assert get_vehicle(engine, vehicle.id).availability == Availability.IN_STOCK


def test_list_offers_filters_by_status_and_search_and_pages_by_key(
    engine, vehicle, salesperson, customer
):
    offers = [
        new_offer(engine, vehicle, salesperson, now=datetime(2026, 11, day, tzinfo=UTC))
        for day in range(1, 8)
    ]
    attach_customer(engine, offers[0].id, customer.id, viewer=seller(salesperson))
    mark_lost(
        engine, offers[1].id, viewer=seller(salesperson), reason_id=first_reason(engine)
    )

    following = list_offers(engine, status=OfferStatus.FOLLOW_UP, page_size=4)
    second_page = list_offers(
        engine, status=OfferStatus.FOLLOW_UP, page_size=4, cursor=following.next_cursor
    )
    found = list_offers(engine, search="PENALVER")
    by_accentless_name = list_offers(engine, search="inigo munoz")
    by_phone = list_offers(engine, search="612 34 56")
    by_vin = list_offers(engine, search="VSSZZZKJZRR012345")

    assert (following.total, following.total_is_exact) == (6, True)
    assert [o.number for o in following.offers] == [
        "2026-000007",
        "2026-000006",
        "2026-000005",
        "2026-000004",
    ]
    assert [o.number for o in second_page.offers] == ["2026-000003", "2026-000001"]
    assert second_page.next_cursor is None
    assert [o.number for o in found.offers] == ["2026-000001"]
    assert [o.number for o in by_accentless_name.offers] == ["2026-000001"]
    assert [o.number for o in by_phone.offers] == ["2026-000001"]
    assert by_vin.total == 7
    assert status_counts(engine) == {"FOLLOW_UP": 6, "WON": 0, "LOST": 1}


def test_list_offers_filters_by_band_dates_salesperson_and_model(
    engine, vehicle, salesperson, customer
):
    other = create_user(engine, username="jordi", full_name="Jordi Puig")
    cold = new_offer(
        engine,
        vehicle,
        salesperson,
        temperature=0.1,
        now=datetime(2026, 10, 1, tzinfo=UTC),
    )
    hot = new_offer(
        engine, vehicle, other, temperature=0.9, now=datetime(2026, 11, 20, tzinfo=UTC)
    )

    def numbers(**values):
        return [
            o.number for o in list_offers(engine, filters=OfferFilter(**values)).offers
        ]

    assert numbers(band=3) == [hot.number]
    assert numbers(band=0) == [cold.number]
    assert numbers(salesperson_id=other.id) == [hot.number]
    assert numbers(created_from=date(2026, 11, 1)) == [hot.number]
    assert numbers(created_to=date(2026, 10, 31)) == [cold.number]
    assert numbers(make="SEAT", model="León") == [hot.number, cold.number]
    assert numbers(make="SEAT", model="Ibiza") == []


def test_comercial_sees_only_own_offers_and_refusal_is_logged(
    engine, vehicle, salesperson
):
    other = create_user(engine, username="jordi", full_name="Jordi Puig")
    mine = new_offer(engine, vehicle, salesperson)
    theirs = new_offer(engine, vehicle, other)
    manager = Viewer(
        user_id=create_user(
            engine, username="marta", full_name="Marta", role=Role.MANAGER
        ).id,
        role=Role.MANAGER,
    )

    assert [
        o.number for o in list_offers(engine, viewer=seller(salesperson)).offers
    ] == [mine.number]
    assert list_offers(engine, viewer=manager).total == 2
    assert status_counts(engine, seller(salesperson)) == {
        "FOLLOW_UP": 1,
        "WON": 0,
        "LOST": 0,
    }
    with pytest.raises(NotFound, match="No existe esa oferta") as refused:
        get_offer(engine, theirs.id, seller(salesperson))
    with pytest.raises(NotFound, match="No existe esa oferta") as missing:
        get_offer(engine, 999999, seller(salesperson))
    assert refused.value.message == missing.value.message
    with pytest.raises(NotFound):
        find_offer(engine, theirs.number, seller(salesperson))
    with pytest.raises(NotFound):
        mark_won(engine, theirs.id, viewer=seller(salesperson))
    assert get_offer(engine, theirs.id).status == OfferStatus.FOLLOW_UP
    with reading(engine) as session:
        events = list(session.scalars(select(SecurityEvent.event)))
    assert events == ["ACCESS_DENIED", "ACCESS_DENIED", "ACCESS_DENIED"]


def test_status_history_records_every_change(engine, vehicle, salesperson):
    viewer = seller(salesperson)
    offer = new_offer(
        engine, vehicle, salesperson, now=datetime(2026, 11, 2, tzinfo=UTC)
    )
    mark_lost(
        engine,
        offer.id,
        viewer=viewer,
        reason_id=first_reason(engine),
        competitor_make="Toyota",
        competitor_model="Corolla",
    )
    lost = get_offer(engine, offer.id)
    reopen_offer(engine, offer.id, viewer=viewer, note="Vuelve a interesarse")
    mark_won(engine, offer.id, viewer=viewer, sold_on=date(2026, 12, 1))

    history = [
        (e.kind, e.from_value, e.to_value)
        for e in list_events(engine, offer.id, viewer=viewer)
    ]
    assert lost.lost_reason == "Compró otra marca"
    assert lost.competitor == "Toyota Corolla"
    assert history == [
        ("CREATED", "", "FOLLOW_UP"),
        ("STATUS", "FOLLOW_UP", "LOST"),
        ("REOPENED", "LOST", "FOLLOW_UP"),
        ("STATUS", "FOLLOW_UP", "WON"),
    ]
    won = get_offer(engine, offer.id)
    assert formatting.day(won.closed_at) == "01/12/2026"
    assert status_counts(engine) == {"FOLLOW_UP": 0, "WON": 1, "LOST": 0}


def test_mark_lost_requires_a_reason(engine, vehicle, salesperson):
    offer = new_offer(engine, vehicle, salesperson)

    with pytest.raises(InvalidInput, match="Elija el motivo"):
        mark_lost(engine, offer.id, viewer=seller(salesperson))
    assert get_offer(engine, offer.id).status == OfferStatus.FOLLOW_UP


def test_reassign_is_for_managers_and_moves_counts(engine, vehicle, salesperson):
    other = create_user(engine, username="jordi", full_name="Jordi Puig")
    offer = new_offer(engine, vehicle, salesperson)
    manager = Viewer(
        user_id=create_user(
            engine, username="marta", full_name="Marta", role=Role.MANAGER
        ).id,
        role=Role.MANAGER,
    )

    with pytest.raises(NotAllowed, match="Solo un gerente"):
        reassign_offer(engine, offer.id, other.id, viewer=seller(salesperson))
    assert get_offer(engine, offer.id).salesperson.full_name == salesperson.full_name
    assert denied(engine) == [(salesperson.id, f"reassign offer {offer.id}")]
    moved = reassign_offer(engine, offer.id, other.id, viewer=manager)

    assert moved.salesperson.full_name == "Jordi Puig"
    assert status_counts(engine, seller(salesperson))["FOLLOW_UP"] == 0
    assert status_counts(engine, seller(other))["FOLLOW_UP"] == 1


def test_activities_and_due_follow_ups(engine, vehicle, salesperson):
    viewer = seller(salesperson)
    due = new_offer(engine, vehicle, salesperson)
    later = new_offer(engine, vehicle, salesperson)
    today = formatting.local(datetime.now(UTC)).date()

    add_activity(
        engine,
        due.id,
        viewer=viewer,
        kind="CALL",
        note="Pide financiación",
        next_contact_on=today,
    )
    add_activity(
        engine,
        later.id,
        viewer=viewer,
        kind="TEST_DRIVE",
        next_contact_on=date(2099, 1, 1),
    )

    [activity] = list_activities(engine, due.id, viewer=viewer)
    assert (activity.kind, activity.note, activity.user_name) == (
        "CALL",
        "Pide financiación",
        "Lucía Fernández Ibáñez",
    )
    assert [
        o.number for o in list_offers(engine, filters=OfferFilter(due_only=True)).offers
    ] == [due.number]
    row = offers_table([get_offer(engine, due.id)]).iloc[0]
    assert row["Avisos"] == "⏰ Contactar"
    with pytest.raises(InvalidInput, match="no puede haber pasado"):
        add_activity(
            engine,
            later.id,
            viewer=viewer,
            kind="CALL",
            next_contact_on=date(2020, 1, 1),
        )
    with pytest.raises(InvalidInput, match="Escriba la nota"):
        add_activity(engine, due.id, viewer=viewer, kind="NOTE", note=" ")


def test_expired_offer_is_flagged_not_changed(engine, vehicle, salesperson):
    old = new_offer(engine, vehicle, salesperson, now=datetime(2026, 1, 5, tzinfo=UTC))

    expired = list_offers(engine, filters=OfferFilter(expired_only=True))

    assert [o.number for o in expired.offers] == [old.number]
    assert offers_table(expired.offers).iloc[0]["Avisos"] == "⌛ Caducada"
    assert get_offer(engine, old.id).status == OfferStatus.FOLLOW_UP


def test_vehicle_in_other_open_offer_is_pointed_out(engine, vehicle, salesperson):
    first = new_offer(engine, vehicle, salesperson)

    assert vehicle_in_other_offers(engine, vehicle.id) == [
        f"{first.number} (en Seguimiento, Lucía Fernández Ibáñez)"
    ]
    assert vehicle_in_other_offers(engine, vehicle.id, excluding=first.id) == []


def test_vehicle_in_another_salespersons_offer_is_pointed_out_without_naming_it(
    engine, vehicle, salesperson
):
    other = create_user(engine, username="jordi", full_name="Jordi Puig")
    theirs = new_offer(engine, vehicle, other)
    mine = new_offer(engine, vehicle, salesperson)
    manager = Viewer(user_id=other.id, role=Role.MANAGER)

    assert vehicle_in_other_offers(
        engine, vehicle.id, excluding=mine.id, viewer=seller(salesperson)
    ) == ["una oferta de otro comercial (en Seguimiento)"]
    assert vehicle_in_other_offers(
        engine, vehicle.id, excluding=theirs.id, viewer=seller(salesperson)
    ) == [f"{mine.number} (en Seguimiento, Lucía Fernández Ibáñez)"]
    assert vehicle_in_other_offers(
        engine, vehicle.id, excluding=mine.id, viewer=manager
    ) == [f"{theirs.number} (en Seguimiento, Jordi Puig)"]


def test_offer_is_found_by_identifiers_given_to_its_vehicle_later(engine, salesperson):
    ordered = create_factory_order(
        engine,
        make="CUPRA",
        model="Born",
        version="",
        colour="",
        price_cents=3_999_000,
        order_number="PED-1",
        co2_gkm=0,
    )
    offer = new_offer(engine, ordered, salesperson, price_cents=3_999_000)
    assert list_offers(engine, search="WVWZZZE1ZPP123456").total == 0

    update_vehicle_identifiers(
        engine,
        ordered.id,
        vin="WVWZZZE1ZPP123456",
        order_number="PED-2",
        commission_number="C-777001",
    )

    for query in ("WVWZZZE1ZPP123456", "C-777001", "ped-2"):
        found = list_offers(engine, search=query)
        assert [o.number for o in found.offers] == [offer.number], query
    assert list_offers(engine, search="PED-1").total == 0


def test_new_identifiers_or_salesperson_mark_a_delivered_offer_as_changed(
    engine, vehicle, salesperson, customer, tmp_path
):
    from lib.config import Settings
    from lib.deliveries import deliver_offer

    viewer = seller(salesperson)
    offer = new_offer(engine, vehicle, salesperson, customer_id=customer.id)
    closed = new_offer(engine, vehicle, salesperson, customer_id=customer.id)
    mark_lost(engine, closed.id, viewer=viewer, reason_id=first_reason(engine))
    deliver_offer(
        engine,
        offer.id,
        channel="PRINT",
        viewer=viewer,
        request_token=uuid.uuid4().hex,
        settings=Settings(outbox_dir=tmp_path),
    )
    assert get_offer(engine, offer.id).changed_since_delivery is False

    update_vehicle_identifiers(
        engine,
        vehicle.id,
        vin="VSSZZZKJZRR012346",
        order_number="P1234567",
        commission_number="C026001",
        updated_by_id=salesperson.id,
    )

    changed = get_offer(engine, offer.id)
    assert (changed.revision, changed.changed_since_delivery) == (2, True)
    assert get_offer(engine, closed.id).revision == 1
    last = list_events(engine, offer.id, viewer=viewer)[-1]
    assert (last.kind, last.from_value, last.to_value, last.user_name) == (
        "VEHICLE",
        "Bastidor VSSZZZKJZRR012345 · Pedido P1234567 · Comisión C026001",
        "Bastidor VSSZZZKJZRR012346 · Pedido P1234567 · Comisión C026001",
        "Lucía Fernández Ibáñez",
    )
    # Saving the same identifiers again changes nothing.
    update_vehicle_identifiers(
        engine,
        vehicle.id,
        vin="VSSZZZKJZRR012346",
        order_number="P1234567",
        commission_number="C026001",
    )
    assert get_offer(engine, offer.id).revision == 2

    other = create_user(engine, username="jordi", full_name="Jordi Puig")
    manager = Viewer(
        create_user(engine, username="marta", full_name="Marta", role=Role.MANAGER).id,
        Role.MANAGER,
    )
    reassign_offer(engine, offer.id, other.id, viewer=manager)
    assert get_offer(engine, offer.id).revision == 3


def test_update_terms_makes_a_new_revision(engine, vehicle, salesperson):
    offer = new_offer(engine, vehicle, salesperson)

    changed = update_terms(
        engine,
        offer.id,
        viewer=seller(salesperson),
        discount_cents=50000,
        options_cents=120000,
        transport_cents=35000,
        temperature=0.8,
        notes="Incluye alfombrillas",
    )

    assert changed.revision == 2
    assert changed.prices.subtotal_cents == 2345000 + 120000 - 50000 + 35000
    history = list_events(engine, offer.id, viewer=None)
    assert [(e.from_value, e.to_value) for e in history if e.to_value][-2:] == [
        ("", "Revisión 2"),
        ("60\xa0%", "80\xa0%"),
    ]
    assert status_counts(engine) == {"FOLLOW_UP": 1, "WON": 0, "LOST": 0}
    bands = temperature_band_counts(engine)
    assert list(bands.itertuples(index=False, name=None)) == [
        ("Muy caliente", "en Seguimiento", 1)
    ]


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
    assert row["Vehículo"] == "🟢 En stock"
    assert row["Modelo"] == "SEAT León FR 1.5 TSI"
    assert row["Bastidor"] == "VSSZZZKJZRR012345"
    assert row["Nº pedido"] == "P1234567"
    assert row["Nº comisión"] == "C026001"
    assert row["Total"] == "23.450,00\xa0€"


def test_temperature_band_counts_group_in_sql(engine, vehicle, salesperson):
    for temperature in (0.1, 0.2, 0.55, 0.9, 0.95):
        new_offer(engine, vehicle, salesperson, temperature=temperature)
    won = new_offer(engine, vehicle, salesperson, temperature=0.9)
    mark_won(engine, won.id, viewer=seller(salesperson))

    frame = temperature_band_counts(engine)
    counts = {(row.band, row.status): row.offers for row in frame.itertuples()}

    assert counts == {
        ("Fría", "en Seguimiento"): 2,
        ("Caliente", "en Seguimiento"): 1,
        ("Muy caliente", "en Seguimiento"): 2,
        ("Muy caliente", "Éxito"): 1,
    }


def test_a_page_shown_again_carries_the_vehicle_and_customer_as_they_are_now(
    engine, vehicle, salesperson, customer
):
    offer = new_offer(engine, vehicle, salesperson, customer_id=customer.id)
    shown = list_offers(engine).offers
    assert [(o.number, o.vehicle.vin, o.customer.email_consent_at) for o in shown] == [
        (offer.number, vehicle.vin, None)
    ]

    other = make_engine(engine.url.render_as_string(hide_password=False))
    update_vehicle_identifiers(
        other,
        vehicle.id,
        vin="VSSZZZKJZRR099999",
        order_number="P7654321",
        commission_number=None,
    )
    record_email_consent(
        other, customer.id, "IN_PERSON", viewer=Viewer(salesperson.id, Role.SALES)
    )
    other.dispose()

    again = list_offers(engine).offers[0]
    assert (again.vehicle.vin, again.vehicle.order_number) == (
        "VSSZZZKJZRR099999",
        "P7654321",
    )
    assert again.customer.email_consent_at is not None


def test_cached_list_and_chart_follow_every_write_even_from_another_process(
    engine, vehicle, salesperson, customer
):
    searched = OfferFilter(search="peñalver")
    first = new_offer(engine, vehicle, salesperson, customer_id=customer.id)
    assert [o.number for o in list_offers(engine, filters=searched).offers] == [
        first.number
    ]
    assert temperature_band_counts(engine, filters=searched)["offers"].sum() == 1

    # Another app process has an engine of its own on the same database.
    other = make_engine(engine.url.render_as_string(hide_password=False))
    second = new_offer(other, vehicle, salesperson, customer_id=customer.id)
    mark_won(other, first.id)
    other.dispose()

    again = list_offers(engine, filters=searched)
    assert [o.number for o in again.offers] == [second.number, first.number]
    bands = temperature_band_counts(engine, filters=searched)
    assert sorted(bands["status"]) == ["en Seguimiento", "Éxito"]
