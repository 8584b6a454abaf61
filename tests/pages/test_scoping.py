"""Who sees what on the pages: a salesperson their own offers, a manager all."""

import csv
import io
import json
import uuid

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from lib.activities import list_activities
from lib.charts import temperature_chart
from lib.config import Settings
from lib.db import reading
from lib.deliveries import deliver_offer, list_deliveries
from lib.export import export_csv
from lib.lost_reasons import list_lost_reasons
from lib.models import OfferEvent, OfferStatus, Role, SecurityEvent
from lib.offers import OfferFilter, create_offer, get_offer, temperature_band_counts
from lib.vehicles import create_factory_order
from lib.views import Viewer

from .conftest import open_app, stored_offer
from .test_delivery_log_page import delivery_log
from .test_offer_flow import deliver_now, pick_customer, texts


def offer_for(engine, salesperson, make: str, model: str):
    vehicle = create_factory_order(
        engine,
        make=make,
        model=model,
        version="",
        colour="",
        price_cents=2_500_000,
        co2_gkm=118,
    )
    return create_offer(
        engine,
        request_token=uuid.uuid4().hex,
        vehicle_id=vehicle.id,
        salesperson_id=salesperson.id,
        price_cents=vehicle.price_cents,
        temperature=0.5,
    )


@pytest.fixture
def offers(app_db, seller, other_seller):
    """One offer of Lucía's and one of Jordi's."""
    return {
        "lucia": offer_for(app_db, seller, "SEAT", "Ibiza"),
        "jordi": offer_for(app_db, other_seller, "Kia", "Ceed"),
    }


def denied_events(engine) -> list[tuple[int, str]]:
    statement = select(SecurityEvent.user_id, SecurityEvent.detail).where(
        SecurityEvent.event == "ACCESS_DENIED"
    )
    with reading(engine) as session:
        return [tuple(row) for row in session.execute(statement)]


def ofertas_page(username: str, **query: str):
    at = open_app(username)
    at.query_params.update(query)
    at.switch_page("pages/ofertas.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Ofertas"
    return at


def listed_numbers(at) -> list[str]:
    (table,) = [frame.value for frame in at.dataframe if "Número" in frame.value]
    return sorted(table["Número"])


def test_salesperson_lists_only_their_own_offers(app_db, offers) -> None:
    at = ofertas_page("lucia")

    assert listed_numbers(at) == [offers["lucia"].number]
    assert [metric.value for metric in at.metric][-1] == "1"


def test_manager_lists_every_offer(app_db, offers, manager) -> None:
    at = ofertas_page("marta")

    assert listed_numbers(at) == sorted(offer.number for offer in offers.values())


def test_salesperson_opens_their_own_offer_by_address(app_db, offers) -> None:
    mine = offers["lucia"]

    at = ofertas_page("lucia", oferta=mine.number)

    assert not at.error
    assert any(f"Oferta {mine.number}" in block.value for block in at.markdown)


def test_another_salespersons_offer_by_address_is_refused_like_a_missing_one(
    app_db, offers, seller
) -> None:
    theirs = offers["jordi"]

    refused = ofertas_page("lucia", oferta=theirs.number)
    missing = ofertas_page("lucia", oferta="2026-999999")

    assert [error.value for error in refused.error] == ["No existe esa oferta."]
    assert [error.value for error in missing.error] == ["No existe esa oferta."]
    assert not any(theirs.number in block.value for block in refused.markdown)
    assert denied_events(app_db)
    assert {user_id for user_id, _ in denied_events(app_db)} == {seller.id}
    assert all(str(theirs.id) in detail for _, detail in denied_events(app_db))
    recorded = len(denied_events(app_db))
    refused.run()
    assert "oferta" not in refused.query_params
    assert len(denied_events(app_db)) == recorded


def test_manager_opens_any_offer_by_address(app_db, offers, manager) -> None:
    theirs = offers["jordi"]

    at = ofertas_page("marta", oferta=theirs.number)

    assert not at.error
    assert any(f"Oferta {theirs.number}" in block.value for block in at.markdown)
    assert denied_events(app_db) == []


def test_resumen_refuses_an_offer_of_another_salesperson(app_db, offers) -> None:
    at = open_app("lucia")
    at.session_state["resumen_offer_id"] = offers["jordi"].id
    at.switch_page("pages/resumen.py").run()

    assert not at.exception, at.exception
    assert [error.value for error in at.error] == ["No existe esa oferta."]
    assert not any(offers["jordi"].number in s.value for s in at.success)


def test_what_a_logged_in_user_does_is_recorded_under_their_id(
    app_db, seller, manager, offers, known_customer
) -> None:
    from lib.models import Delivery, OfferEvent

    theirs = offers["lucia"]
    at = open_app("marta")
    at.query_params["oferta"] = theirs.number
    at.switch_page("pages/ofertas.py").run()

    pick_customer(at, "ofertas", "Muñoz", known_customer.id)
    deliver_now(at, "ofertas", theirs.id, "PRINT")

    assert not at.exception, at.exception
    with reading(app_db) as session:
        delivered_by = list(session.scalars(select(Delivery.user_id)))
        customer_by = list(
            session.scalars(
                select(OfferEvent.user_id).where(
                    OfferEvent.offer_id == theirs.id, OfferEvent.kind == "CUSTOMER"
                )
            )
        )
    assert delivered_by == [manager.id]
    assert customer_by == [manager.id]


def exported_numbers(at, name: str) -> list[str]:
    """Build an export on the page and read back the offer numbers in its file.

    The bytes are the ones the page hands its download button.
    """
    at.button(key=f"ofertas_export_{name}_build").click().run()
    assert not at.exception, at.exception
    _filters, data = at.session_state[f"ofertas_export_{name}"]
    if name.endswith(".csv"):
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    else:
        rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    return sorted(row[0] for row in rows[1:])


def chart_bars(at) -> dict[str, list[int]]:
    """The offers per band of each status in the page's chart."""
    [chart] = at.get("plotly_chart")
    return {bar["name"]: bar["y"] for bar in json.loads(chart.proto.spec)["data"]}


@pytest.mark.parametrize(
    ("username", "owners"),
    [("lucia", ["lucia"]), ("marta", ["jordi", "lucia"])],
    ids=["comercial", "gerente"],
)
def test_exports_and_chart_on_ofertas_cover_the_viewers_offers(
    app_db, offers, manager, username, owners
) -> None:
    expected = sorted(offers[owner].number for owner in owners)

    at = ofertas_page(username)

    labels = [button.label for button in at.button]
    assert {"Exportar CSV", "Exportar Excel"} <= set(labels)
    assert exported_numbers(at, "ofertas.csv") == expected
    assert exported_numbers(at, "ofertas.xlsx") == expected
    assert [button.proto.label for button in at.get("download_button")] == [
        "Descargar ofertas.csv",
        "Descargar ofertas.xlsx",
    ]
    # Both offers are at 50 %: Caliente, the third band.
    assert chart_bars(at) == {
        "en Seguimiento": [0, 0, len(owners), 0],
        "Éxito": [0, 0, 0, 0],
        "Fracaso": [0, 0, 0, 0],
    }
    assert any(f"· {len(owners)} oferta" in caption.value for caption in at.caption)


def test_what_the_page_exports_and_charts_for_a_comercial_is_their_own(
    app_db, offers, seller, other_seller
) -> None:
    """The builders the page calls, with a filter naming another salesperson."""
    viewer = Viewer(seller.id, Role.SALES)
    naming_jordi = OfferFilter(
        status=OfferStatus.FOLLOW_UP, salesperson_id=other_seller.id
    )
    shown = OfferFilter(status=OfferStatus.FOLLOW_UP)
    at = ofertas_page("lucia")

    exported_numbers(at, "ofertas.csv")
    page_filters, page_csv = at.session_state["ofertas_export_ofertas.csv"]
    chart = temperature_chart(
        temperature_band_counts(app_db, viewer=viewer, filters=naming_jordi)
    )

    assert page_filters == shown
    assert page_csv == export_csv(app_db, viewer=viewer, filters=shown)
    assert (
        export_csv(app_db, viewer=viewer, filters=naming_jordi)
        .decode("utf-8-sig")
        .splitlines()[1:]
        == []
    )
    assert [list(bar.y) for bar in chart.data] == [[0, 0, 0, 0]] * 3
    assert not [box for box in at.selectbox if box.key == "ofertas_salesperson"]


@pytest.fixture
def own_offer(app_db, seller, stock_vehicle, known_customer):
    """An offer of Lucía's with a customer who takes email, printed once."""
    offer = stored_offer(
        app_db, seller, stock_vehicle, temperature=0.6, customer_id=known_customer.id
    )
    deliver_offer(
        app_db,
        offer.id,
        channel="PRINT",
        viewer=Viewer(seller.id, Role.SALES),
        request_token=uuid.uuid4().hex,
        settings=Settings(mail_backend="file"),
    )
    return offer


def open_offer(username: str, offer):
    at = ofertas_page(username)
    at.selectbox(key="ofertas_selected").set_value(offer.id).run()
    assert not at.exception, at.exception
    assert f"### Oferta {offer.number}" in texts(at)
    return at


def test_comercial_resends_and_follows_up_their_own_offer(
    app_db, offers, seller, own_offer
) -> None:
    at = open_offer("lucia", own_offer)

    options = at.selectbox(key="ofertas_selected").options
    assert sorted(option.split(" · ")[0] for option in options) == [
        offers["lucia"].number,
        own_offer.number,
    ]
    assert list(delivery_log(at)["Por"]) == ["Lucía Fernández Ibáñez"]
    at.button(key=f"ofertas_resend_{own_offer.id}").click().run()
    at.button(key=f"ofertas_delivery_{own_offer.id}_send").click().run()
    assert "PDF listo para imprimir." in texts(at)
    note = f"ofertas_activity_note_{own_offer.id}"
    at.text_input(key=note).input("Pide una prueba")
    at.button(key=f"FormSubmitter:ofertas_activity_{own_offer.id}-Anotar").click()
    at.run()

    assert not at.error, [error.value for error in at.error]
    assert [d.user_name for d in list_deliveries(app_db, own_offer.id)] == [
        "Lucía Fernández Ibáñez",
        "Lucía Fernández Ibáñez",
    ]
    assert get_offer(app_db, own_offer.id).delivery_count == 2
    assert list(delivery_log(at)["Resultado"]) == ["✅ Entregada", "✅ Entregada"]
    [activity] = list_activities(app_db, own_offer.id, viewer=None)
    assert (activity.note, activity.user_name) == (
        "Pide una prueba",
        "Lucía Fernández Ibáñez",
    )
    assert denied_events(app_db) == []


@pytest.mark.parametrize("outcome", [OfferStatus.WON, OfferStatus.LOST])
def test_comercial_closes_their_own_offer(
    app_db, offers, seller, own_offer, outcome
) -> None:
    at = open_offer("lucia", own_offer)

    if outcome == OfferStatus.WON:
        form = f"ofertas_won_form_{own_offer.id}-Marcar Éxito"
    else:
        form = f"ofertas_lost_form_{own_offer.id}-Marcar Fracaso"
        reason = list_lost_reasons(app_db)[0]
        at.selectbox(key=f"ofertas_reason_{own_offer.id}").set_value(reason.id)
    at.button(key=f"FormSubmitter:{form}").click().run()

    label = OfferStatus.LABELS[outcome]
    assert f"Oferta {own_offer.number} marcada como {label}." in texts(at)
    assert get_offer(app_db, own_offer.id).status == outcome
    with reading(app_db) as session:
        changed_by = list(
            session.execute(
                select(OfferEvent.to_value, OfferEvent.user_id).where(
                    OfferEvent.offer_id == own_offer.id, OfferEvent.kind == "STATUS"
                )
            )
        )
    assert [tuple(row) for row in changed_by] == [(outcome, seller.id)]
    assert denied_events(app_db) == []


@pytest.mark.parametrize(
    ("username", "shown"),
    [("lucia", False), ("marta", True)],
    ids=["comercial", "gerente"],
)
def test_reassign_is_offered_to_a_gerente_only(
    app_db, own_offer, manager, username, shown
) -> None:
    at = open_offer(username, own_offer)

    buttons = [button.label for button in at.button]
    boxes = [box.label for box in at.selectbox]
    assert ("Reasignar" in buttons) is shown
    assert ("Reasignar a" in boxes) is shown


def test_address_of_another_offer_shows_the_very_page_of_a_missing_one(
    app_db, offers, seller
) -> None:
    theirs = offers["jordi"]

    refused = ofertas_page("lucia", oferta=theirs.number)
    recorded = denied_events(app_db)
    missing = ofertas_page("lucia", oferta="2026-999999")

    assert [error.value for error in refused.error] == ["No existe esa oferta."]
    assert texts(refused) == texts(missing)
    assert [frame.value.to_dict() for frame in refused.dataframe] == [
        frame.value.to_dict() for frame in missing.dataframe
    ]
    assert theirs.number not in texts(refused)
    assert recorded == [(seller.id, f"offer {theirs.id}")]
