"""A salesperson's reach: their own counts, exports and offers, nobody else's.

An attempt on another salesperson's offer is answered exactly like one on an
offer that does not exist, changes nothing, and is recorded as denied access.
"""

import csv
import io
import uuid
from dataclasses import dataclass

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from lib.activities import add_activity, list_activities, list_events
from lib.config import Settings
from lib.customers import create_customer
from lib.db import reading
from lib.deliveries import deliver_offer, list_deliveries, preview_offer_pdf
from lib.errors import NotFound
from lib.export import COLUMNS, export_csv, export_xlsx
from lib.lost_reasons import list_lost_reasons
from lib.models import (
    Activity,
    Customer,
    Delivery,
    Offer,
    OfferCount,
    OfferEvent,
    Role,
    SecurityEvent,
    Vehicle,
)
from lib.offers import (
    NOT_FOUND,
    OfferFilter,
    attach_customer,
    count_offers,
    create_offer,
    find_offer,
    get_offer,
    mark_lost,
    mark_won,
    reopen_offer,
    status_counts,
    temperature_band_counts,
    update_terms,
)
from lib.users import create_user
from lib.vehicles import create_factory_order
from lib.views import Viewer

MISSING_ID = 999_999
MISSING_NUMBER = "2026-999999"
# Tables an act on an offer may write to; a refused act leaves them all as they were.
WRITTEN = (Offer, Vehicle, Customer, Activity, OfferEvent, Delivery, OfferCount)


@dataclass(frozen=True)
class Pipelines:
    """Lucía's offers and Jordi's, and the viewers that ask for them."""

    lucia: Viewer
    jordi: Viewer
    manager: Viewer
    mine: list
    theirs: dict


def new_vehicle(engine, make: str, model: str):
    return create_factory_order(
        engine,
        make=make,
        model=model,
        version="",
        colour="",
        price_cents=2_500_000,
        co2_gkm=118,
    )


def new_offer(engine, salesperson_id: int, vehicle, **values):
    arguments = {
        "request_token": uuid.uuid4().hex,
        "vehicle_id": vehicle.id,
        "salesperson_id": salesperson_id,
        "price_cents": vehicle.price_cents,
        "temperature": 0.5,
    }
    arguments.update(values)
    return create_offer(engine, **arguments)


@pytest.fixture
def pipelines(engine, salesperson) -> Pipelines:
    """Lucía: two offers (cold and warm). Jordi: three (hot, without customer, won)."""
    jordi = create_user(engine, username="jordi", full_name="Jordi Puig Martí")
    marta = create_user(
        engine, username="marta", full_name="Marta Sánchez", role=Role.MANAGER
    )
    customer = create_customer(
        engine,
        first_name="Begoña",
        last_name="Ibarra",
        phone="634567890",
        email="begona.ibarra@correo.example",
        email_consent=True,
        email_consent_method="IN_PERSON",
    )
    ibiza = new_vehicle(engine, "SEAT", "Ibiza")
    ceed = new_vehicle(engine, "Kia", "Ceed")
    mine = [
        new_offer(engine, salesperson.id, ibiza, temperature=0.1),
        new_offer(engine, salesperson.id, ibiza, temperature=0.3),
    ]
    theirs = {
        "open": new_offer(
            engine, jordi.id, ceed, temperature=0.9, customer_id=customer.id
        ),
        "bare": new_offer(engine, jordi.id, ceed, temperature=0.9),
        "closed": new_offer(
            engine, jordi.id, new_vehicle(engine, "Kia", "Sportage"), temperature=0.9
        ),
    }
    mark_won(engine, theirs["closed"].id)
    return Pipelines(
        lucia=Viewer(salesperson.id, Role.SALES),
        jordi=Viewer(jordi.id, Role.SALES),
        manager=Viewer(marta.id, Role.MANAGER),
        mine=mine,
        theirs=theirs,
    )


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(mail_backend="file", outbox_dir=tmp_path / "outbox")


def denied(engine) -> list[tuple[int, str]]:
    statement = (
        select(SecurityEvent.user_id, SecurityEvent.detail)
        .where(SecurityEvent.event == "ACCESS_DENIED")
        .order_by(SecurityEvent.id)
    )
    with reading(engine) as session:
        return [tuple(row) for row in session.execute(statement)]


def stored_rows(engine) -> dict[str, list[tuple]]:
    """Every row of the tables an act may write, in key order."""
    with engine.connect() as connection:
        return {
            model.__tablename__: [
                tuple(row)
                for row in connection.execute(
                    model.__table__.select().order_by(
                        *model.__table__.primary_key.columns
                    )
                )
            ]
            for model in WRITTEN
        }


def band_counts(engine, viewer, filters) -> dict[tuple[str, str], int]:
    frame = temperature_band_counts(engine, viewer=viewer, filters=filters)
    return {(row.band, row.status): row.offers for row in frame.itertuples()}


def test_status_counts_of_a_salesperson_are_their_own(engine, pipelines):
    assert status_counts(engine, pipelines.lucia) == {
        "FOLLOW_UP": 2,
        "WON": 0,
        "LOST": 0,
    }
    assert status_counts(engine, pipelines.jordi) == {
        "FOLLOW_UP": 2,
        "WON": 1,
        "LOST": 0,
    }
    assert status_counts(engine, pipelines.manager) == {
        "FOLLOW_UP": 4,
        "WON": 1,
        "LOST": 0,
    }


@pytest.mark.parametrize("search", ["", "kia"], ids=["summary", "grouped_in_sql"])
def test_chart_counts_naming_another_salesperson_stay_the_viewers_own(
    engine, pipelines, search
):
    jordi_id = pipelines.jordi.user_id
    theirs = OfferFilter(salesperson_id=jordi_id, search=search)
    everyone = OfferFilter(search=search)

    assert band_counts(engine, pipelines.lucia, theirs) == {}
    assert count_offers(engine, pipelines.lucia, theirs) == (0, True)
    assert band_counts(engine, pipelines.manager, theirs) == {
        ("Muy caliente", "en Seguimiento"): 2,
        ("Muy caliente", "Éxito"): 1,
    }
    assert count_offers(engine, pipelines.manager, theirs) == (3, True)
    if search:
        # Lucía's offers are for an Ibiza: a search for Kia finds none of hers.
        assert band_counts(engine, pipelines.lucia, everyone) == {}
        assert count_offers(engine, pipelines.lucia, everyone) == (0, True)
    else:
        assert band_counts(engine, pipelines.lucia, everyone) == {
            ("Fría", "en Seguimiento"): 1,
            ("Templada", "en Seguimiento"): 1,
        }
        assert count_offers(engine, pipelines.lucia, everyone) == (2, True)


def csv_numbers(data: bytes) -> list[str]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == COLUMNS
    return sorted(row[0] for row in rows[1:])


def xlsx_numbers(data: bytes) -> list[str]:
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == COLUMNS
    return sorted(row[0] for row in rows[1:])


@pytest.mark.parametrize(
    ("export", "numbers"),
    [(export_csv, csv_numbers), (export_xlsx, xlsx_numbers)],
    ids=["csv", "xlsx"],
)
def test_export_for_a_salesperson_holds_only_their_own_offers(
    engine, pipelines, export, numbers
):
    lucia, jordi_id = pipelines.lucia, pipelines.jordi.user_id

    own = export(engine, viewer=lucia, filters=OfferFilter())
    naming_jordi = export(
        engine, viewer=lucia, filters=OfferFilter(salesperson_id=jordi_id)
    )
    searching_theirs = export(engine, viewer=lucia, filters=OfferFilter(search="kia"))
    everything = export(engine, viewer=pipelines.manager, filters=OfferFilter())

    assert numbers(own) == sorted(offer.number for offer in pipelines.mine)
    assert numbers(naming_jordi) == []
    assert numbers(searching_theirs) == []
    assert numbers(everything) == sorted(
        [offer.number for offer in pipelines.mine]
        + [offer.number for offer in pipelines.theirs.values()]
    )


def _terms(engine, ref, context):
    return update_terms(
        engine,
        ref,
        viewer=context["viewer"],
        discount_cents=100_000,
        options_cents=0,
        transport_cents=0,
        temperature=0.2,
        notes="Rebaja",
    )


def _deliver(engine, ref, context):
    return deliver_offer(
        engine,
        ref,
        channel="EMAIL",
        viewer=context["viewer"],
        request_token=uuid.uuid4().hex,
        settings=context["settings"],
    )


# Each act, the offer of Jordi's it would otherwise succeed on, and the
# reference (id or number) it names that offer and a missing one by.
ACTS = {
    "get_offer": ("open", "id", lambda e, r, c: get_offer(e, r, c["viewer"])),
    "find_offer": ("open", "number", lambda e, r, c: find_offer(e, r, c["viewer"])),
    "list_deliveries": (
        "open",
        "id",
        lambda e, r, c: list_deliveries(e, r, c["viewer"]),
    ),
    "list_activities": (
        "open",
        "id",
        lambda e, r, c: list_activities(e, r, viewer=c["viewer"]),
    ),
    "list_events": (
        "open",
        "id",
        lambda e, r, c: list_events(e, r, viewer=c["viewer"]),
    ),
    "add_activity": (
        "open",
        "id",
        lambda e, r, c: add_activity(
            e, r, viewer=c["viewer"], kind="CALL", note="Llamada"
        ),
    ),
    "update_terms": ("open", "id", _terms),
    "attach_customer": (
        "bare",
        "id",
        lambda e, r, c: attach_customer(e, r, c["customer_id"], viewer=c["viewer"]),
    ),
    "mark_won": ("open", "id", lambda e, r, c: mark_won(e, r, viewer=c["viewer"])),
    "mark_lost": (
        "open",
        "id",
        lambda e, r, c: mark_lost(e, r, viewer=c["viewer"], reason_id=c["reason_id"]),
    ),
    "reopen_offer": (
        "closed",
        "id",
        lambda e, r, c: reopen_offer(e, r, viewer=c["viewer"], note="Vuelve"),
    ),
    "preview_offer_pdf": (
        "open",
        "id",
        lambda e, r, c: preview_offer_pdf(e, r, c["settings"], c["viewer"]),
    ),
    "deliver_offer": ("open", "id", _deliver),
}


@pytest.mark.parametrize("act", list(ACTS))
def test_act_on_another_salespersons_offer_is_refused_like_a_missing_one(
    engine, pipelines, settings, act
):
    target, by, call = ACTS[act]
    theirs = pipelines.theirs[target]
    context = {
        "viewer": pipelines.lucia,
        "settings": settings,
        "reason_id": list_lost_reasons(engine)[0].id,
        "customer_id": create_customer(engine, first_name="Zoë", phone="656789012").id,
    }
    their_ref, missing_ref = (
        (theirs.id, MISSING_ID) if by == "id" else (theirs.number, MISSING_NUMBER)
    )
    before = stored_rows(engine)

    with pytest.raises(NotFound) as refused:
        call(engine, their_ref, context)
    recorded = denied(engine)
    with pytest.raises(NotFound) as missing:
        call(engine, missing_ref, context)

    assert refused.value.message == NOT_FOUND
    assert missing.value.message == NOT_FOUND
    assert str(refused.value) == str(missing.value)
    assert recorded == [(pipelines.lucia.user_id, f"offer {theirs.id}")]
    assert stored_rows(engine) == before
    assert not settings.outbox_dir.exists() or not list(settings.outbox_dir.iterdir())


WRITES = {
    "add_activity",
    "update_terms",
    "attach_customer",
    "mark_won",
    "mark_lost",
    "reopen_offer",
    "deliver_offer",
}


@pytest.mark.parametrize("act", list(ACTS))
def test_the_same_act_reaches_the_owners_offer(engine, pipelines, settings, act):
    """The refusal is about whose offer it is: Jordi himself reaches his."""
    target, by, call = ACTS[act]
    theirs = pipelines.theirs[target]
    context = {
        "viewer": pipelines.jordi,
        "settings": settings,
        "reason_id": list_lost_reasons(engine)[0].id,
        "customer_id": create_customer(engine, first_name="Zoë", phone="656789012").id,
    }
    before = stored_rows(engine)

    call(engine, theirs.id if by == "id" else theirs.number, context)

    assert denied(engine) == []
    assert (stored_rows(engine) != before) == (act in WRITES)
