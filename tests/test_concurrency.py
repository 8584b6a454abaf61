"""Several writers at once: no duplicate number, no lost write, no lock error."""

import uuid
from concurrent.futures import ThreadPoolExecutor

from lib.offers import create_offer, list_offers, status_counts, update_terms
from lib.vehicles import create_factory_order
from lib.views import Viewer

WRITERS = 6
OFFERS_EACH = 8


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
