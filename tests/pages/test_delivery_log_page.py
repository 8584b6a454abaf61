"""The delivery log, resend, consent and a failed send, on the real pages."""

import uuid

import pytest

from lib.customers import create_customer
from lib.deliveries import deliver_offer, list_deliveries
from lib.formatting import day
from lib.models import DeliveryResult, Role
from lib.offers import get_offer, update_terms
from lib.views import Viewer
from tests.smtp_servers import silent_server, smtp_server

from .conftest import stored_offer
from .test_offer_flow import deliver_now, go_to_resumen, texts


@pytest.fixture
def offer(app_db, seller, stock_vehicle, known_customer):
    return stored_offer(
        app_db, seller, stock_vehicle, temperature=0.6, customer_id=known_customer.id
    )


def print_once(app_db, offer, seller, tmp_path) -> None:
    from lib.config import Settings

    deliver_offer(
        app_db,
        offer.id,
        channel="PRINT",
        viewer=Viewer(seller.id, Role.SALES),
        request_token=uuid.uuid4().hex,
        settings=Settings(outbox_dir=tmp_path / "outbox"),
    )


def open_offer(app, offer):
    app.switch_page("pages/ofertas.py").run()
    app.selectbox(key="ofertas_selected").set_value(offer.id).run()
    assert not app.exception, app.exception
    return app


def delivery_log(app):
    """The Entregas table on the page."""
    [log] = [
        frame.value
        for frame in app.dataframe
        if "Huella del PDF" in frame.value.columns
    ]
    return log


def use_smtp(monkeypatch, port: int, timeout: float = 5.0) -> None:
    monkeypatch.setenv("OFFERDESK_MAIL_BACKEND", "smtp")
    monkeypatch.setenv("OFFERDESK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("OFFERDESK_SMTP_PORT", str(port))
    monkeypatch.setenv("OFFERDESK_SMTP_TIMEOUT", str(timeout))


def test_ofertas_log_shows_each_attempt_and_resends(
    app, app_db, seller, offer, tmp_path
):
    print_once(app_db, offer, seller, tmp_path)
    open_offer(app, offer)

    log = delivery_log(app)
    assert list(log["Forma"]) == ["Impresión"]
    assert list(log["Destinatario"]) == ["Íñigo Muñoz Peñalver"]
    assert list(log["Por"]) == ["Lucía Fernández Ibáñez"]
    assert list(log["Resultado"]) == ["✅ Entregada"]
    [logged] = list_deliveries(app_db, offer.id)
    assert list(log["Huella del PDF"]) == [logged.document_sha256[:12]]

    app.button(key=f"ofertas_resend_{offer.id}").click().run()
    key = f"ofertas_delivery_{offer.id}"
    assert app.radio(key=f"{key}_channel").value == "PRINT"
    app.button(key=f"{key}_send").click().run()

    assert "PDF listo para imprimir." in texts(app)
    assert get_offer(app_db, offer.id).delivery_count == 2
    assert list(delivery_log(app)["Resultado"]) == ["✅ Entregada", "✅ Entregada"]


def test_stalled_mail_server_shows_reason_logs_failure_and_retries(
    app, app_db, offer, monkeypatch
):
    key = f"ofertas_delivery_{offer.id}"
    with silent_server() as port:
        use_smtp(monkeypatch, port, timeout=1.0)
        open_offer(app, offer)
        deliver_now(app, "ofertas", offer.id, "EMAIL")

    [error] = [element.value for element in app.error]
    assert error == f"El servidor de correo 127.0.0.1:{port} no ha respondido en 1 s."
    log = delivery_log(app)
    assert list(log["Resultado"]) == ["❌ Fallida"]
    assert list(log["Motivo"]) == [error]
    stored = get_offer(app_db, offer.id)
    assert (stored.delivery_count, stored.last_delivered_at) == (0, None)

    with smtp_server() as (inbox, good_port):
        use_smtp(monkeypatch, good_port)
        app.button(key=f"{key}_send").click().run()

    assert "Oferta enviada a inigo.munoz@correo.example" in texts(app)
    assert len(inbox.envelopes) == 1
    assert get_offer(app_db, offer.id).delivery_count == 1
    results = [d.result for d in list_deliveries(app_db, offer.id)]
    assert results == [DeliveryResult.SENT, DeliveryResult.FAILED]


def test_without_consent_only_print_is_offered_until_it_is_recorded(
    app, app_db, seller, stock_vehicle
):
    customer = create_customer(
        app_db, first_name="Sergio", phone="733456789", email="sergio@correo.example"
    )
    offer = stored_offer(
        app_db, seller, stock_vehicle, temperature=0.5, customer_id=customer.id
    )
    key = f"ofertas_delivery_{offer.id}"
    open_offer(app, offer)
    app.button(key=f"{key}_open").click().run()
    app.button(key=f"{key}_now").click().run()

    assert app.radio(key=f"{key}_channel").options == ["Imprimir"]
    assert "Sin consentimiento para comunicaciones por correo: Sergio" in texts(app)

    app.selectbox(key=f"{key}_consent_method").set_value("PHONE").run()
    app.button(key=f"{key}_consent").click().run()

    assert app.radio(key=f"{key}_channel").options == [
        "Correo electrónico",
        "Imprimir",
    ]
    assert "Sin consentimiento" not in texts(app)


def test_changed_offer_says_so_before_the_next_send(
    app, app_db, seller, offer, tmp_path
):
    print_once(app_db, offer, seller, tmp_path)
    delivered_on = day(get_offer(app_db, offer.id).last_delivered_at)
    update_terms(
        app_db,
        offer.id,
        viewer=Viewer(seller.id, Role.SALES),
        discount_cents=50000,
        options_cents=0,
        transport_cents=0,
        temperature=0.6,
        notes="",
    )

    open_offer(app, offer)
    key = f"ofertas_delivery_{offer.id}"
    app.button(key=f"{key}_open").click().run()
    app.button(key=f"{key}_now").click().run()

    warning = f"La oferta ha cambiado desde la última entrega del {delivered_on}."
    assert warning in [element.value for element in app.warning]
    assert list(delivery_log(app)["Revisión"]) == [1]
    app.button(key=f"{key}_send").click().run()
    assert list(delivery_log(app)["Revisión"]) == [2, 1]
    assert warning not in [element.value for element in app.warning]


def test_new_customer_form_records_consent_and_resumen_shows_the_log(
    app, app_db, stock_vehicle, tmp_path
):
    go_to_resumen(app)
    app.button(key="resumen_pick_customer").click().run()
    app.button(key="resumen_not_found").click().run()
    app.text_input(key="resumen_first_name").input("Zoë")
    app.text_input(key="resumen_phone").input("656 78 90 12")
    app.text_input(key="resumen_email").input("zoe.vidal@correo.example")
    app.checkbox(key="resumen_email_consent").check()
    app.selectbox(key="resumen_email_consent_method").set_value("WRITTEN")
    app.button(key="FormSubmitter:resumen_customer_form-Guardar cliente").click().run()
    app.button(key="resumen_create").click().run()
    offer = get_offer(app_db, app.session_state["resumen_offer_id"])

    assert offer.customer.email_consent_method == "WRITTEN"
    assert offer.customer.email_consent_at is not None
    assert "Todavía no se ha entregado." in texts(app)

    deliver_now(app, "resumen", offer.id, "EMAIL")

    assert "Correo para zoe.vidal@correo.example preparado." in texts(app)
    assert list(delivery_log(app)["Forma"]) == ["Correo electrónico"]
    assert get_offer(app_db, offer.id).delivery_count == 1
