"""Demo data for a first start: salespeople, stock, customers and offers.

Loaded only into an empty database, so a newcomer has something to click
through; a real dealership turns it off with ``OFFERDESK_DEMO_DATA=false``.
"""

import logging
import random
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, func, select

from lib.activities import add_activity
from lib.auth import IssuedPassword, issue_one_time_password
from lib.config import DATA_DIR
from lib.customers import create_customer
from lib.db import reading, transaction
from lib.formatting import local
from lib.lost_reasons import list_lost_reasons
from lib.models import (
    Availability,
    Delivery,
    DeliveryChannel,
    DeliveryResult,
    Offer,
    Role,
    User,
    Vehicle,
    utcnow,
)
from lib.offers import create_offer, mark_lost, mark_won, record_delivery_success
from lib.stock import import_stock
from lib.users import create_user
from lib.views import Viewer

logger = logging.getLogger(__name__)

DEMO_STOCK = DATA_DIR / "demo_stock.csv"

# The sales manager of a demo is the first start's ``gerente``.
SALESPEOPLE = [
    ("lucia", "Lucía Fernández Ibáñez", "+34910000001"),
    ("jordi", "Jordi Puig Martí", "+34910000002"),
    ("ainhoa", "Ainhoa Etxeberria Goñi", "+34910000003"),
]

# fmt: off
CUSTOMERS = [
    ("Íñigo", "Muñoz Peñalver", "612345678", "inigo.munoz@correo.example", 12345678),
    ("María José", "García López", "623456789", "mjgarcia@correo.example", 23456789),
    ("Begoña", "Azcárate Ortiz", "634567890", "", 34567890),
    ("Raúl", "Núñez Castaño", "645678901", "raul.nunez@correo.example", None),
    ("Zoë", "Vidal i Roca", "656789012", "zoe.vidal@correo.example", 45678901),
    ("Andrés", "Ferrándiz Sáez", "667890123", "andres.ferrandiz@correo.example", None),
    ("Nerea", "Olaizola Arrieta", "678901234", "nerea.olaizola@correo.example",
     56789012),
    ("Joaquín", "Herrero Díaz", "689012345", "", None),
    ("Lourdes", "Peña Calderón", "690123456", "lourdes.pena@correo.example", 67890123),
    ("Óscar", "Beltrán Muñiz", "711234567", "oscar.beltran@correo.example", None),
    ("Ángela", "Rovira Pujol", "722345678", "angela.rovira@correo.example", 78901234),
    ("Sergio", "Cañizares Gil", "733456789", "sergio.canizares@correo.example", None),
]
# fmt: on

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
    tail = "".join(rng.choice(VIN_CHARACTERS) for _ in range(9))
    return (
        f"{WMI.get(make, 'VSS')}ZZZ{rng.choice('ABCDEFGH')}{tail}{rng.randrange(10)}"[
            :17
        ]
    )


def is_empty(engine: Engine) -> bool:
    """True when there is no salesperson, no vehicle and no offer yet.

    The first start's sales manager may already exist.
    """
    with reading(engine) as session:
        salespeople = select(func.count(User.id)).where(User.role == Role.SALES)
        return not (
            session.scalar(salespeople)
            or session.scalar(select(func.count(Vehicle.id)))
            or session.scalar(select(func.count(Offer.id)))
        )


def load_demo_data(engine: Engine) -> list[IssuedPassword]:
    """Fill an empty database with demo data.

    Returns the one-time passwords of the demo's salespeople, to be shown
    once on the console; an empty list when the database was not empty.
    """
    if not is_empty(engine):
        return []
    rng = random.Random(20261203)

    users = [
        create_user(
            engine,
            username=username,
            full_name=name,
            role=Role.SALES,
            email=f"{username}@concesionario.example",
            phone=phone,
        )
        for username, name, phone in SALESPEOPLE
    ]
    issued = [
        issue_one_time_password(engine, user.id, by="demo data") for user in users
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
            # Every demo customer with an email agreed to it but Sergio, so
            # the demo also shows why an offer cannot be emailed.
            email_consent=bool(email) and first != "Sergio",
            email_consent_method="IN_PERSON",
        )
        for first, last, phone, email, number in CUSTOMERS
    ]
    _identify_stock(engine, rng)
    _make_offers(engine, rng, [user.id for user in users], [c.id for c in customers])
    logger.info("Demo data loaded")
    return issued


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
            if vehicle.condition == "NEW":
                electric = vehicle.fuel == "Eléctrico"
                vehicle.co2_gkm = (
                    0 if electric else rng.choice([108, 119, 134, 152, 171])
                )


def _make_offers(
    engine: Engine, rng: random.Random, salespeople: list[int], customers: list[int]
) -> None:
    now = utcnow()
    reasons = [reason.id for reason in list_lost_reasons(engine)]
    with reading(engine) as session:
        vehicles = list(session.scalars(select(Vehicle.id).order_by(Vehicle.id)))
    moments = sorted(
        now - timedelta(days=rng.randrange(1, 90), hours=rng.randrange(9))
        for _ in range(24)
    )
    for index, created in enumerate(moments):
        salesperson = salespeople[index % len(salespeople)]
        viewer = Viewer(user_id=salesperson, role=Role.SALES)
        customer_id = None if index in (3, 7) else customers[index % len(customers)]
        temperature = rng.choice([0.1, 0.2, 0.35, 0.5, 0.6, 0.7, 0.8, 0.9])
        offer = create_offer(
            engine,
            request_token=uuid.uuid4().hex,
            vehicle_id=vehicles[index % len(vehicles)],
            salesperson_id=salesperson,
            price_cents=_price(engine, vehicles[index % len(vehicles)]),
            discount_cents=rng.choice([0, 0, 50000, 100000, 150000]),
            transport_cents=rng.choice([0, 45000, 65000]),
            temperature=temperature,
            customer_id=customer_id,
            now=created,
        )
        if customer_id is not None and index % 3 != 0:
            _delivered(engine, offer.id, salesperson, created + timedelta(hours=1))
        if index % 4 == 1 and temperature >= 0.5:
            sold = local(created).date() + timedelta(days=rng.randrange(2, 20))
            mark_won(
                engine, offer.id, viewer=viewer, sold_on=min(sold, local(now).date())
            )
        elif index % 4 == 1 or (index % 4 == 2 and index > 10):
            mark_lost(
                engine,
                offer.id,
                viewer=viewer,
                reason_id=rng.choice(reasons),
                competitor_make=rng.choice(["", "Toyota", "Hyundai", "Kia"]),
            )
        elif customer_id is not None:
            add_activity(
                engine,
                offer.id,
                viewer=viewer,
                kind=rng.choice(["CALL", "VISIT", "TEST_DRIVE"]),
                note=rng.choice(
                    ["Pide financiación a 48 meses", "Viene el sábado", ""]
                ),
                happened_at=created + timedelta(days=1),
                next_contact_on=local(now).date() + timedelta(days=rng.randrange(10)),
            )
            if index % 3 == 0:
                _overdue(engine, offer.id, local(now).date() - timedelta(days=2))


def _overdue(engine: Engine, offer_id: int, day: date) -> None:
    # A contact that was due two days ago, as a real pipeline always has.
    with transaction(engine) as session:
        session.get(Offer, offer_id).next_contact_on = day


def _price(engine: Engine, vehicle_id: int) -> int:
    with reading(engine) as session:
        return session.get(Vehicle, vehicle_id).price_cents


def _delivered(engine: Engine, offer_id: int, user_id: int, when: datetime) -> None:
    with transaction(engine) as session:
        offer = session.get(Offer, offer_id)
        session.add(
            Delivery(
                offer_id=offer_id,
                request_token=uuid.uuid4().hex,
                channel=DeliveryChannel.PRINT,
                recipient="",
                user_id=user_id,
                result=DeliveryResult.SENT,
                offer_revision=offer.revision,
                created_at=when,
                finished_at=when,
            )
        )
        record_delivery_success(session, offer_id, when, offer.revision)
