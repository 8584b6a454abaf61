"""Fill a database with a dealership group's history, for the benchmarks.

    python -m bench.generate URL OFFERS

Writes OFFERS offers with the people and things around them in plausible
proportions: about one customer for every 1,4 offers, one vehicle for every
3, 45 salespeople and managers, 1,2 deliveries and 1,5 follow-up activities
per offer, five years of dates, most old offers closed. Rows go in through
SQLAlchemy Core in large batches; the summary counts, search text and history
are written as the services would write them, so the pages read what they
would read in production. The vehicles come from the real stock export beside
the project when it is there.
"""

import csv
import random
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert, text

from lib.config import PROJECT_ROOT
from lib.db import make_engine, migrate
from lib.models import (
    Activity,
    Customer,
    Delivery,
    Offer,
    OfferCount,
    OfferCounter,
    OfferEvent,
    Role,
    User,
    Vehicle,
)
from lib.offers import band_of
from lib.search import fold

STOCK_CSV = PROJECT_ROOT.parent / "shared" / "data" / "stock-autoscout24-de.csv"
BATCH = 20_000
FIRST_NAMES = [
    "Íñigo", "María José", "Begoña", "Raúl", "Zoë", "Andrés", "Nerea", "Joaquín",
    "Lourdes", "Óscar", "Ángela", "Sergio", "Lucía", "Jordi", "Ainhoa", "Pau",
    "Carmen", "Javier", "Marta", "Álvaro", "Nuria", "Iker", "Rocío", "Xabier",
]  # fmt: skip
LAST_NAMES = [
    "Muñoz", "Peñalver", "García", "López", "Azcárate", "Núñez", "Castaño",
    "Vidal", "Roca", "Ferrándiz", "Sáez", "Olaizola", "Herrero", "Díaz", "Peña",
    "Calderón", "Beltrán", "Rovira", "Pujol", "Cañizares", "Gil", "Etxeberria",
]  # fmt: skip
VIN_CHARACTERS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _stock(rng: random.Random) -> list[tuple[str, str, int]]:
    if not STOCK_CSV.exists():
        return [("SEAT", "León", 2_345_000), ("Volkswagen", "Golf", 2_450_000)]
    with STOCK_CSV.open(encoding="utf-8") as source:
        rows = [
            (row["make"], row["model"], int(row["price"]) * 100)
            for row in csv.DictReader(source)
            if row["model"] and row["price"].isdigit()
        ]
    rng.shuffle(rows)
    return rows


def _batches(engine: Engine, table: type, rows: object) -> int:
    written, batch = 0, []
    with engine.begin() as connection:
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                connection.execute(insert(table), batch)
                written += len(batch)
                batch = []
        if batch:
            connection.execute(insert(table), batch)
            written += len(batch)
    return written


def generate(url: str, offers: int, seed: int = 7) -> dict[str, int]:
    """Migrate the database at ``url`` and write ``offers`` offers of history."""
    rng = random.Random(seed)
    engine = make_engine(url)
    migrate(engine)
    stock = _stock(rng)
    n_users, n_customers, n_vehicles = (
        45,
        max(1, offers * 10 // 14),
        max(1, offers // 3),
    )

    _batches(
        engine,
        User,
        (
            {
                "id": index + 1,
                "username": f"comercial{index + 1}",
                "full_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                "email": f"comercial{index + 1}@grupo.example",
                "phone": "",
                "role": Role.MANAGER if index < 5 else Role.SALES,
                "active": True,
                "must_change_password": False,
                "failed_logins": 0,
                "created_at": NOW,
            }
            for index in range(n_users)
        ),
    )
    vehicles = []
    for index in range(n_vehicles):
        make, model, price = stock[index % len(stock)]
        vin = "VSSZZZ" + "".join(rng.choice(VIN_CHARACTERS) for _ in range(11))
        vehicles.append(
            {
                "id": index + 1,
                "make": make,
                "model": model,
                "version": "",
                "colour": "",
                "fuel": "",
                "gear": "",
                "condition": "USED",
                "availability": "IN_STOCK",
                "price_cents": price,
                "vin": vin if index % 4 else None,
                "commission_number": f"C{index + 1:07d}",
                "order_number": f"P{index + 1:08d}" if index % 3 == 0 else None,
                "created_at": NOW,
            }
        )
    _batches(engine, Vehicle, vehicles)
    customers = []
    for index in range(n_customers):
        first, last = (
            rng.choice(FIRST_NAMES),
            f"{rng.choice(LAST_NAMES)} {rng.choice(LAST_NAMES)}",
        )
        phone = f"+346{index:08d}"
        email = f"cliente{index + 1}@correo.example" if index % 5 else None
        customers.append(
            {
                "id": index + 1,
                "first_name": first,
                "last_name": last,
                "phone": phone,
                "email": email,
                "tax_id": None,
                "search_text": fold(first, last, phone, email),
                "created_at": NOW,
                "email_consent_method": "",
            }
        )
    _batches(engine, Customer, customers)

    counts: Counter = Counter()
    numbers: Counter = Counter()
    span = 5 * 365 * 24 * 3600

    def offer_rows():
        moments = sorted(
            NOW - timedelta(seconds=rng.randrange(span)) for _ in range(offers)
        )
        for index, created in enumerate(moments):
            vehicle = vehicles[rng.randrange(n_vehicles)]
            customer = customers[rng.randrange(n_customers)] if index % 10 else None
            age = (NOW - created).days
            status = "FOLLOW_UP"
            if age > 60 or rng.random() < 0.3:
                status = "WON" if rng.random() < 0.3 else "LOST"
            temperature = round(rng.random(), 2)
            salesperson = rng.randrange(1, n_users + 1)
            year = created.year
            numbers[year] += 1
            band = band_of(temperature)
            counts[(salesperson, status, band)] += 1
            number = f"{year}-{numbers[year]:06d}"
            delivered = customer is not None and index % 5 != 0
            yield {
                "id": index + 1,
                "number": number,
                "request_token": uuid.UUID(int=rng.getrandbits(128)).hex,
                "status": status,
                "vehicle_id": vehicle["id"],
                "customer_id": customer["id"] if customer else None,
                "salesperson_id": salesperson,
                "price_cents": vehicle["price_cents"],
                "discount_cents": rng.choice([0, 0, 50_000, 100_000]),
                "options_cents": 0,
                "transport_cents": rng.choice([0, 45_000]),
                "registration_tax_cents": 0,
                "temperature": temperature,
                "band": band,
                "notes": "",
                "created_at": created,
                "updated_at": created,
                "valid_until": (created + timedelta(days=15)).date(),
                "revision": 1,
                "delivered_revision": 1 if delivered else None,
                "last_delivered_at": created + timedelta(hours=2)
                if delivered
                else None,
                "delivery_count": 1 if delivered else 0,
                "closed_at": created + timedelta(days=20)
                if status != "FOLLOW_UP"
                else None,
                "next_contact_on": (NOW + timedelta(days=rng.randrange(-5, 20))).date()
                if status == "FOLLOW_UP"
                else None,
                "competitor_make": "",
                "competitor_model": "",
                "search_text": fold(
                    number,
                    *(
                        (
                            customer["first_name"],
                            customer["last_name"],
                            customer["phone"],
                            customer["email"],
                        )
                        if customer
                        else ()
                    ),
                    vehicle["make"],
                    vehicle["model"],
                    vehicle["vin"],
                    vehicle["order_number"],
                    vehicle["commission_number"],
                ),
            }

    written = _batches(engine, Offer, offer_rows())
    _batches(
        engine,
        OfferCount,
        (
            {"salesperson_id": s, "status": st, "band": b, "offers": n}
            for (s, st, b), n in counts.items()
        ),
    )
    _batches(
        engine, OfferCounter, ({"year": y, "last_value": n} for y, n in numbers.items())
    )
    _batches(
        engine,
        OfferEvent,
        (
            {
                "offer_id": index + 1,
                "kind": "CREATED",
                "from_value": "",
                "to_value": "FOLLOW_UP",
                "user_id": 1,
                "at": NOW,
                "note": "",
            }
            for index in range(offers)
        ),
    )
    deliveries = _batches(
        engine,
        Delivery,
        (
            {
                "offer_id": rng.randrange(1, offers + 1),
                "request_token": uuid.UUID(int=rng.getrandbits(128)).hex,
                "channel": "EMAIL" if index % 2 else "PRINT",
                "recipient": "",
                "user_id": rng.randrange(1, n_users + 1),
                "result": "SENT" if index % 20 else "FAILED",
                "error": "",
                "document_sha256": "",
                "offer_revision": 1,
                "created_at": NOW,
                "finished_at": NOW,
            }
            for index in range(offers * 12 // 10)
        ),
    )
    activities = _batches(
        engine,
        Activity,
        (
            {
                "offer_id": rng.randrange(1, offers + 1),
                "kind": rng.choice(["CALL", "VISIT", "TEST_DRIVE", "EMAIL", "NOTE"]),
                "happened_at": NOW,
                "user_id": rng.randrange(1, n_users + 1),
                "note": "",
                "created_at": NOW,
            }
            for _ in range(offers * 15 // 10)
        ),
    )
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            for table in ("users", "vehicles", "customers", "offers"):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT MAX(id) FROM {table}))"
                    )
                )
            connection.execute(text("ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    engine.dispose()
    return {
        "offers": written,
        "customers": n_customers,
        "vehicles": n_vehicles,
        "deliveries": deliveries,
        "activities": activities,
    }


def main(argv: list[str]) -> int:
    url, offers = argv[0], int(argv[1])
    started = time.perf_counter()
    written = generate(url, offers)
    seconds = time.perf_counter() - started
    print(
        " · ".join(f"{name} {count:,}" for name, count in written.items()),
        f"· {seconds:.1f} s",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
