"""Demo data for a first start: salespeople, stock, customers and offers.

Loaded only into an empty database, so a newcomer has something to click
through; a real dealership turns it off with ``OFFERDESK_DEMO_DATA=false``.
"""

import logging
import random
import uuid
from datetime import timedelta

from sqlalchemy import Engine, func, select

from lib.config import DATA_DIR
from lib.customers import create_customer
from lib.db import reading, transaction
from lib.formatting import local
from lib.models import (
    Availability,
    Delivery,
    DeliveryChannel,
    DeliveryResult,
    Offer,
    OfferCounter,
    OfferStatus,
    Role,
    User,
    Vehicle,
    utcnow,
)
from lib.stock import import_stock
from lib.users import create_user

logger = logging.getLogger(__name__)

DEMO_STOCK = DATA_DIR / "demo_stock.csv"

SALESPEOPLE = [
    ("lucia", "Lucía Fernández Ibáñez", Role.SALES, "+34910000001"),
    ("jordi", "Jordi Puig Martí", Role.SALES, "+34910000002"),
    ("ainhoa", "Ainhoa Etxeberria Goñi", Role.SALES, "+34910000003"),
    ("marta", "Marta Sánchez Ruiz", Role.MANAGER, "+34910000004"),
]

CUSTOMERS = [
    ("Íñigo", "Muñoz Peñalver", "612345678", "inigo.munoz@correo.example", 12345678),
    ("María José", "García López", "623456789", "mjgarcia@correo.example", 23456789),
    ("Begoña", "Azcárate Ortiz", "634567890", "", 34567890),
    ("Raúl", "Núñez Castaño", "645678901", "raul.nunez@correo.example", None),
    ("Zoë", "Vidal i Roca", "656789012", "zoe.vidal@correo.example", 45678901),
    ("Andrés", "Ferrándiz Sáez", "667890123", "andres.ferrandiz@correo.example", None),
    ("Nerea", "Olaizola Arrieta", "678901234", "nerea.olaizola@correo.example", 56789012),
    ("Joaquín", "Herrero Díaz", "689012345", "", None),
    ("Lourdes", "Peña Calderón", "690123456", "lourdes.pena@correo.example", 67890123),
    ("Óscar", "Beltrán Muñiz", "711234567", "oscar.beltran@correo.example", None),
    ("Ángela", "Rovira Pujol", "722345678", "angela.rovira@correo.example", 78901234),
    ("Sergio", "Cañizares Gil", "733456789", "sergio.canizares@correo.example", None),
]

WMI = {
    "SEAT": "VSS", "CUPRA": "VSS", "Volkswagen": "WVW", "Škoda": "TMB",
    "Toyota": "SB1", "Renault": "VF1", "Peugeot": "VF3", "Citroën": "VF7",
    "Kia": "U5Y", "Hyundai": "TMA", "BMW": "WBA", "Audi": "WAU",
    "Mercedes-Benz": "WDD", "Opel": "W0L", "Dacia": "UU1", "Tesla": "LRW",
    "Ford": "WF0", "Nissan": "SJN", "Mazda": "JMZ", "Fiat": "ZFA",
}  # fmt: skip

VIN_CHARACTERS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def _dni(number: int) -> str:
    return f"{number:08d}{'TRWAGMYFPDXBNJZSQVHLCKE'[number % 23]}"


def _vin(make: str, rng: random.Random) -> str:
    tail = "".join(rng.choice(VIN_CHARACTERS) for _ in range(8))
    return f"{WMI.get(make, 'VSS')}ZZZ{rng.choice('ABCDEFGH')}{tail}{rng.randrange(10)}"[:17]


def is_empty(engine: Engine) -> bool:
    """True when no user exists yet."""
    with reading(engine) as session:
        return not session.scalar(select(func.count(User.id)))


def load_demo_data(engine: Engine) -> bool:
    """Fill an empty database with demo data; returns whether it did."""
    if not is_empty(engine):
        return False
    rng = random.Random(20261203)

    users = [
        create_user(
            engine,
            username=username,
            full_name=name,
            role=role,
            email=f"{username}@concesionario.example",
            phone=phone,
        )
        for username, name, role, phone in SALESPEOPLE
    ]
    with DEMO_STOCK.open("rb") as source:
        import_stock(engine, source, file_name=DEMO_STOCK.name)
    customers = [
        create_customer(
            engine,
            first_name=first,
            last_name=last,
            phone=phone,
            email=email,
            tax_id=_dni(number) if number else "",
            created_by_id=users[0].id,
        )
        for first, last, phone, email, number in CUSTOMERS
    ]
    _identify_stock(engine, rng)
    _make_offers(engine, rng, [user.id for user in users[:3]], [c.id for c in customers])
    logger.info("Demo data loaded")
    return True


def _identify_stock(engine: Engine, rng: random.Random) -> None:
    with transaction(engine) as session:
        vehicles = list(session.scalars(select(Vehicle).order_by(Vehicle.id)))
        for index, vehicle in enumerate(vehicles):
            if index % 5 != 4:
                vehicle.vin = _vin(vehicle.make, rng)
            vehicle.commission_number = f"C{26000 + index * 7:06d}"
            if vehicle.condition == "NEW":
                vehicle.order_number = f"P{rng.randrange(10**7, 10**8)}"
            if index % 6 == 5:
                vehicle.availability = Availability.IN_TRANSIT


def _make_offers(engine: Engine, rng: random.Random, salespeople: list[int], customers: list[int]) -> None:
    now = utcnow()
    with transaction(engine) as session:
        vehicles = list(session.scalars(select(Vehicle).order_by(Vehicle.id)))
        moments = sorted(
            now - timedelta(days=rng.randrange(1, 90), hours=rng.randrange(9))
            for _ in range(24)
        )
        counters: dict[int, int] = {}
        for index, created in enumerate(moments):
            vehicle = vehicles[index % len(vehicles)]
            year = local(created).year
            counters[year] = counters.get(year, 0) + 1
            temperature = round(rng.choice([0.1, 0.2, 0.35, 0.5, 0.6, 0.7, 0.8, 0.9]), 2)
            status = OfferStatus.FOLLOW_UP
            if index % 4 == 1:
                status = OfferStatus.WON if temperature >= 0.5 else OfferStatus.LOST
            elif index % 4 == 2 and index > 10:
                status = OfferStatus.LOST
            customer_id = None if index in (3, 7) else customers[index % len(customers)]
            offer = Offer(
                number=f"{year}-{counters[year]:06d}",
                request_token=uuid.uuid4().hex,
                status=status,
                vehicle_id=vehicle.id,
                customer_id=customer_id,
                salesperson_id=salespeople[index % len(salespeople)],
                price_cents=vehicle.price_cents,
                discount_cents=rng.choice([0, 0, 50000, 100000, 150000]),
                temperature=temperature,
                created_at=created,
                updated_at=created,
            )
            if status != OfferStatus.FOLLOW_UP:
                offer.closed_at = created + timedelta(days=rng.randrange(2, 20))
                if status == OfferStatus.WON:
                    vehicle.availability = Availability.SOLD
            session.add(offer)
            session.flush()
            if customer_id is not None and index % 3 != 0:
                _delivered(session, offer, created + timedelta(hours=1))
        for year, last_value in counters.items():
            session.add(OfferCounter(year=year, last_value=last_value))


def _delivered(session: object, offer: Offer, when: object) -> None:
    session.add(
        Delivery(
            offer_id=offer.id,
            request_token=uuid.uuid4().hex,
            channel=DeliveryChannel.PRINT,
            recipient="",
            user_id=offer.salesperson_id,
            result=DeliveryResult.SENT,
            created_at=when,
            finished_at=when,
        )
    )
    offer.last_delivered_at = when
    offer.delivery_count = 1
