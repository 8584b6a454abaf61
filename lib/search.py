"""Search text: what the offer search indexes and how a query is matched.

Names are folded to lower case without accents, so ``peña`` finds ``Peña``
and ``inigo`` finds ``Íñigo`` on every database; phones are kept as digits,
so ``612 34`` finds ``+34612345678``.
"""

import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from lib.models import Customer, Offer, Vehicle

MIN_INDEXED = 3


def fold(*parts: object) -> str:
    """The words of the parts, lower case, without accents, one space apart."""
    words = []
    for part in parts:
        if part is None or part == "":
            continue
        text = unicodedata.normalize("NFKD", str(part).casefold())
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
        words.append(" ".join(text.split()))
        digits = "".join(ch for ch in text if ch.isdigit())
        if len(digits) >= 6 and digits != text:
            # "612 34 56 78", "+34612345678" and "2026000123" all find by digits.
            words.append(digits)
    return " ".join(words)


def contains(column: object, term: str) -> object:
    """``column LIKE '%term%'``, the term's ``%``, ``_`` and ``\\`` taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")


def query_terms(query: str) -> list[str]:
    """The folded words of a search; a phone typed with spaces is one term."""
    compact = "".join(ch for ch in query if ch not in " +-.()/")
    if compact.isdigit() and len(compact) >= MIN_INDEXED:
        return [compact]
    return fold(query).split()


def search_text(offer: Offer, customer: Customer | None, vehicle: Vehicle) -> str:
    """What the offer search finds an offer by."""
    people = (
        (
            customer.first_name,
            customer.last_name,
            customer.phone,
            customer.email,
            customer.tax_id,
        )
        if customer
        else ()
    )
    return fold(
        offer.number,
        *people,
        vehicle.make,
        vehicle.model,
        vehicle.version,
        vehicle.vin,
        vehicle.order_number,
        vehicle.commission_number,
    )


def refresh_search_text(
    session: Session, *, vehicle_id: int | None = None, customer_id: int | None = None
) -> None:
    """Rewrite the search text of the offers of a changed vehicle or customer."""
    statement = select(Offer)
    if vehicle_id is not None:
        statement = statement.where(Offer.vehicle_id == vehicle_id)
    if customer_id is not None:
        statement = statement.where(Offer.customer_id == customer_id)
    for offer in session.scalars(statement):
        offer.search_text = search_text(offer, offer.customer, offer.vehicle)
