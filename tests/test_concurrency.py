"""Several writers at once: no duplicate number, no lost write, no lock error."""

import multiprocessing
import sys
import types
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from lib.activities import add_activity
from lib.config import Settings
from lib.customers import create_customer
from lib.db import make_engine, reading
from lib.deliveries import deliver_offer
from lib.formatting import local
from lib.lost_reasons import list_lost_reasons
from lib.models import (
    ActivityKind,
    Delivery,
    DeliveryChannel,
    DeliveryResult,
    Offer,
    OfferCount,
    Role,
    utcnow,
)
from lib.offers import (
    create_offer,
    list_offers,
    mark_lost,
    status_counts,
    update_terms,
)
from lib.vehicles import create_factory_order
from lib.views import Viewer

WRITERS = 6
OFFERS_EACH = 8

# Half the processes deliver, half change terms and add activities, on the
# same two offers; the changes go on for as long as the deliveries do.
PROCESSES = 4
DELIVERERS = PROCESSES // 2
ROUNDS = 3
SHARED_DELIVERIES = 2
MAX_CHANGES = 300
SHARED_OFFERS = 2


def test_concurrent_writers_get_unique_numbers_and_lose_nothing(engine, salesperson):
    vehicle = create_factory_order(
        engine,
        make="SEAT",
        model="Ibiza",
        version="",
        colour="",
        price_cents=1849000,
        co2_gkm=110,
    )
    viewer = Viewer(salesperson.id, "SALES")

    def write(writer: int) -> list[str]:
        numbers = []
        for index in range(OFFERS_EACH):
            offer = create_offer(
                engine,
                request_token=uuid.uuid4().hex,
                vehicle_id=vehicle.id,
                salesperson_id=salesperson.id,
                price_cents=vehicle.price_cents,
                temperature=0.5,
            )
            update_terms(
                engine,
                offer.id,
                viewer=viewer,
                discount_cents=writer * 100 + index,
                options_cents=0,
                transport_cents=0,
                temperature=0.9,
                notes="",
            )
            numbers.append(offer.number)
        return numbers

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        results = [
            number for numbers in pool.map(write, range(WRITERS)) for number in numbers
        ]

    expected = WRITERS * OFFERS_EACH
    assert len(set(results)) == expected
    assert sorted(int(number.split("-")[1]) for number in results) == list(
        range(1, expected + 1)
    )
    stored = list_offers(engine, page_size=100).offers
    assert len(stored) == expected
    assert sorted(o.prices.discount_cents for o in stored) == sorted(
        w * 100 + i for w in range(WRITERS) for i in range(OFFERS_EACH)
    )
    assert status_counts(engine) == {"FOLLOW_UP": expected, "WON": 0, "LOST": 0}


def _attempt(
    errors: list[str], what: str, call: Callable[..., object], *args, **kwargs
) -> object:
    try:
        return call(*args, **kwargs)
    except Exception as error:  # every error is the test's finding
        errors.append(f"{what}: {type(error).__name__}: {error}")
        return None


class _Office:
    """What one app process does and what it saw."""

    def __init__(self, url: str, worker: int, setup: dict[str, int], outbox: str):
        self.engine = make_engine(url)
        self.worker = worker
        self.setup = setup
        self.viewer = Viewer(setup["salesperson_id"], Role.SALES)
        self.settings = Settings(mail_backend="file", outbox_dir=Path(outbox))
        self.numbers: list[str] = []
        self.own: list[int] = []
        self.sent: Counter[int] = Counter()
        self.changes = 0
        self.errors: list[str] = []

    def create(self) -> None:
        offer = _attempt(
            self.errors,
            "create",
            create_offer,
            self.engine,
            request_token=uuid.uuid4().hex,
            vehicle_id=self.setup["vehicle_id"],
            salesperson_id=self.setup["salesperson_id"],
            customer_id=self.setup["customer_id"],
            price_cents=1849000,
            temperature=0.5,
        )
        if offer is not None:
            self.numbers.append(offer.number)
            self.own.append(offer.id)

    def deliver(self, offer_id: int) -> None:
        done = _attempt(
            self.errors,
            f"deliver {offer_id}",
            deliver_offer,
            self.engine,
            offer_id,
            channel=DeliveryChannel.PRINT,
            viewer=self.viewer,
            request_token=uuid.uuid4().hex,
            settings=self.settings,
        )
        if done is not None:
            self.sent[offer_id] += 1

    def change(self, offer_id: int, step: int) -> None:
        # The two changing processes move their offers between the same two
        # bands, each at its own pace, so the moves cross both ways.
        self.changes += 1
        hot = (step // 2 + self.worker) % 2
        _attempt(
            self.errors,
            "terms",
            update_terms,
            self.engine,
            offer_id,
            viewer=self.viewer,
            discount_cents=self.worker * 1000 + step,
            options_cents=0,
            transport_cents=0,
            temperature=0.9 if hot else 0.1,
            notes=f"Proceso {self.worker}, cambio {step}",
        )
        if step % 4 == 3:
            _attempt(
                self.errors,
                "activity",
                add_activity,
                self.engine,
                offer_id,
                viewer=self.viewer,
                kind=ActivityKind.CALL,
                note=f"Llamada del proceso {self.worker}",
                next_contact_on=local(utcnow()).date() + timedelta(days=1),
            )

    def report(self) -> dict[str, object]:
        self.engine.dispose()
        return {
            "worker": self.worker,
            "numbers": self.numbers,
            "sent": dict(self.sent),
            "changes": self.changes,
            "errors": self.errors,
        }


def _office_worker(
    url: str,
    worker: int,
    shared: list[int],
    setup: dict[str, int],
    outbox: str,
    start: object,
    delivering: object,
    results: object,
) -> None:
    """One app process: create and deliver offers, or change the shared ones."""
    office = _Office(url, worker, setup, outbox)

    start.wait(timeout=120)
    try:
        for turn in range(ROUNDS):
            office.create()
            if worker < DELIVERERS and office.own:
                office.deliver(office.own[-1])
                for _ in range(SHARED_DELIVERIES):
                    office.deliver(shared[(turn + worker) % len(shared)])
    finally:
        if worker < DELIVERERS:
            with delivering.get_lock():
                delivering.value -= 1
    step = 0
    while worker >= DELIVERERS and delivering.value > 0 and step < MAX_CHANGES:
        office.change(shared[(step + worker) % len(shared)], step)
        step += 1
    if office.own:
        _attempt(
            office.errors,
            "lost",
            mark_lost,
            office.engine,
            office.own[-1],
            viewer=office.viewer,
            reason_id=setup["reason_id"],
        )
    results.put(office.report())


def test_processes_delivering_and_changing_the_same_offers_lose_nothing(
    engine, salesperson, tmp_path, monkeypatch
):
    vehicle = create_factory_order(
        engine,
        make="SEAT",
        model="Ibiza",
        version="",
        colour="",
        price_cents=1849000,
        co2_gkm=110,
    )
    customer = create_customer(
        engine, first_name="Íñigo", last_name="Muñoz", phone="612345678"
    )
    shared = [
        create_offer(
            engine,
            request_token=uuid.uuid4().hex,
            vehicle_id=vehicle.id,
            salesperson_id=salesperson.id,
            customer_id=customer.id,
            price_cents=vehicle.price_cents,
            temperature=0.5,
        ).id
        for _ in range(SHARED_OFFERS)
    ]
    setup = {
        "salesperson_id": salesperson.id,
        "customer_id": customer.id,
        "vehicle_id": vehicle.id,
        "reason_id": list_lost_reasons(engine)[0].id,
    }
    url = engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES)
    delivering = context.Value("i", DELIVERERS)
    results = context.Queue()
    workers = [
        context.Process(
            target=_office_worker,
            args=(
                url,
                worker,
                shared,
                setup,
                str(tmp_path),
                start,
                delivering,
                results,
            ),
        )
        for worker in range(PROCESSES)
    ]

    # A spawned process first imports its parent's __main__; after a page test
    # that is app.py (AppTest runs it as __main__), which would start the app
    # in every worker. The workers need only this module.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    for process in workers:
        process.start()
    reports = [results.get(timeout=180) for _ in workers]
    for process in workers:
        process.join(timeout=30)

    assert [error for report in reports for error in report["errors"]] == []
    assert [process.exitcode for process in workers] == [0] * PROCESSES
    changes = {r["worker"]: r["changes"] for r in reports if r["worker"] >= DELIVERERS}
    assert len(changes) == PROCESSES - DELIVERERS and min(changes.values()) > 0
    created = [number for report in reports for number in report["numbers"]]
    assert len(set(created)) == len(created) == PROCESSES * ROUNDS
    total = SHARED_OFFERS + PROCESSES * ROUNDS
    with reading(engine) as session:
        numbers = sorted(session.scalars(select(Offer.number)))
        results_by_kind = dict(
            session.execute(
                select(Delivery.result, func.count()).group_by(Delivery.result)
            ).all()
        )
        sent_by_offer = dict(
            session.execute(
                select(Delivery.offer_id, func.count())
                .where(Delivery.result == DeliveryResult.SENT)
                .group_by(Delivery.offer_id)
            ).all()
        )
        delivery_counts = dict(
            session.execute(select(Offer.id, Offer.delivery_count)).all()
        )
        by_status = dict(
            session.execute(
                select(Offer.status, func.count()).group_by(Offer.status)
            ).all()
        )
        by_group = {
            (row.salesperson_id, row.status, row.band): row.n
            for row in session.execute(
                select(
                    Offer.salesperson_id,
                    Offer.status,
                    Offer.band,
                    func.count().label("n"),
                ).group_by(Offer.salesperson_id, Offer.status, Offer.band)
            )
        }
        summary = {
            (row.salesperson_id, row.status, row.band): row.offers
            for row in session.scalars(select(OfferCount))
            if row.offers
        }
    year = numbers[0].split("-")[0]
    assert numbers == [f"{year}-{index:06d}" for index in range(1, total + 1)]
    reported = Counter()
    for report in reports:
        reported.update({int(k): n for k, n in report["sent"].items()})
    deliveries = DELIVERERS * ROUNDS * (1 + SHARED_DELIVERIES)
    assert results_by_kind == {DeliveryResult.SENT: deliveries}
    assert sent_by_offer == dict(reported)
    assert delivery_counts == {
        offer_id: reported[offer_id] for offer_id in delivery_counts
    }
    assert status_counts(engine) == {
        status: by_status.get(status, 0) for status in ("FOLLOW_UP", "WON", "LOST")
    }
    assert by_status == {"FOLLOW_UP": total - PROCESSES, "LOST": PROCESSES}
    assert summary == by_group
