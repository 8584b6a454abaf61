"""The offer's figures, cent-exact.

Vehicle prices in stock are retail prices with IVA included, as dealers
advertise them. The taxable base is derived from the total and the IVA is the
difference, so base + IVA equals the total to the cent.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from lib.errors import InvalidInput

VAT_RATE = Decimal("0.21")


@dataclass(frozen=True)
class PriceBreakdown:
    """Price lines of an offer, all in cents."""

    price_cents: int
    discount_cents: int
    total_cents: int
    base_cents: int
    vat_cents: int
    vat_rate: Decimal = VAT_RATE


def break_down(price_cents: int, discount_cents: int = 0) -> PriceBreakdown:
    """Split a price with IVA included, less a discount, into base and IVA."""
    if price_cents <= 0:
        raise InvalidInput("El precio debe ser mayor que cero.")
    if discount_cents < 0:
        raise InvalidInput("El descuento no puede ser negativo.")
    if discount_cents >= price_cents:
        raise InvalidInput("El descuento no puede igualar ni superar el precio.")
    total = price_cents - discount_cents
    base = int((Decimal(total) / (1 + VAT_RATE)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return PriceBreakdown(
        price_cents=price_cents,
        discount_cents=discount_cents,
        total_cents=total,
        base_cents=base,
        vat_cents=total - base,
    )
