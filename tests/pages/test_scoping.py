"""Who sees what on the pages: a salesperson their own offers, a manager all."""

import uuid

import pytest
from sqlalchemy import select

from lib.db import reading
from lib.models import SecurityEvent
from lib.offers import create_offer
from lib.vehicles import create_factory_order

from .conftest import open_app
from .test_offer_flow import deliver_now, pick_customer


def offer_for(engine, salesperson, make: str, model: str):
    vehicle = create_factory_order(
        engine,
        make=make,
        model=model,
        version="",
        colour="",
        price_cents=2_500_000,
        co2_gkm=118,
    )
    return create_offer(
        engine,
        request_token=uuid.uuid4().hex,
        vehicle_id=vehicle.id,
        salesperson_id=salesperson.id,
        price_cents=vehicle.price_cents,
        temperature=0.5,
    )


@pytest.fixture
def offers(app_db, seller, other_seller):
    """One offer of Lucía's and one of Jordi's."""
    return {
        "lucia": offer_for(app_db, seller, "SEAT", "Ibiza"),
        "jordi": offer_for(app_db, other_seller, "Kia", "Ceed"),
    }


def denied_events(engine) -> list[tuple[int, str]]:
    statement = select(SecurityEvent.user_id, SecurityEvent.detail).where(
        SecurityEvent.event == "ACCESS_DENIED"
    )
    with reading(engine) as session:
        return [tuple(row) for row in session.execute(statement)]


def ofertas_page(username: str, **query: str):
    at = open_app(username)
    at.query_params.update(query)
    at.switch_page("pages/ofertas.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Ofertas"
    return at


def listed_numbers(at) -> list[str]:
    (table,) = [frame.value for frame in at.dataframe if "Número" in frame.value]
    return sorted(table["Número"])


def test_salesperson_lists_only_their_own_offers(app_db, offers) -> None:
    at = ofertas_page("lucia")

    assert listed_numbers(at) == [offers["lucia"].number]
    assert [metric.value for metric in at.metric][-1] == "1"


def test_manager_lists_every_offer(app_db, offers, manager) -> None:
    at = ofertas_page("marta")

    assert listed_numbers(at) == sorted(offer.number for offer in offers.values())


def test_salesperson_opens_their_own_offer_by_address(app_db, offers) -> None:
    mine = offers["lucia"]

    at = ofertas_page("lucia", oferta=mine.number)

    assert not at.error
    assert any(f"Oferta {mine.number}" in block.value for block in at.markdown)


def test_another_salespersons_offer_by_address_is_refused_like_a_missing_one(
    app_db, offers, seller
) -> None:
    theirs = offers["jordi"]

    refused = ofertas_page("lucia", oferta=theirs.number)
    missing = ofertas_page("lucia", oferta="2026-999999")

    assert [error.value for error in refused.error] == ["No existe esa oferta."]
    assert [error.value for error in missing.error] == ["No existe esa oferta."]
    assert not any(theirs.number in block.value for block in refused.markdown)
    assert denied_events(app_db)
    assert {user_id for user_id, _ in denied_events(app_db)} == {seller.id}
    assert all(str(theirs.id) in detail for _, detail in denied_events(app_db))
    recorded = len(denied_events(app_db))
    refused.run()
    assert "oferta" not in refused.query_params
    assert len(denied_events(app_db)) == recorded


def test_manager_opens_any_offer_by_address(app_db, offers, manager) -> None:
    theirs = offers["jordi"]

    at = ofertas_page("marta", oferta=theirs.number)

    assert not at.error
    assert any(f"Oferta {theirs.number}" in block.value for block in at.markdown)
    assert denied_events(app_db) == []


def test_resumen_refuses_an_offer_of_another_salesperson(app_db, offers) -> None:
    at = open_app("lucia")
    at.session_state["resumen_offer_id"] = offers["jordi"].id
    at.switch_page("pages/resumen.py").run()

    assert not at.exception, at.exception
    assert [error.value for error in at.error] == ["No existe esa oferta."]
    assert not any(offers["jordi"].number in s.value for s in at.success)


def test_what_a_logged_in_user_does_is_recorded_under_their_id(
    app_db, seller, manager, offers, known_customer
) -> None:
    from lib.models import Delivery, OfferEvent

    theirs = offers["lucia"]
    at = open_app("marta")
    at.query_params["oferta"] = theirs.number
    at.switch_page("pages/ofertas.py").run()

    pick_customer(at, "ofertas", "Muñoz", known_customer.id)
    deliver_now(at, "ofertas", theirs.id, "PRINT")

    assert not at.exception, at.exception
    with reading(app_db) as session:
        delivered_by = list(session.scalars(select(Delivery.user_id)))
        customer_by = list(
            session.scalars(
                select(OfferEvent.user_id).where(
                    OfferEvent.offer_id == theirs.id, OfferEvent.kind == "CUSTOMER"
                )
            )
        )
    assert delivered_by == [manager.id]
    assert customer_by == [manager.id]
