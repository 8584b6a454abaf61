import io
import uuid

import pytest
from sqlalchemy import select

from lib.db import reading
from lib.errors import InvalidInput, NotAllowed
from lib.lost_reasons import add_lost_reason, list_lost_reasons, retire_lost_reason
from lib.models import Availability, LostReason, OfferStatus, Role, SecurityEvent
from lib.offers import create_offer, get_offer, mark_lost, mark_won
from lib.stock import import_stock
from lib.users import create_user
from lib.vehicles import create_factory_order, update_vehicle_identifiers
from lib.views import Viewer


@pytest.fixture
def manager(engine) -> Viewer:
    made = create_user(engine, username="marta", full_name="Marta", role=Role.MANAGER)
    return Viewer(made.id, Role.MANAGER)


def test_manager_adds_and_retires_reasons(engine, manager):
    added = add_lost_reason(engine, "  Cambio de   planes ", viewer=manager)

    assert added.label == "Cambio de planes"
    assert list_lost_reasons(engine)[-1].label == "Cambio de planes"
    with pytest.raises(InvalidInput, match="Ya existe"):
        add_lost_reason(engine, "Cambio de planes", viewer=manager)
    retire_lost_reason(engine, added.id, viewer=manager)
    with reading(engine) as session:
        retired = session.get(LostReason, added.id)
        assert (retired.active, retired.changed_by_id) == (False, manager.user_id)
    assert "Cambio de planes" not in [r.label for r in list_lost_reasons(engine)]
    assert "Cambio de planes" in [
        r.label for r in list_lost_reasons(engine, include_inactive=True)
    ]


def test_salesperson_cannot_edit_reasons_and_the_attempt_is_recorded(
    engine, salesperson
):
    seller = Viewer(salesperson.id, Role.SALES)
    first = list_lost_reasons(engine)[0]

    with pytest.raises(NotAllowed, match="Solo un gerente"):
        add_lost_reason(engine, "Otro", viewer=seller)
    with pytest.raises(NotAllowed, match="Solo un gerente"):
        retire_lost_reason(engine, first.id, viewer=seller)

    assert len(list_lost_reasons(engine)) == 8
    statement = select(SecurityEvent.event, SecurityEvent.user_id)
    with reading(engine) as session:
        assert session.execute(statement).all() == [
            ("ACCESS_DENIED", salesperson.id),
            ("ACCESS_DENIED", salesperson.id),
        ]


def test_retired_reason_cannot_close_an_offer_but_old_ones_keep_it(
    engine, manager, salesperson
):
    vehicle = create_factory_order(
        engine,
        make="SEAT",
        model="Ibiza",
        version="",
        colour="",
        price_cents=1849000,
        co2_gkm=110,
    )
    reason = add_lost_reason(engine, "Se muda de ciudad", viewer=manager)
    first, second = (
        create_offer(
            engine,
            request_token=uuid.uuid4().hex,
            vehicle_id=vehicle.id,
            salesperson_id=salesperson.id,
            price_cents=1849000,
            temperature=0.3,
        )
        for _ in range(2)
    )
    mark_lost(engine, first.id, reason_id=reason.id)
    retire_lost_reason(engine, reason.id, viewer=manager)

    with pytest.raises(InvalidInput, match="Elija el motivo"):
        mark_lost(engine, second.id, reason_id=reason.id)
    assert get_offer(engine, first.id).lost_reason == "Se muda de ciudad"


def test_stock_changes_and_imports_never_reopen_a_closed_offer(engine, salesperson):
    vehicle = create_factory_order(
        engine,
        make="SEAT",
        model="Ibiza",
        version="",
        colour="",
        price_cents=1849000,
        co2_gkm=110,
    )
    won = create_offer(
        engine,
        request_token=uuid.uuid4().hex,
        vehicle_id=vehicle.id,
        salesperson_id=salesperson.id,
        price_cents=1849000,
        temperature=0.9,
    )
    mark_won(engine, won.id)

    update_vehicle_identifiers(
        engine,
        vehicle.id,
        vin="VSSZZZKJZRR054321",
        order_number=None,
        commission_number=None,
        availability=Availability.IN_STOCK,
    )
    csv = (
        b"mileage,make,model,fuel,gear,offerType,price,hp,year\n"
        b"10,SEAT,Ibiza,Gasoline,Manual,New,18490,95,2026\n"
    )
    import_stock(engine, io.BytesIO(csv), file_name="stock.csv")

    assert get_offer(engine, won.id).status == OfferStatus.WON
