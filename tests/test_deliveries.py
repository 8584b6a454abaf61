"""Delivering offers: the log row, the offer's fields and what left, on real servers."""

import email
import email.policy
import hashlib
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from lib.config import Settings
from lib.customers import create_customer, record_email_consent
from lib.db import reading
from lib.deliveries import deliver_offer, list_deliveries
from lib.errors import DeliveryFailed, InvalidState, NotFound
from lib.lost_reasons import list_lost_reasons
from lib.models import (
    Availability,
    DeliveryChannel,
    DeliveryResult,
    Role,
    SecurityEvent,
)
from lib.offers import create_offer, get_offer, mark_lost, update_terms
from lib.users import create_user
from lib.vehicles import create_factory_order, update_vehicle_identifiers
from lib.views import Viewer
from tests.smtp_servers import (
    SMTP_PASSWORD,
    SMTP_USER,
    RecipientRefusingInbox,
    free_port,
    hanging_up_server,
    only_vendedor,
    self_signed,
    silent_server,
    smtp_server,
)

CUSTOMER_EMAIL = "inigo.munoz@correo.example"


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(mail_backend="file", outbox_dir=tmp_path / "outbox")


@pytest.fixture
def viewer(salesperson) -> Viewer:
    return Viewer(user_id=salesperson.id, role=Role.SALES)


@pytest.fixture
def offer(engine, salesperson):
    vehicle = create_factory_order(
        engine,
        make="CUPRA",
        model="Formentor",
        version="VZ",
        colour="Gris",
        price_cents=4295000,
        co2_gkm=118,
    )
    update_vehicle_identifiers(
        engine,
        vehicle.id,
        vin="VSSZZZKMZRR654321",
        order_number="P7654321",
        commission_number="C026099",
        availability=Availability.IN_STOCK,
    )
    customer = create_customer(
        engine,
        first_name="Íñigo",
        last_name="Muñoz Peñalver",
        phone="612345678",
        email=CUSTOMER_EMAIL,
        email_consent=True,
        email_consent_method="IN_PERSON",
    )
    return create_offer(
        engine,
        request_token=uuid.uuid4().hex,
        vehicle_id=vehicle.id,
        salesperson_id=salesperson.id,
        price_cents=4295000,
        discount_cents=95000,
        temperature=0.75,
        customer_id=customer.id,
    )


def deliver(engine, offer, viewer, settings, channel, token=None):
    return deliver_offer(
        engine,
        offer.id,
        channel=channel,
        viewer=viewer,
        request_token=token or uuid.uuid4().hex,
        settings=settings,
    )


def smtp_settings(port: int, **changes: object) -> Settings:
    values: dict[str, object] = {
        "mail_backend": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_timeout": 5.0,
    }
    values.update(changes)
    return Settings(**values)


def test_email_through_smtp_arrives_with_pdf(engine, offer, viewer):
    with smtp_server() as (inbox, port):
        outcome = deliver(engine, offer, viewer, smtp_settings(port), "EMAIL")

    assert outcome.delivery.result == DeliveryResult.SENT
    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == [CUSTOMER_EMAIL]
    [message] = inbox.messages()
    assert message["To"].addresses[0].display_name == "Íñigo Muñoz Peñalver"
    assert offer.number in message["Subject"]
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"Oferta_{offer.number}.pdf"
    text = PdfReader(BytesIO(attachment.get_content())).pages[0].extract_text()
    assert offer.number in text
    assert "Íñigo Muñoz Peñalver" in text
    stored = get_offer(engine, offer.id)
    assert stored.delivery_count == 1
    assert stored.last_delivered_at == outcome.delivery.finished_at
    assert stored.delivered_revision == offer.revision


def test_sent_pdf_fingerprint_and_revision_are_logged(engine, offer, viewer):
    with smtp_server() as (inbox, port):
        deliver(engine, offer, viewer, smtp_settings(port), "EMAIL")

    [logged] = list_deliveries(engine, offer.id)
    [attachment] = list(inbox.messages()[0].iter_attachments())
    assert (
        logged.document_sha256 == hashlib.sha256(attachment.get_content()).hexdigest()
    )
    assert logged.offer_revision == offer.revision


def test_print_records_delivery_and_returns_pdf(engine, offer, viewer, settings):
    outcome = deliver(engine, offer, viewer, settings, DeliveryChannel.PRINT)

    assert outcome.file_name == f"Oferta_{offer.number}.pdf"
    assert outcome.pdf.startswith(b"%PDF")
    [logged] = list_deliveries(engine, offer.id)
    assert logged.channel == DeliveryChannel.PRINT
    assert logged.recipient == "Íñigo Muñoz Peñalver"
    assert logged.user_name == "Lucía Fernández Ibáñez"
    assert logged.result == DeliveryResult.SENT
    assert logged.document_sha256 == hashlib.sha256(outcome.pdf).hexdigest()
    assert get_offer(engine, offer.id).delivery_count == 1


def test_every_success_counts_and_moves_the_date(engine, offer, viewer, settings):
    first = deliver(engine, offer, viewer, settings, DeliveryChannel.PRINT)
    second = deliver(engine, offer, viewer, settings, DeliveryChannel.EMAIL)

    stored = get_offer(engine, offer.id)
    assert stored.delivery_count == 2
    assert stored.last_delivered_at == second.delivery.finished_at
    assert second.delivery.finished_at >= first.delivery.finished_at
    assert [d.channel for d in list_deliveries(engine, offer.id)] == [
        DeliveryChannel.EMAIL,
        DeliveryChannel.PRINT,
    ]


def test_same_request_token_delivers_once(engine, offer, viewer, settings):
    token = uuid.uuid4().hex

    first = deliver(engine, offer, viewer, settings, DeliveryChannel.EMAIL, token)
    again = deliver(engine, offer, viewer, settings, DeliveryChannel.EMAIL, token)

    assert again.delivery.id == first.delivery.id
    assert again.message == "Esta entrega ya se había hecho; no se ha repetido."
    assert len(list(settings.outbox_dir.glob("*.eml"))) == 1
    assert get_offer(engine, offer.id).delivery_count == 1


def test_change_after_delivery_is_flagged_until_the_next(
    engine, offer, viewer, settings
):
    deliver(engine, offer, viewer, settings, DeliveryChannel.PRINT)
    update_terms(
        engine,
        offer.id,
        viewer=viewer,
        discount_cents=150000,
        options_cents=0,
        transport_cents=45000,
        temperature=0.75,
        notes="",
    )

    changed = get_offer(engine, offer.id)
    assert changed.changed_since_delivery is True
    assert changed.revision == offer.revision + 1

    outcome = deliver(engine, offer, viewer, settings, DeliveryChannel.PRINT)

    delivered = get_offer(engine, offer.id)
    assert delivered.changed_since_delivery is False
    assert delivered.delivered_revision == changed.revision
    assert outcome.delivery.offer_revision == changed.revision
    text = PdfReader(BytesIO(outcome.pdf)).pages[0].extract_text()
    assert "Transporte y preentrega 450,00 €" in text.replace("\xa0", " ")


def test_pdf_figures_are_the_stored_figures(engine, offer, viewer, settings):
    outcome = deliver(engine, offer, viewer, settings, DeliveryChannel.PRINT)

    prices = get_offer(engine, offer.id).prices
    text = PdfReader(BytesIO(outcome.pdf)).pages[0].extract_text()
    text = text.replace("\xa0", " ")
    assert prices.subtotal_cents == prices.base_cents + prices.vat_cents
    assert prices.total_cents == prices.subtotal_cents + prices.registration_tax_cents
    assert "Base imponible 34.710,74 €" in text
    assert "IVA 21 % 7.289,26 €" in text
    assert "Impuesto de matriculación (0,00 %) 0,00 €" in text
    assert "Total 42.000,00 €" in text
    assert prices.total_cents == 4200000


def test_email_without_consent_records_failure(engine, offer, viewer, settings):
    customer = create_customer(
        engine, first_name="Sergio", phone="733456789", email="sergio@correo.example"
    )
    bare = create_offer(
        engine,
        request_token=uuid.uuid4().hex,
        vehicle_id=offer.vehicle.id,
        salesperson_id=viewer.user_id,
        price_cents=4295000,
        temperature=0.3,
        customer_id=customer.id,
    )

    with pytest.raises(DeliveryFailed) as failure:
        deliver(engine, bare, viewer, settings, DeliveryChannel.EMAIL)

    assert failure.value.message.startswith(
        "Sin consentimiento para comunicaciones por correo: Sergio"
    )
    [logged] = list_deliveries(engine, bare.id)
    assert logged.result == DeliveryResult.FAILED
    assert logged.error == failure.value.message
    assert not settings.outbox_dir.exists()
    assert get_offer(engine, bare.id).delivery_count == 0

    record_email_consent(engine, customer.id, "PHONE", viewer=viewer)
    outcome = deliver(engine, bare, viewer, settings, DeliveryChannel.EMAIL)

    assert outcome.delivery.result == DeliveryResult.SENT
    assert get_offer(engine, bare.id).delivery_count == 1


def test_email_without_address_records_failure(engine, offer, viewer, settings):
    no_email = create_customer(engine, first_name="Begoña", phone="634567890")
    bare = create_offer(
        engine,
        request_token=uuid.uuid4().hex,
        vehicle_id=offer.vehicle.id,
        salesperson_id=viewer.user_id,
        price_cents=4295000,
        temperature=0.3,
        customer_id=no_email.id,
    )

    with pytest.raises(DeliveryFailed, match="Begoña no tiene correo electrónico"):
        deliver(engine, bare, viewer, settings, DeliveryChannel.EMAIL)

    [logged] = list_deliveries(engine, bare.id)
    assert logged.result == DeliveryResult.FAILED
    assert get_offer(engine, bare.id).last_delivered_at is None


def test_offer_without_customer_cannot_be_delivered(engine, offer, viewer, settings):
    bare = create_offer(
        engine,
        request_token=uuid.uuid4().hex,
        vehicle_id=offer.vehicle.id,
        salesperson_id=viewer.user_id,
        price_cents=4295000,
        temperature=0.3,
    )

    with pytest.raises(DeliveryFailed, match="Añada un cliente"):
        deliver(engine, bare, viewer, settings, DeliveryChannel.PRINT)
    assert get_offer(engine, bare.id).delivery_count == 0


def test_closed_offer_is_not_delivered(engine, offer, viewer, settings):
    mark_lost(engine, offer.id, reason_id=list_lost_reasons(engine)[0].id)

    with pytest.raises(InvalidState, match="está cerrada"):
        deliver(engine, offer, viewer, settings, DeliveryChannel.PRINT)
    assert list_deliveries(engine, offer.id) == []


def test_another_salespersons_offer_is_not_delivered(engine, offer, settings):
    other = create_user(engine, username="pablo", full_name="Pablo Ruiz")
    stranger = Viewer(user_id=other.id, role=Role.SALES)

    with pytest.raises(NotFound) as refused:
        deliver(engine, offer, stranger, settings, DeliveryChannel.PRINT)

    assert refused.value.message == "No existe esa oferta."
    assert list_deliveries(engine, offer.id) == []
    assert get_offer(engine, offer.id).delivery_count == 0
    with reading(engine) as session:
        refusals = session.execute(
            select(SecurityEvent.user_id, SecurityEvent.detail).where(
                SecurityEvent.event == "ACCESS_DENIED"
            )
        ).all()
    assert [tuple(row) for row in refusals] == [(other.id, f"offer {offer.id}")]


def test_manager_delivers_any_offer_and_is_logged_as_who(engine, offer, settings):
    manager = create_user(
        engine, username="marta", full_name="Marta Gil", role=Role.MANAGER
    )

    deliver(
        engine, offer, Viewer(manager.id, Role.MANAGER), settings, DeliveryChannel.PRINT
    )

    [logged] = list_deliveries(engine, offer.id)
    assert logged.user_name == "Marta Gil"


def test_file_backend_writes_parseable_message(engine, offer, viewer, settings):
    outcome = deliver(engine, offer, viewer, settings, DeliveryChannel.EMAIL)

    [path] = list(settings.outbox_dir.glob("*.eml"))
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == CUSTOMER_EMAIL
    assert CUSTOMER_EMAIL in outcome.message


@contextmanager
def refusing_connection(directory: Path) -> Iterator[Settings]:
    yield smtp_settings(free_port(), smtp_timeout=3.0)


@contextmanager
def refusing_recipient(directory: Path) -> Iterator[Settings]:
    with smtp_server(RecipientRefusingInbox()) as (_, port):
        yield smtp_settings(port)


@contextmanager
def hanging_up(directory: Path) -> Iterator[Settings]:
    with hanging_up_server() as port:
        yield smtp_settings(port, smtp_timeout=3.0)


@contextmanager
def stalling(directory: Path) -> Iterator[Settings]:
    with silent_server() as port:
        yield smtp_settings(port, smtp_timeout=1.0)


@contextmanager
def refusing_password(directory: Path) -> Iterator[Settings]:
    with smtp_server(authenticator=only_vendedor, auth_require_tls=False) as (_, port):
        yield smtp_settings(port, smtp_user=SMTP_USER, smtp_password="otra")


@contextmanager
def untrusted_tls(directory: Path) -> Iterator[Settings]:
    certificate = self_signed(directory)
    with smtp_server(ssl_context=certificate.server_context()) as (_, port):
        yield smtp_settings(port, smtp_security="ssl")


BAD_SERVERS = {
    "refused connection": (refusing_connection, "rechaza la conexión"),
    "refused recipient": (refusing_recipient, "ha rechazado la dirección del cliente"),
    "hangs up": (hanging_up, "ha cortado la conexión"),
    "stalls": (stalling, "no ha respondido en 1 s"),
    "wrong password": (refusing_password, "ha rechazado el usuario o la contraseña"),
    "untrusted certificate": (untrusted_tls, "no es de confianza"),
}


@pytest.mark.parametrize("server", list(BAD_SERVERS))
def test_mail_server_failure_is_logged_and_leaves_offer_as_it_was(
    engine, offer, viewer, tmp_path, server
):
    make_server, reason = BAD_SERVERS[server]
    started = time.monotonic()

    with make_server(tmp_path) as settings, pytest.raises(DeliveryFailed) as failure:
        deliver(engine, offer, viewer, settings, DeliveryChannel.EMAIL)

    assert time.monotonic() - started < settings.smtp_timeout + 2
    assert reason in failure.value.message
    [logged] = list_deliveries(engine, offer.id)
    assert logged.result == DeliveryResult.FAILED
    assert logged.error == failure.value.message
    assert logged.finished_at is not None
    assert len(logged.document_sha256) == 64
    stored = get_offer(engine, offer.id)
    assert stored.delivery_count == 0
    assert stored.last_delivered_at is None
    assert stored.delivered_revision is None
    assert stored.revision == offer.revision


def test_failed_send_can_be_retried_with_a_new_token(engine, offer, viewer, tmp_path):
    with stalling(tmp_path) as settings, pytest.raises(DeliveryFailed):
        deliver(engine, offer, viewer, settings, DeliveryChannel.EMAIL, "first")

    with pytest.raises(DeliveryFailed, match="no ha respondido"):
        deliver(engine, offer, viewer, Settings(), DeliveryChannel.EMAIL, "first")
    with smtp_server() as (inbox, port):
        outcome = deliver(
            engine, offer, viewer, smtp_settings(port), DeliveryChannel.EMAIL, "second"
        )

    assert outcome.delivery.result == DeliveryResult.SENT
    assert len(inbox.envelopes) == 1
    results = [d.result for d in list_deliveries(engine, offer.id)]
    assert results == [DeliveryResult.SENT, DeliveryResult.FAILED]
    assert get_offer(engine, offer.id).delivery_count == 1


def test_login_over_starttls_delivers(engine, offer, viewer, tmp_path):
    certificate = self_signed(tmp_path)
    with smtp_server(
        tls_context=certificate.server_context(),
        require_starttls=True,
        authenticator=only_vendedor,
    ) as (inbox, port):
        outcome = deliver(
            engine,
            offer,
            viewer,
            smtp_settings(
                port,
                smtp_security="starttls",
                smtp_ca_file=str(certificate.cert_file),
                smtp_user=SMTP_USER,
                smtp_password=SMTP_PASSWORD,
            ),
            DeliveryChannel.EMAIL,
        )

    assert outcome.delivery.result == DeliveryResult.SENT
    assert inbox.envelopes[0].rcpt_tos == [CUSTOMER_EMAIL]
    assert get_offer(engine, offer.id).delivery_count == 1


def test_ssl_delivers(engine, offer, viewer, tmp_path):
    certificate = self_signed(tmp_path)
    with smtp_server(ssl_context=certificate.server_context()) as (inbox, port):
        outcome = deliver(
            engine,
            offer,
            viewer,
            smtp_settings(
                port, smtp_security="ssl", smtp_ca_file=str(certificate.cert_file)
            ),
            DeliveryChannel.EMAIL,
        )

    assert outcome.delivery.result == DeliveryResult.SENT
    assert len(inbox.envelopes) == 1
    assert get_offer(engine, offer.id).last_delivered_at == outcome.delivery.finished_at
