"""Eight salespeople writing at once: create and deliver 1,000 offers in all.

    python -m bench.bench_writers [WRITERS] [OFFERS]

Each writer is a process of its own (as app processes behind a load
balancer are), creating offers with its own request tokens and delivering each
one printed, on a fresh SQLite file and, when OFFERDESK_BENCH_POSTGRES_URL
names a server, on a fresh PostgreSQL database. Afterwards it checks that no
number was given twice, that every offer and delivery is stored, and that no
writer saw an error (a "database is locked" would be one), and prints the
throughput.
"""

import logging
import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from lib.config import Settings
from lib.customers import create_customer
from lib.db import make_engine, migrate, reading
from lib.models import Delivery, DeliveryResult, Offer, Role
from lib.users import create_user
from lib.vehicles import create_factory_order
from lib.views import Viewer


def _prepare(url: str, writers: int) -> tuple[int, list[int], int]:
    engine = make_engine(url)
    migrate(engine)
    vehicle = create_factory_order(
        engine,
        make="SEAT",
        model="León",
        version="",
        colour="",
        price_cents=2345000,
        co2_gkm=118,
    )
    users = [
        create_user(
            engine,
            username=f"comercial{n}",
            full_name=f"Comercial {n}",
            role=Role.SALES,
        ).id
        for n in range(writers)
    ]
    customer = create_customer(
        engine, first_name="Íñigo", last_name="Muñoz", phone="612345678"
    )
    engine.dispose()
    return vehicle.id, users, customer.id


def _write(
    url: str, vehicle_id: int, user_id: int, customer_id: int, count: int, outbox: str
) -> tuple[int, list[str], float, float]:
    from lib.deliveries import deliver_offer
    from lib.offers import create_offer

    logging.disable(logging.WARNING)
    engine = make_engine(url)
    settings = Settings(database_url=url, outbox_dir=Path(outbox))
    viewer = Viewer(user_id=user_id, role=Role.SALES)
    done, errors = 0, []
    started = time.time()
    for _ in range(count):
        try:
            offer = create_offer(
                engine,
                request_token=uuid.uuid4().hex,
                vehicle_id=vehicle_id,
                salesperson_id=user_id,
                price_cents=2345000,
                temperature=0.5,
                customer_id=customer_id,
            )
            deliver_offer(
                engine,
                offer.id,
                channel="PRINT",
                viewer=viewer,
                request_token=uuid.uuid4().hex,
                settings=settings,
            )
            done += 1
        except Exception as error:  # every failure is counted and shown
            errors.append(f"{type(error).__name__}: {error}")
    finished = time.time()
    engine.dispose()
    return done, errors, started, finished


def _run(url: str, writers: int, offers: int) -> dict[str, object]:
    vehicle_id, users, customer_id = _prepare(url, writers)
    each = offers // writers
    context = get_context("spawn")
    with (
        tempfile.TemporaryDirectory() as outbox,
        ProcessPoolExecutor(max_workers=writers, mp_context=context) as pool,
    ):
        results = list(
            pool.map(
                _write,
                [url] * writers,
                [vehicle_id] * writers,
                users,
                [customer_id] * writers,
                [each] * writers,
                [outbox] * writers,
            )
        )
    # From the first writer's first offer to the last writer's last: the
    # processes' start-up (imports, fonts) is not the database's doing.
    seconds = max(r[3] for r in results) - min(r[2] for r in results)
    engine = make_engine(url)
    with reading(engine) as session:
        stored = session.scalar(select(func.count(Offer.id)))
        distinct = session.scalar(select(func.count(func.distinct(Offer.number))))
        delivered = session.scalar(
            select(func.count(Delivery.id)).where(
                Delivery.result == DeliveryResult.SENT
            )
        )
    engine.dispose()
    errors = [error for result in results for error in result[1]]
    return {
        "done": sum(result[0] for result in results),
        "stored": stored,
        "distinct": distinct,
        "delivered": delivered,
        "errors": errors,
        "seconds": seconds,
    }


def main(argv: list[str]) -> int:
    writers = int(argv[0]) if argv else 8
    offers = int(argv[1]) if len(argv) > 1 else 1000
    targets = []
    folder = tempfile.mkdtemp()
    targets.append(("sqlite", f"sqlite:///{folder}/writers.db"))
    server_url = os.environ.get("OFFERDESK_BENCH_POSTGRES_URL")
    name = f"offerdesk_writers_{uuid.uuid4().hex[:8]}"
    if server_url:
        server = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        targets.append(
            (
                "postgresql",
                make_url(server_url).set(database=name).render_as_string(False),
            )
        )
    print(f"\n{writers} writers, {offers} offers created and delivered in all\n")
    print(
        f"{'database':<11} {'stored':>7} {'unique nº':>9} {'delivered':>9} "
        f"{'errors':>6} "
        f"{'seconds':>8} {'offers/s':>9}"
    )
    for backend, url in targets:
        result = _run(url, writers, offers)
        print(
            f"{backend:<11} {result['stored']:>7} {result['distinct']:>9} "
            f"{result['delivered']:>9} {len(result['errors']):>6} "
            f"{result['seconds']:>8.1f} "
            f"{result['done'] / result['seconds']:>9.1f}"
        )
        for error in result["errors"][:5]:
            print("   ", error)
    if server_url:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
