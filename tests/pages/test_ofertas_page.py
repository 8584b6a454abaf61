"""Ofertas: outcomes, follow-up, conditions, history, filters and paging on the page."""

from datetime import UTC, datetime, timedelta

from lib import formatting
from lib.activities import list_activities, list_events
from lib.db import transaction
from lib.lost_reasons import list_lost_reasons
from lib.models import Offer, OfferStatus
from lib.offers import get_offer

from .conftest import stored_offer
from .test_offer_flow import texts


def open_offer(app, offer):
    app.switch_page("pages/ofertas.py").run()
    app.selectbox(key="ofertas_selected").set_value(offer.id).run()
    assert f"### Oferta {offer.number}" in texts(app)
    return app


def test_mark_won_with_sale_date_then_filter_exito(app, app_db, seller, stock_vehicle):
    offer = stored_offer(app_db, seller, stock_vehicle)
    open_offer(app, offer)

    app.button(
        key=f"FormSubmitter:ofertas_won_form_{offer.id}-Marcar Éxito"
    ).click().run()

    assert get_offer(app_db, offer.id).status == OfferStatus.WON
    assert f"Oferta {offer.number} marcada como Éxito." in texts(app)
    assert "No hay ofertas con este filtro." in texts(app)
    app.radio(key="ofertas_status").set_value(OfferStatus.WON).run()
    assert list(app.dataframe[0].value["Estado"]) == ["Éxito"]
    assert [m.value for m in app.metric][:3] == ["0", "1", "0"]


def test_mark_lost_needs_a_reason_and_records_the_competitor(
    app, app_db, seller, stock_vehicle
):
    offer = stored_offer(app_db, seller, stock_vehicle)
    open_offer(app, offer)
    submit = f"FormSubmitter:ofertas_lost_form_{offer.id}-Marcar Fracaso"

    app.button(key=submit).click().run()
    assert "Elija el motivo del fracaso." in [e.value for e in app.error]
    assert get_offer(app_db, offer.id).status == OfferStatus.FOLLOW_UP

    price = next(r for r in list_lost_reasons(app_db) if r.label == "Precio")
    app.selectbox(key=f"ofertas_reason_{offer.id}").set_value(price.id)
    app.text_input(key=f"ofertas_cmake_{offer.id}").input("Toyota")
    app.text_input(key=f"ofertas_cmodel_{offer.id}").input("C-HR")
    app.button(key=submit).click().run()

    lost = get_offer(app_db, offer.id)
    assert (lost.status, lost.lost_reason, lost.competitor) == (
        "LOST",
        "Precio",
        "Toyota C-HR",
    )


def test_activity_sets_next_contact_and_due_filter_finds_it(
    app, app_db, seller, stock_vehicle
):
    due = stored_offer(app_db, seller, stock_vehicle)
    stored_offer(app_db, seller, stock_vehicle)
    open_offer(app, due)
    today = datetime.now(UTC).date()

    app.selectbox(key=f"ofertas_activity_kind_{due.id}").set_value("CALL")
    app.text_input(key=f"ofertas_activity_note_{due.id}").input(
        "Llamar tras la tasación"
    )
    app.date_input(key=f"ofertas_activity_next_{due.id}").set_value(today)
    app.button(key=f"FormSubmitter:ofertas_activity_{due.id}-Anotar").click().run()

    [activity] = list_activities(app_db, due.id, viewer=None)
    assert (activity.kind, activity.note) == ("CALL", "Llamar tras la tasación")
    assert get_offer(app_db, due.id).next_contact_on == today
    app.checkbox(key="ofertas_due").check().run()
    assert list(app.dataframe[0].value["Número"]) == [due.number]
    assert list(app.dataframe[0].value["Avisos"]) == ["⏰ Contactar"]


def test_history_shows_reopening(app, app_db, seller, stock_vehicle):
    offer = stored_offer(app_db, seller, stock_vehicle)
    open_offer(app, offer)
    app.button(
        key=f"FormSubmitter:ofertas_won_form_{offer.id}-Marcar Éxito"
    ).click().run()
    app.radio(key="ofertas_status").set_value("ALL").run()
    app.selectbox(key="ofertas_selected").set_value(offer.id).run()

    form = f"ofertas_reopen_{offer.id}"
    note = next(t for t in app.text_input if t.label == "Motivo de la reapertura")
    note.input("El cliente vuelve con otra financiación")
    app.button(key=f"FormSubmitter:{form}-Reabrir oferta").click().run()

    assert get_offer(app_db, offer.id).status == OfferStatus.FOLLOW_UP
    kinds = [event.kind for event in list_events(app_db, offer.id, viewer=None)]
    assert kinds == ["CREATED", "STATUS", "REOPENED"]
    history = app.dataframe[-1].value
    assert list(history["Qué"]) == ["Creada", "Cambio de estado", "Reabierta"]
    assert list(history["A"])[-1] == "en Seguimiento"


def test_conditions_change_makes_a_new_revision(app, app_db, seller, stock_vehicle):
    offer = stored_offer(app_db, seller, stock_vehicle)
    open_offer(app, offer)
    boxes = {t.label: t for t in app.text_input}

    boxes["Opciones y accesorios (€)"].input("1.200,00")
    boxes["Descuento (€)"].input("500")
    app.button(
        key=f"FormSubmitter:ofertas_terms_{offer.id}-Guardar condiciones"
    ).click().run()

    changed = get_offer(app_db, offer.id)
    assert changed.revision == 2
    assert (changed.prices.options_cents, changed.prices.discount_cents) == (
        120000,
        50000,
    )
    assert f"Condiciones de {offer.number} guardadas." in texts(app)


def test_conditions_with_a_bad_amount_change_nothing(
    app, app_db, seller, stock_vehicle
):
    offer = stored_offer(app_db, seller, stock_vehicle)
    open_offer(app, offer)
    boxes = {t.label: t for t in app.text_input}

    boxes["Descuento (€)"].input("mil euros")
    app.button(
        key=f"FormSubmitter:ofertas_terms_{offer.id}-Guardar condiciones"
    ).click().run()

    assert any("no es un importe válido" in e.value for e in app.error)
    assert not app.exception
    assert get_offer(app_db, offer.id).revision == 1


def test_pager_walks_pages_by_key(app, app_db, seller, stock_vehicle):
    offers = [
        stored_offer(
            app_db, seller, stock_vehicle, now=datetime(2026, 11, 1, 9, n, tzinfo=UTC)
        )
        for n in range(55)
    ]
    app.switch_page("pages/ofertas.py").run()
    first = list(app.dataframe[0].value["Número"])

    app.button(key="ofertas_next").click().run()
    second = list(app.dataframe[0].value["Número"])
    app.button(key="ofertas_previous").click().run()

    assert first[0] == offers[-1].number
    assert len(first) == 50
    assert second == [offer.number for offer in reversed(offers[:5])]
    assert list(app.dataframe[0].value["Número"]) == first
    assert any("Página 1 · 55 ofertas" in c.value for c in app.caption)


def test_list_sorts_by_temperature_across_pages(app, app_db, seller, stock_vehicle):
    temperatures = [(index % 11) / 10 for index in range(55)]
    offers = [
        stored_offer(app_db, seller, stock_vehicle, temperature=temperature)
        for temperature in temperatures
    ]
    hottest_first = sorted(offers, key=lambda o: (-o.temperature, -o.id))
    app.switch_page("pages/ofertas.py").run()

    app.selectbox(key="ofertas_order").set_value("temperature_desc").run()
    first = list(app.dataframe[0].value["Número"])
    app.button(key="ofertas_next").click().run()
    second = list(app.dataframe[0].value["Número"])

    assert first + second == [offer.number for offer in hottest_first]
    app.selectbox(key="ofertas_order").set_value("temperature_asc").run()
    assert any("Página 1 · 55 ofertas" in c.value for c in app.caption)
    coldest_first = sorted(offers, key=lambda o: (o.temperature, o.id))
    assert list(app.dataframe[0].value["Número"]) == [
        offer.number for offer in coldest_first[:50]
    ]


def test_offer_with_an_overdue_contact_opens_and_says_so(
    app, app_db, seller, stock_vehicle
):
    offer = stored_offer(app_db, seller, stock_vehicle)
    overdue = datetime.now(UTC).date() - timedelta(days=3)
    with transaction(app_db) as session:
        session.get(Offer, offer.id).next_contact_on = overdue

    open_offer(app, offer)

    assert not app.exception
    assert f"Próximo contacto: {formatting.day(overdue)}" in texts(app)
    assert app.date_input(key=f"ofertas_activity_next_{offer.id}").value is None
    assert list(app.dataframe[0].value["Avisos"]) == ["⏰ Contactar"]
    assert (
        f"⏰ El contacto previsto para el {formatting.day(overdue)} ya ha pasado: "
        "indique el próximo, o marque que no hay ninguno."
    ) in texts(app)

    app.selectbox(key=f"ofertas_activity_kind_{offer.id}").set_value("CALL")
    app.checkbox(key=f"ofertas_activity_clear_{offer.id}").check()
    app.button(key=f"FormSubmitter:ofertas_activity_{offer.id}-Anotar").click().run()

    assert get_offer(app_db, offer.id).next_contact_on is None
    [call] = list_activities(app_db, offer.id, viewer=None)
    assert call.kind == "CALL"
    assert list(app.dataframe[0].value["Avisos"]) == [""]


def test_refused_next_contact_keeps_the_note(app, app_db, seller, stock_vehicle):
    offer = stored_offer(app_db, seller, stock_vehicle)
    open_offer(app, offer)
    note = f"ofertas_activity_note_{offer.id}"

    app.text_input(key=note).input("Quiere probar la versión híbrida")
    app.date_input(key=f"ofertas_activity_next_{offer.id}").set_value(
        datetime(2020, 1, 1).date()
    )
    app.button(key=f"FormSubmitter:ofertas_activity_{offer.id}-Anotar").click().run()

    assert any("no puede haber pasado" in e.value for e in app.error)
    assert app.text_input(key=note).value == "Quiere probar la versión híbrida"
    assert list_activities(app_db, offer.id, viewer=None) == []
