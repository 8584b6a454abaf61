"""The offer's figures, cent-exact, with one rounding rule.

Amounts that carry IVA (the vehicle, its options and accessories, the
discount, transport and pre-delivery) are entered as dealers quote them, IVA
included. Their sum is the subtotal; the taxable base is the subtotal divided
by 1,21 and rounded half up to the cent, and the IVA is the difference, so
base + IVA equals the subtotal exactly. The registration tax (impuesto de
matriculación) carries no IVA: it is a rate, set by the CO2 band, on the
vehicle's base without IVA, rounded the same way, and is added last. Every
figure is computed here once, stored in cents, and shown as stored.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from lib.errors import InvalidInput
from lib.models import Condition

VAT_RATE = Decimal("0.21")
# The most an offer can add up to: the largest amount any single field takes.
MAX_TOTAL_CENTS = 100_000_000_00

# Impuesto especial sobre determinados medios de transporte, for passenger
# cars by WLTP CO2 emissions (g/km), mainland rates: (upper bound, rate).
REGISTRATION_BANDS = (
    (120, Decimal("0")),
    (159, Decimal("0.0475")),
    (199, Decimal("0.0975")),
    (None, Decimal("0.1475")),
)


@dataclass(frozen=True)
class PriceBreakdown:
    """The price lines of an offer and their totals, all in cents."""

    price_cents: int
    discount_cents: int
    options_cents: int = 0
    transport_cents: int = 0
    subtotal_cents: int = 0
    base_cents: int = 0
    vat_cents: int = 0
    registration_tax_cents: int = 0
    total_cents: int = 0
    vat_rate: Decimal = VAT_RATE


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def without_vat(cents: int) -> int:
    """The taxable base of an amount with IVA included."""
    return _round(Decimal(cents) / (1 + VAT_RATE))


def registration_rate(co2_gkm: int | None, condition: str) -> Decimal | None:
    """The registration tax rate for a vehicle; None when its CO2 is unknown.

    Only a vehicle registered for the first time pays it: new units and
    factory orders. KM0, demo, used and employee's cars are registered already.
    """
    if condition != Condition.NEW:
        return Decimal("0")
    if co2_gkm is None:
        return None
    for upper, rate in REGISTRATION_BANDS:
        if upper is None or co2_gkm <= upper:
            return rate
    return REGISTRATION_BANDS[-1][1]


def registration_tax(
    price_cents: int, options_cents: int, discount_cents: int, rate: Decimal
) -> int:
    """The registration tax in cents: the rate on the vehicle's base without IVA."""
    return _round(rate * without_vat(price_cents + options_cents - discount_cents))


def break_down(
    price_cents: int,
    discount_cents: int = 0,
    *,
    options_cents: int = 0,
    transport_cents: int = 0,
    registration_tax_cents: int = 0,
) -> PriceBreakdown:
    """Check the lines of an offer and compute its subtotal, base, IVA and total."""
    if price_cents <= 0:
        raise InvalidInput("El precio debe ser mayor que cero.")
    if min(discount_cents, options_cents, transport_cents, registration_tax_cents) < 0:
        raise InvalidInput(
            "El descuento y los importes añadidos no pueden ser negativos."
        )
    if discount_cents >= price_cents + options_cents:
        raise InvalidInput("El descuento no puede igualar ni superar el precio.")
    subtotal = price_cents + options_cents - discount_cents + transport_cents
    if subtotal + registration_tax_cents >= MAX_TOTAL_CENTS:
        raise InvalidInput(
            "El total de la oferta no puede llegar a 100.000.000,00 €; "
            "revise los importes."
        )
    base = without_vat(subtotal)
    return PriceBreakdown(
        price_cents=price_cents,
        discount_cents=discount_cents,
        options_cents=options_cents,
        transport_cents=transport_cents,
        subtotal_cents=subtotal,
        base_cents=base,
        vat_cents=subtotal - base,
        registration_tax_cents=registration_tax_cents,
        total_cents=subtotal + registration_tax_cents,
    )
