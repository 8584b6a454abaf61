"""Plain views built in memory, for tests of documents and mail."""

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from lib.pricing import break_down
from lib.views import CustomerView, OfferView, SalespersonView, VehicleView

OFFER_CREATED_AT = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


def make_customer(**changes: Any) -> CustomerView:
    """A customer with an accented name, a mobile, an email and a DNI."""
    customer = CustomerView(
        id=7,
        first_name="Íñigo",
        last_name="Muñoz Peñalver",
        phone="+34612345678",
        email="inigo.munoz@example.com",
        tax_id="12345678Z",
    )
    return replace(customer, **changes)


def make_vehicle(**changes: Any) -> VehicleView:
    """A used Golf in stock, with VIN, order and commission numbers."""
    vehicle = VehicleView(
        id=3,
        make="Volkswagen",
        model="Golf",
        version="1.5 eTSI Life DSG",
        colour="Gris Urano",
        fuel="Gasolina",
        gear="Automático",
        condition="USED",
        availability="IN_STOCK",
        price_cents=2_450_000,
        power_hp=150,
        year=2024,
        mileage_km=12_345,
        vin="WVWZZZCDZRW123456",
        order_number="PED-778812",
        commission_number="C-40917",
    )
    return replace(vehicle, **changes)


def make_salesperson(**changes: Any) -> SalespersonView:
    """A salesperson with an accented name."""
    salesperson = SalespersonView(
        id=2,
        full_name="Lucía Fernández Ibáñez",
        email="lucia.fernandez@concesionario.example",
        phone="+34910000001",
    )
    return replace(salesperson, **changes)


def make_offer(**changes: Any) -> OfferView:
    """Offer 2026-000123: 24.500,00 € less 1.050,00 €, so 23.450,00 € in total."""
    offer = OfferView(
        id=123,
        number="2026-000123",
        status="FOLLOW_UP",
        created_at=OFFER_CREATED_AT,
        last_delivered_at=None,
        delivery_count=0,
        temperature=0.6,
        notes="",
        prices=break_down(2_450_000, 105_000),
        vehicle=make_vehicle(),
        customer=make_customer(),
        salesperson=make_salesperson(),
        valid_until=date(2026, 12, 18),
        revision=1,
        delivered_revision=None,
        next_contact_on=None,
        closed_at=None,
        lost_reason="",
        competitor="",
    )
    return replace(offer, **changes)
