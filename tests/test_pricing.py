"""Prices and taxes to the cent: the lines, the stored offer and the printed PDF."""

import io
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from lib.config import Settings
from lib.documents import build_offer_pdf, price_lines
from lib.errors import InvalidInput
from lib.formatting import money
from lib.offers import create_offer, get_offer
from lib.pricing import break_down, registration_rate, registration_tax
from lib.vehicles import create_factory_order
from tests.factories import make_offer, make_vehicle

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)

# price, options, discount, transport, CO2 g/km, condition, then the expected
# rate, base, IVA, registration tax and total, all in cents.
CASES = [
    (2450000, 0, 105000, 0, None, "USED", "0", 1938017, 406983, 0, 2345000),
    (
        3000000,
        120000,
        150000,
        65000,
        140,
        "NEW",
        "0.0475",
        2508264,
        526736,
        116591,
        3151591,
    ),
    (1899000, 0, 0, 0, 120, "NEW", "0", 1569421, 329579, 0, 1899000),
    (4500000, 0, 0, 0, 121, "NEW", "0.0475", 3719008, 780992, 176653, 4676653),
    (6000000, 0, 0, 0, 160, "NEW", "0.0975", 4958678, 1041322, 483471, 6483471),
    (9000000, 0, 0, 0, 200, "NEW", "0.1475", 7438017, 1561983, 1097108, 10097108),
    (1299999, 35099, 1, 19999, 159, "NEW", "0.0475", 1119914, 235182, 52411, 1407507),
]
IDS = ["used", "new-all-lines", "0%", "4.75%", "9.75%", "14.75%", "odd-cents"]


def breakdown(case: tuple) -> tuple:
    price, options, discount, transport, co2, condition = case[:6]
    rate = registration_rate(co2, condition)
    tax = registration_tax(price, options, discount, rate)
    prices = break_down(
        price,
        discount,
        options_cents=options,
        transport_cents=transport,
        registration_tax_cents=tax,
    )
    return rate, prices


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_lines_taxes_and_total_add_up_to_the_cent(case: tuple) -> None:
    price, options, discount, transport = case[:4]
    rate, prices = breakdown(case)

    assert rate == Decimal(case[6])
    assert (prices.base_cents, prices.vat_cents) == case[7:9]
    assert prices.registration_tax_cents == case[9]
    assert prices.total_cents == case[10]
    assert prices.subtotal_cents == price + options - discount + transport
    assert prices.base_cents + prices.vat_cents == prices.subtotal_cents
    assert prices.subtotal_cents + prices.registration_tax_cents == prices.total_cents


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pdf_prints_the_same_figures(case: tuple) -> None:
    _, prices = breakdown(case)
    vehicle = make_vehicle(condition=case[5], co2_gkm=case[4])

    document = build_offer_pdf(
        make_offer(prices=prices, vehicle=vehicle), Settings(), now=NOW
    )

    text = PdfReader(io.BytesIO(document)).pages[0].extract_text()
    text = text.replace("\xa0", " ")
    for line in price_lines(prices, vehicle):
        assert f"{line.label} {line.amount.replace(chr(0xA0), ' ')}" in text
    assert f"Total {money(case[10])}".replace("\xa0", " ") in text


@pytest.mark.parametrize("case", [c for c in CASES if c[5] == "NEW"])
def test_stored_offer_has_the_same_figures(engine, salesperson, case: tuple) -> None:
    price, options, discount, transport, co2 = case[:5]
    vehicle = create_factory_order(
        engine,
        make="SEAT",
        model="Ateca",
        version="FR",
        colour="Blanco",
        price_cents=price,
        co2_gkm=co2,
    )

    created = create_offer(
        engine,
        request_token=uuid.uuid4().hex,
        vehicle_id=vehicle.id,
        salesperson_id=salesperson.id,
        price_cents=price,
        discount_cents=discount,
        options_cents=options,
        transport_cents=transport,
        temperature=0.5,
    )

    _, expected = breakdown(case)
    assert get_offer(engine, created.id).prices == expected


@settings(max_examples=200, deadline=None)
@given(
    price=st.integers(min_value=1, max_value=50_000_000),
    options=st.integers(min_value=0, max_value=5_000_000),
    transport=st.integers(min_value=0, max_value=500_000),
    discount_share=st.floats(min_value=0, max_value=0.99),
    co2=st.one_of(st.none(), st.integers(min_value=0, max_value=400)),
    condition=st.sampled_from(["NEW", "KM0", "USED"]),
)
def test_any_amounts_add_up_to_the_cent(
    price: int,
    options: int,
    transport: int,
    discount_share: float,
    co2: int | None,
    condition: str,
) -> None:
    discount = int((price + options) * discount_share)
    rate = registration_rate(co2, condition) or Decimal("0")
    tax = registration_tax(price, options, discount, rate)

    prices = break_down(
        price,
        discount,
        options_cents=options,
        transport_cents=transport,
        registration_tax_cents=tax,
    )

    assert prices.base_cents + prices.vat_cents == prices.subtotal_cents
    assert prices.subtotal_cents + tax == prices.total_cents
    assert abs(prices.vat_cents - prices.base_cents * Decimal("0.21")) <= 1


def test_a_total_of_a_hundred_million_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"no puede llegar a 100\.000\.000,00 €"):
        break_down(9_999_999_999, options_cents=9_999_999_999)

    just_below = break_down(5_000_000_000, options_cents=4_999_999_999)
    assert just_below.total_cents == 9_999_999_999
