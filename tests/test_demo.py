"""The demo data a newcomer clicks through is valid, varied and loaded once."""

from sqlalchemy import func, select

from lib.db import reading
from lib.demo import load_demo_data
from lib.models import Customer, Role, User, Vehicle
from lib.offers import list_offers, status_counts
from lib.vehicles import normalise_vin


def test_demo_data_fills_an_empty_database_once(engine):
    issued = load_demo_data(engine)
    again = load_demo_data(engine)

    assert [person.username for person in issued] == ["lucia", "jordi", "ainhoa"]
    assert again == []
    with reading(engine) as session:
        roles = dict(
            session.execute(
                select(User.role, func.count(User.id)).group_by(User.role)
            ).all()
        )
        vins = list(
            session.scalars(select(Vehicle.vin).where(Vehicle.vin.is_not(None)))
        )
        customers = session.scalar(select(func.count(Customer.id)))
    assert roles[Role.SALES] == 3
    assert customers == 12
    assert vins and all(normalise_vin(vin) == vin for vin in vins)
    counts = status_counts(engine)
    assert sum(counts.values()) == 24
    assert all(counts[status] > 0 for status in counts)
    offers = list_offers(engine, page_size=100).offers
    assert {offer.customer is None for offer in offers} == {True, False}
    assert any(offer.last_delivered_at for offer in offers)
    numbers = [offer.number for offer in offers]
    assert len(set(numbers)) == 24
