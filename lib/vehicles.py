"""Vehicles: finding them in stock, ordering them from the factory, identifying them.

A vehicle is identified by its VIN (bastidor), the factory's order number and
the dealer's commission number; stock imported from a marketplace export has
none of them until a salesperson adds them.
"""

import logging
import re
from datetime import date

import pandas as pd
from sqlalchemy import ColumnElement, Engine, Select, and_, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session
from vininfo import Vin
from vininfo.exceptions import ValidationError as VinValidationError

from lib.db import reading, transaction
from lib.errors import InvalidInput, NotFound
from lib.formatting import money, number
from lib.models import (
    Availability,
    Condition,
    Offer,
    OfferEvent,
    OfferEventKind,
    OfferStatus,
    Vehicle,
    utcnow,
)
from lib.search import refresh_search_text
from lib.views import VehicleView

logger = logging.getLogger(__name__)

VIN_LENGTH = 17
VIN_CHARACTERS = re.compile(r"[A-HJ-NPR-Z0-9]*")
MIN_YEAR = 1900
MAX_PAGE_SIZE = 500
VEHICLE_TABLE_COLUMNS = [
    "N.º",
    "Indicador",
    "Marca",
    "Modelo",
    "Estado",
    "Combustible",
    "Año",
    "Km",
    "Precio",
    "Bastidor",
    "Nº pedido",
    "Nº comisión",
]
SEARCHED_COLUMNS = (
    Vehicle.make,
    Vehicle.model,
    Vehicle.vin,
    Vehicle.order_number,
    Vehicle.commission_number,
)


def vehicle_view(vehicle: Vehicle) -> VehicleView:
    """The plain, read-only picture of a vehicle row."""
    return VehicleView(
        id=vehicle.id,
        make=vehicle.make,
        model=vehicle.model,
        version=vehicle.version,
        colour=vehicle.colour,
        fuel=vehicle.fuel,
        gear=vehicle.gear,
        condition=vehicle.condition,
        availability=vehicle.availability,
        price_cents=vehicle.price_cents,
        power_hp=vehicle.power_hp,
        year=vehicle.year,
        mileage_km=vehicle.mileage_km,
        vin=vehicle.vin,
        order_number=vehicle.order_number,
        commission_number=vehicle.commission_number,
        co2_gkm=vehicle.co2_gkm,
    )


def vehicles_table(vehicles: list[VehicleView]) -> pd.DataFrame:
    """The stock list as the Stock page shows it, every value formatted in Spanish."""
    rows = [
        {
            "N.º": vehicle.id,
            "Indicador": (
                f"{Availability.ICONS[vehicle.availability]} "
                f"{Availability.LABELS[vehicle.availability]}"
            ),
            "Marca": vehicle.make,
            "Modelo": " ".join(
                part for part in (vehicle.model, vehicle.version) if part
            ),
            "Estado": Condition.LABELS.get(vehicle.condition, vehicle.condition),
            "Combustible": vehicle.fuel,
            "Año": str(vehicle.year or ""),
            "Km": number(vehicle.mileage_km) if vehicle.mileage_km is not None else "",
            "Precio": money(vehicle.price_cents),
            "Bastidor": vehicle.vin or "",
            "Nº pedido": vehicle.order_number or "",
            "Nº comisión": vehicle.commission_number or "",
        }
        for vehicle in vehicles
    ]
    return pd.DataFrame(rows, columns=VEHICLE_TABLE_COLUMNS)


def search_vehicles(
    engine: Engine,
    query: str = "",
    *,
    limit: int = 50,
    available_only: bool = True,
) -> list[VehicleView]:
    """Vehicles whose make, model, VIN, order or commission number match the query.

    Every word of the query must appear (case-insensitively) in one of those
    fields, so ``"volkswagen golf"`` finds the Golfs of Volkswagen. Available
    means anything but sold.
    """
    statement = _filtered(query, available_only).limit(max(1, limit))
    with reading(engine) as session:
        return [vehicle_view(vehicle) for vehicle in session.scalars(statement)]


def list_vehicles(
    engine: Engine,
    query: str = "",
    *,
    page: int = 1,
    page_size: int = 50,
    available_only: bool = False,
) -> tuple[list[VehicleView], int]:
    """One page (from 1) of the vehicles matching the query, and how many match."""
    page = max(1, page)
    page_size = min(max(1, page_size), MAX_PAGE_SIZE)
    statement = _filtered(query, available_only)
    counting = select(func.count()).select_from(statement.order_by(None).subquery())

    with reading(engine) as session:
        total = session.scalar(counting) or 0
        rows = session.scalars(
            statement.offset((page - 1) * page_size).limit(page_size)
        )
        return [vehicle_view(vehicle) for vehicle in rows], total


def get_vehicle(engine: Engine, vehicle_id: int) -> VehicleView:
    """One vehicle by id."""
    with reading(engine) as session:
        vehicle = session.get(Vehicle, vehicle_id)
        if vehicle is None:
            raise NotFound(f"No existe el vehículo n.º {vehicle_id}.")
        return vehicle_view(vehicle)


def count_vehicles(engine: Engine) -> dict[str, int]:
    """How many vehicles there are in each availability, every one listed."""
    counts = dict.fromkeys(Availability.LABELS, 0)
    statement = select(Vehicle.availability, func.count()).group_by(
        Vehicle.availability
    )
    with reading(engine) as session:
        for availability, count in session.execute(statement):
            counts[availability] = count
    return counts


def create_factory_order(
    engine: Engine,
    *,
    make: str,
    model: str,
    version: str,
    colour: str,
    price_cents: int,
    fuel: str = "",
    year: int | None = None,
    order_number: str | None = None,
    co2_gkm: int | None = None,
    created_by_id: int | None = None,
) -> VehicleView:
    """Store a new vehicle ordered from the factory (new, not yet in stock)."""
    make = _text(make, Vehicle.make, "La marca")
    model = _text(model, Vehicle.model, "El modelo")
    if not make or not model:
        raise InvalidInput("Indique la marca y el modelo del vehículo.")
    version = _text(version, Vehicle.version, "La versión")
    colour = _text(colour, Vehicle.colour, "El color")
    fuel = _text(fuel, Vehicle.fuel, "El combustible")
    if isinstance(price_cents, bool) or not isinstance(price_cents, int):
        raise InvalidInput("El precio debe ser un importe en céntimos.")
    if price_cents <= 0:
        raise InvalidInput("El precio debe ser mayor que cero.")
    latest = date.today().year + 2
    if year is not None and not MIN_YEAR <= year <= latest:
        raise InvalidInput(f"El año debe estar entre {MIN_YEAR} y {latest}.")
    order_number = _identifier(order_number, Vehicle.order_number, "pedido")
    if co2_gkm is not None and not 0 <= co2_gkm <= 1000:
        raise InvalidInput("Las emisiones de CO2 deben estar entre 0 y 1.000 g/km.")

    with transaction(engine) as session:
        _refuse_taken(
            session, Vehicle.order_number, order_number, 0, "El número de pedido"
        )
        vehicle = Vehicle(
            make=make,
            model=model,
            version=version,
            colour=colour,
            fuel=fuel,
            gear="",
            condition=Condition.NEW,
            availability=Availability.FACTORY_ORDER,
            price_cents=price_cents,
            year=year,
            mileage_km=0,
            order_number=order_number,
            co2_gkm=co2_gkm,
            created_by_id=created_by_id,
        )
        session.add(vehicle)
        session.flush()
        logger.info(
            "Vehicle %s ordered from the factory by %s", vehicle.id, created_by_id
        )
        return vehicle_view(vehicle)


def update_vehicle_identifiers(
    engine: Engine,
    vehicle_id: int,
    *,
    vin: str | None,
    order_number: str | None,
    commission_number: str | None,
    availability: str | None = None,
    updated_by_id: int | None = None,
) -> VehicleView:
    """Set a vehicle's VIN, order and commission numbers (empty clears them).

    The VIN is checked for length and characters and stored in upper case; its
    check digit is not required, since European VINs carry none. A VIN or a
    commission number already given to another vehicle is refused.
    """
    vin = normalise_vin(vin)
    order_number = _identifier(order_number, Vehicle.order_number, "pedido")
    commission_number = _identifier(
        commission_number, Vehicle.commission_number, "comisión"
    )
    if availability is not None and availability not in Availability.LABELS:
        raise InvalidInput("Indicador del vehículo desconocido.")

    with transaction(engine) as session:
        vehicle = session.get(Vehicle, vehicle_id)
        if vehicle is None:
            raise NotFound(f"No existe el vehículo n.º {vehicle_id}.")
        # Offers are locked before their vehicle (mark_won locks the offer,
        # then sells its vehicle); this vehicle's offers are rewritten below,
        # so take them first, in one order, or the two would deadlock.
        session.execute(
            select(Offer.id)
            .where(Offer.vehicle_id == vehicle_id)
            .order_by(Offer.id)
            .with_for_update(key_share=True)
        )
        _refuse_taken(session, Vehicle.vin, vin, vehicle_id, "El bastidor")
        _refuse_taken(
            session,
            Vehicle.commission_number,
            commission_number,
            vehicle_id,
            "El número de comisión",
        )
        before = _identifiers_text(vehicle)
        vehicle.vin = vin
        vehicle.order_number = order_number
        vehicle.commission_number = commission_number
        after = _identifiers_text(vehicle)
        if after != before:
            _new_revision_of_open_offers(
                session, vehicle_id, before, after, updated_by_id
            )
        if availability is not None and availability != vehicle.availability:
            logger.info(
                "Vehicle %s availability %s -> %s",
                vehicle_id,
                vehicle.availability,
                availability,
            )
            vehicle.availability = availability
        vehicle.updated_at = utcnow()
        vehicle.updated_by_id = updated_by_id
        # An offer made before the VIN or the numbers were known is found
        # by them from now on.
        refresh_search_text(session, vehicle_id=vehicle_id)
        logger.info("Vehicle %s identifiers updated by %s", vehicle_id, updated_by_id)
        return vehicle_view(vehicle)


def _identifiers_text(vehicle: Vehicle) -> str:
    parts = (
        ("Bastidor", vehicle.vin),
        ("Pedido", vehicle.order_number),
        ("Comisión", vehicle.commission_number),
    )
    return " · ".join(f"{label} {value}" for label, value in parts if value) or "—"


def _new_revision_of_open_offers(
    session: Session, vehicle_id: int, before: str, after: str, by_id: int | None
) -> None:
    """The open offers of a vehicle print its identifiers: each is a new revision.

    So the offer says it has changed since its last delivery, and the next
    send carries the new VIN, order or commission number.
    """
    statement = select(Offer).where(
        Offer.vehicle_id == vehicle_id, Offer.status == OfferStatus.FOLLOW_UP
    )
    now = utcnow()
    for offer in session.scalars(statement):
        offer.revision += 1
        offer.updated_at = now
        session.add(
            OfferEvent(
                offer_id=offer.id,
                kind=OfferEventKind.VEHICLE,
                from_value=before,
                to_value=after,
                user_id=by_id,
                at=now,
                note=f"Revisión {offer.revision}",
            )
        )


def normalise_vin(text: str | None) -> str | None:
    """A VIN in upper case without spaces, or None for an empty one.

    Raises ``InvalidInput`` unless it has 17 letters and digits, none of them
    I, O or Q.
    """
    if text is None:
        return None
    vin = "".join(text.split()).upper()
    if not vin:
        return None
    if len(vin) != VIN_LENGTH:
        raise InvalidInput(
            f"El bastidor debe tener {VIN_LENGTH} caracteres; «{vin}» tiene {len(vin)}."
        )
    if not VIN_CHARACTERS.fullmatch(vin):
        raise InvalidInput(
            f"El bastidor «{vin}» solo puede tener letras y cifras, sin I, O ni Q."
        )
    try:
        return Vin.validate(vin)
    except VinValidationError as error:
        raise InvalidInput(f"El bastidor «{vin}» no es válido.") from error


def _filtered(query: str, available_only: bool) -> Select:
    conditions: list[ColumnElement[bool]] = [
        or_(
            *(
                func.lower(column).like(pattern, escape="\\")
                for column in SEARCHED_COLUMNS
            )
        )
        for pattern in _patterns(query)
    ]
    if available_only:
        conditions.append(Vehicle.availability != Availability.SOLD)
    return (
        select(Vehicle)
        .where(and_(true(), *conditions))
        .order_by(Vehicle.make, Vehicle.model, Vehicle.id)
    )


def _patterns(query: str) -> list[str]:
    # The query is lowered here, not by the database: SQLite's lower() knows
    # ASCII only, so "C-ELYSÉE" typed would not find "C-Elysée" stored. A
    # name stored with capital accented letters ("CITROËN") is still found
    # on PostgreSQL only; stock files write names in mixed case.
    escaped = (
        word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        for word in query.lower().split()
    )
    return [f"%{word}%" for word in escaped]


def _text(value: str, column: InstrumentedAttribute[str], label: str) -> str:
    text = " ".join((value or "").split())
    limit = column.type.length
    if len(text) > limit:
        raise InvalidInput(f"{label} no puede tener más de {limit} caracteres.")
    return text


def _identifier(
    value: str | None, column: InstrumentedAttribute[str | None], name: str
) -> str | None:
    text = " ".join((value or "").split())
    if not text:
        return None
    limit = column.type.length
    if len(text) > limit:
        raise InvalidInput(
            f"El número de {name} no puede tener más de {limit} caracteres."
        )
    if not text.isprintable():
        raise InvalidInput(f"El número de {name} tiene caracteres no válidos.")
    return text


def _refuse_taken(
    session: Session,
    column: InstrumentedAttribute[str | None],
    value: str | None,
    vehicle_id: int,
    label: str,
) -> None:
    if value is None:
        return
    other = session.scalars(
        select(Vehicle).where(column == value, Vehicle.id != vehicle_id).limit(1)
    ).first()
    if other is not None:
        raise InvalidInput(
            f"{label} «{value}» ya está asignado a otro vehículo "
            f"({other.make} {other.model}, n.º {other.id})."
        )
