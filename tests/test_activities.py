"""Follow-up activities: their day, the next contact, and what is refused."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from lib import formatting
from lib.activities import add_activity, list_activities
from lib.errors import InvalidInput
from lib.models import Role
from lib.offers import create_offer, get_offer
from lib.vehicles import create_factory_order
from lib.views import Viewer

CREATED = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def offer(engine, salesperson):
    vehicle = create_factory_order(
        engine,
        make="SEAT",
        model="Arona",
        version="",
        colour="",
        price_cents=2_200_000,
        co2_gkm=120,
    )
    return create_offer(
        engine,
        request_token=uuid.uuid4().hex,
        vehicle_id=vehicle.id,
        salesperson_id=salesperson.id,
        price_cents=vehicle.price_cents,
        temperature=0.5,
        now=CREATED,
    )


@pytest.fixture
def viewer(salesperson) -> Viewer:
    return Viewer(user_id=salesperson.id, role=Role.SALES)


def today():
    return formatting.local(datetime.now(UTC)).date()


def test_a_call_of_an_earlier_day_is_kept_on_that_day(engine, offer, viewer):
    yesterday = today() - timedelta(days=1)

    add_activity(
        engine,
        offer.id,
        viewer=viewer,
        kind="CALL",
        note="Lo piensa",
        happened_on=yesterday,
    )

    [call] = list_activities(engine, offer.id, viewer=viewer)
    assert formatting.local(call.happened_at).date() == yesterday
    assert formatting.day_time(call.happened_at) == f"{formatting.day(yesterday)} 12:00"


def test_an_activity_before_the_offer_is_refused(engine, offer, viewer):
    with pytest.raises(InvalidInput) as refused:
        add_activity(
            engine,
            offer.id,
            viewer=viewer,
            kind="VISIT",
            happened_on=CREATED.date() - timedelta(days=1),
        )

    assert refused.value.message == (
        "La actividad no puede ser anterior a la oferta, creada el 02/11/2026."
    )
    assert list_activities(engine, offer.id, viewer=viewer) == []


def test_the_next_contact_can_be_cleared(engine, offer, viewer):
    add_activity(
        engine,
        offer.id,
        viewer=viewer,
        kind="CALL",
        next_contact_on=today() + timedelta(days=3),
    )
    assert get_offer(engine, offer.id).next_contact_on == today() + timedelta(days=3)

    add_activity(
        engine,
        offer.id,
        viewer=viewer,
        kind="NOTE",
        note="Compra en primavera",
        clear_next_contact=True,
    )

    assert get_offer(engine, offer.id).next_contact_on is None
    assert [a.kind for a in list_activities(engine, offer.id, viewer=viewer)] == [
        "NOTE",
        "CALL",
    ]


def test_a_next_contact_and_none_at_once_are_refused(engine, offer, viewer):
    with pytest.raises(InvalidInput, match="no las dos cosas"):
        add_activity(
            engine,
            offer.id,
            viewer=viewer,
            kind="CALL",
            next_contact_on=today() + timedelta(days=1),
            clear_next_contact=True,
        )

    assert get_offer(engine, offer.id).next_contact_on is None
    assert list_activities(engine, offer.id, viewer=viewer) == []
