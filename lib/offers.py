"""Offers: created once, followed, won or lost.

A status changes only through the functions named for the act; each checks
the starting state and raises an error a salesperson can read.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lib import formatting
from lib.customers import customer_view
from lib.db import reading, transaction
from lib.errors import InvalidInput, InvalidState, NotFound
from lib.models import (
    Availability,
    Customer,
    Offer,
    OfferCounter,
    OfferStatus,
    User,
    Vehicle,
    utcnow,
)
from lib.pricing import break_down
from lib.vehicles import vehicle_view
from lib.views import OfferView, SalespersonView

logger = logging.getLogger(__name__)

PAGE_SIZE = 50


def offer_view(offer: Offer) -> OfferView:
    """The plain picture of an offer row and its vehicle, customer and salesperson."""
    salesperson = offer.salesperson
    return OfferView(
        id=offer.id,
        number=offer.number,
        status=offer.status,
        created_at=offer.created_at,
        last_delivered_at=offer.last_delivered_at,
        delivery_count=offer.delivery_count,
        temperature=offer.temperature,
        notes=offer.notes,
        prices=break_down(offer.price_cents, offer.discount_cents),
        vehicle=vehicle_view(offer.vehicle),
        customer=customer_view(offer.customer) if offer.customer else None,
        salesperson=SalespersonView(
            id=salesperson.id,
            full_name=salesperson.full_name,
            email=salesperson.email,
            phone=salesperson.phone,
        ),
    )


def _next_number(session: Session, year: int) -> str:
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = (
        insert(OfferCounter)
        .values(year=year, last_value=1)
        .on_conflict_do_update(
            index_elements=[OfferCounter.year],
            set_={"last_value": OfferCounter.last_value + 1},
        )
        .returning(OfferCounter.last_value)
    )
    value = session.execute(statement).scalar_one()
    return f"{year}-{value:06d}"


def _check_temperature(temperature: float) -> None:
    if not 0 <= temperature <= 1:
        raise InvalidInput("La temperatura debe estar entre 0 % y 100 %.")


def _existing_for_token(engine: Engine, request_token: str) -> OfferView | None:
    with reading(engine) as session:
        offer = session.scalar(select(Offer).where(Offer.request_token == request_token))
        return offer_view(offer) if offer else None


def create_offer(
    engine: Engine,
    *,
    request_token: str,
    vehicle_id: int,
    salesperson_id: int,
    price_cents: int,
    discount_cents: int = 0,
    temperature: float,
    customer_id: int | None = None,
    notes: str = "",
    now: datetime | None = None,
) -> OfferView:
    """Store a new offer en Seguimiento with the next number.

    The request token comes from the page that asks; the same token twice (a
    double click, a rerun) returns the offer already stored instead of a second.
    """
    existing = _existing_for_token(engine, request_token)
    if existing:
        return existing
    break_down(price_cents, discount_cents)
    _check_temperature(temperature)
    now = now or utcnow()

    try:
        with transaction(engine) as session:
            vehicle = session.get(Vehicle, vehicle_id)
            if vehicle is None:
                raise NotFound("El vehículo ya no existe en el stock.")
            if vehicle.availability == Availability.SOLD:
                raise InvalidState("Ese vehículo ya está vendido.")
            if session.get(User, salesperson_id) is None:
                raise NotFound("El comercial no existe.")
            if customer_id is not None and session.get(Customer, customer_id) is None:
                raise NotFound("El cliente no existe.")
            offer = Offer(
                number=_next_number(session, formatting.local(now).year),
                request_token=request_token,
                status=OfferStatus.FOLLOW_UP,
                vehicle_id=vehicle_id,
                customer_id=customer_id,
                salesperson_id=salesperson_id,
                price_cents=price_cents,
                discount_cents=discount_cents,
                temperature=temperature,
                notes=notes.strip(),
                created_at=now,
                updated_at=now,
            )
            session.add(offer)
            session.flush()
            number, offer_id = offer.number, offer.id
    except IntegrityError:
        # Another process stored the same request first: that offer is the answer.
        existing = _existing_for_token(engine, request_token)
        if existing is None:
            raise
        return existing

    logger.info("Offer %s created by %s", number, salesperson_id)
    return get_offer(engine, offer_id)


def get_offer(engine: Engine, offer_id: int) -> OfferView:
    """One offer by id."""
    with reading(engine) as session:
        offer = session.get(Offer, offer_id)
        if offer is None:
            raise NotFound("No existe esa oferta.")
        return offer_view(offer)


def _locked_offer(session: Session, offer_id: int) -> Offer:
    offer = session.scalar(select(Offer).where(Offer.id == offer_id).with_for_update(of=Offer))
    if offer is None:
        raise NotFound("No existe esa oferta.")
    return offer


def attach_customer(engine: Engine, offer_id: int, customer_id: int, *, user_id: int) -> OfferView:
    """Give an offer without customer its customer."""
    with transaction(engine) as session:
        offer = _locked_offer(session, offer_id)
        if session.get(Customer, customer_id) is None:
            raise NotFound("No existe ese cliente.")
        if offer.customer_id == customer_id:
            return offer_view(offer)
        if offer.customer_id is not None:
            raise InvalidState(f"La oferta {offer.number} ya tiene cliente.")
        if offer.status != OfferStatus.FOLLOW_UP:
            raise InvalidState(f"La oferta {offer.number} ya está cerrada.")
        offer.customer_id = customer_id
        offer.updated_at = utcnow()
        number = offer.number
    logger.info("Offer %s given customer %s by %s", number, customer_id, user_id)
    return get_offer(engine, offer_id)


def _close(engine: Engine, offer_id: int, status: str, *, user_id: int) -> OfferView:
    with transaction(engine) as session:
        offer = _locked_offer(session, offer_id)
        if offer.status != OfferStatus.FOLLOW_UP:
            label = OfferStatus.LABELS[offer.status]
            raise InvalidState(f"La oferta {offer.number} ya está cerrada como {label}.")
        now = utcnow()
        offer.status = status
        offer.closed_at = now
        offer.updated_at = now
        if status == OfferStatus.WON:
            offer.vehicle.availability = Availability.SOLD
        number = offer.number
    logger.info("Offer %s marked %s by %s", number, status, user_id)
    return get_offer(engine, offer_id)


def mark_won(engine: Engine, offer_id: int, *, user_id: int) -> OfferView:
    """Close an offer en Seguimiento as Éxito; its vehicle is then sold."""
    return _close(engine, offer_id, OfferStatus.WON, user_id=user_id)


def mark_lost(engine: Engine, offer_id: int, *, user_id: int) -> OfferView:
    """Close an offer en Seguimiento as Fracaso."""
    return _close(engine, offer_id, OfferStatus.LOST, user_id=user_id)


@dataclass(frozen=True)
class OfferPage:
    """One page of the offer list and the number of offers that match."""

    offers: list[OfferView]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _filtered(statement: object, status: str | None, search: str) -> object:
    if status:
        statement = statement.where(Offer.status == status)
    for word in search.strip().split():
        pattern = f"%{word.lower()}%"
        statement = statement.where(
            or_(
                func.lower(Offer.number).like(pattern),
                func.lower(Customer.first_name).like(pattern),
                func.lower(Customer.last_name).like(pattern),
                func.lower(Customer.email).like(pattern),
                Customer.phone.like(pattern),
                func.lower(Vehicle.make).like(pattern),
                func.lower(Vehicle.model).like(pattern),
                func.lower(Vehicle.vin).like(pattern),
                func.lower(Vehicle.order_number).like(pattern),
                func.lower(Vehicle.commission_number).like(pattern),
            )
        )
    return statement


def _joined(statement: object) -> object:
    return statement.join(Vehicle, Offer.vehicle_id == Vehicle.id).outerjoin(
        Customer, Offer.customer_id == Customer.id
    )


def list_offers(
    engine: Engine,
    *,
    status: str | None = None,
    search: str = "",
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> OfferPage:
    """The offers that match, newest first, one page at a time."""
    if status is not None and status not in OfferStatus.LABELS:
        raise InvalidInput("Estado desconocido.")
    page = max(1, page)
    ids = _filtered(_joined(select(Offer.id)), status, search)
    ids = ids.order_by(Offer.created_at.desc(), Offer.id.desc())
    ids = ids.limit(page_size).offset((page - 1) * page_size)
    count = _filtered(_joined(select(func.count(Offer.id))), status, search)

    with reading(engine) as session:
        total = session.scalar(count) or 0
        page_ids = list(session.scalars(ids))
        rows = session.scalars(select(Offer).where(Offer.id.in_(page_ids))).unique()
        by_id = {offer.id: offer_view(offer) for offer in rows}
    return OfferPage(
        offers=[by_id[offer_id] for offer_id in page_ids],
        total=total,
        page=page,
        page_size=page_size,
    )


def status_counts(engine: Engine) -> dict[str, int]:
    """How many offers there are in each status."""
    statement = select(Offer.status, func.count(Offer.id)).group_by(Offer.status)
    with reading(engine) as session:
        counts = dict(session.execute(statement).all())
    return {status: counts.get(status, 0) for status in OfferStatus.LABELS}


def temperature_band_counts(
    engine: Engine, *, status: str | None = None, search: str = ""
) -> pd.DataFrame:
    """Offers of a filter counted by temperature band and status, in SQL."""
    band_case = case(
        *[
            (Offer.temperature < upper, label)
            for upper, _icon, label in formatting.TEMPERATURE_BANDS
        ],
        else_=formatting.TEMPERATURE_BANDS[-1][2],
    ).label("band")
    statement = _filtered(
        _joined(select(band_case, Offer.status, func.count(Offer.id).label("offers"))),
        status,
        search,
    ).group_by(band_case, Offer.status)

    with reading(engine) as session:
        rows = session.execute(statement).all()
    frame = pd.DataFrame(rows, columns=["band", "status", "offers"])
    frame["status"] = frame["status"].map(OfferStatus.LABELS)
    return frame


def offers_table(offers: list[OfferView]) -> pd.DataFrame:
    """The Ofertas list as the page shows it, every value formatted in Spanish."""
    rows = []
    for offer in offers:
        customer = offer.customer
        vehicle = offer.vehicle
        rows.append(
            {
                "Número": offer.number,
                "Estado": OfferStatus.LABELS[offer.status],
                "Creada": formatting.day(offer.created_at),
                "Última entrega": formatting.day(offer.last_delivered_at),
                "Cliente": customer.full_name if customer else "Sin cliente",
                "Teléfono": formatting.phone(customer.phone) if customer else "",
                "Correo": (customer.email or "") if customer else "",
                "Temperatura": formatting.temperature(offer.temperature),
                "Vehículo": Availability.ICONS[vehicle.availability],
                "Modelo": vehicle.title,
                "Bastidor": vehicle.vin or "",
                "Nº pedido": vehicle.order_number or "",
                "Nº comisión": vehicle.commission_number or "",
                "Total": formatting.money(offer.prices.total_cents),
            }
        )
    return pd.DataFrame(rows, columns=OFFER_TABLE_COLUMNS)


OFFER_TABLE_COLUMNS = [
    "Número",
    "Estado",
    "Creada",
    "Última entrega",
    "Cliente",
    "Teléfono",
    "Correo",
    "Temperatura",
    "Vehículo",
    "Modelo",
    "Bastidor",
    "Nº pedido",
    "Nº comisión",
    "Total",
]


def record_delivery_success(session: Session, offer_id: int, when: datetime) -> None:
    """Move an offer's last delivery date and count; called inside the delivery's transaction."""
    session.execute(
        update(Offer)
        .where(Offer.id == offer_id)
        .values(
            last_delivered_at=when,
            delivery_count=Offer.delivery_count + 1,
            updated_at=when,
        )
    )
