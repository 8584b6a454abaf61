import email
import email.policy
import socket
import uuid
from dataclasses import replace
from io import BytesIO

import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader
from lib.config import Settings
from lib.customers import create_customer
from lib.deliveries import deliver_offer, list_deliveries
from lib.lost_reasons import list_lost_reasons
from lib.errors import DeliveryFailed, InvalidState
from lib.models import Availability, DeliveryChannel, DeliveryResult
from lib.offers import create_offer, get_offer, mark_lost
from lib.vehicles import create_factory_order, update_vehicle_identifiers


class Inbox:
    """An SMTP handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(mail_backend="file", outbox_dir=tmp_path / "outbox")


@pytest.fixture
def offer(engine, salesperson):
    vehicle = create_factory_order(
        engine, make="CUPRA", model="Formentor", version="VZ", colour="Gris", price_cents=4295000,
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
        email="inigo.munoz@correo.example",
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


def deliver(engine, offer, salesperson, settings, channel, token=None):
    return deliver_offer(
        engine,
        offer.id,
        channel=channel,
        user_id=salesperson.id,
        request_token=token or uuid.uuid4().hex,
        settings=settings,
    )


def test_email_through_smtp_arrives_with_pdf(engine, offer, salesperson, smtp_server):
    inbox, port = smtp_server
    settings = Settings(mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_timeout=5)

    outcome = deliver(engine, offer, salesperson, settings, DeliveryChannel.EMAIL)

    assert outcome.delivery.result == DeliveryResult.SENT
    [(recipients, raw)] = inbox.messages
    assert recipients == ["inigo.munoz@correo.example"]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["To"].addresses[0].display_name == "Íñigo Muñoz Peñalver"
    assert offer.number in message["Subject"]
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"Oferta_{offer.number}.pdf"
    text = PdfReader(BytesIO(attachment.get_content())).pages[0].extract_text()
    assert offer.number in text
    assert "42.000,00 €" in text.replace("\xa0", " ")
    assert "Íñigo Muñoz Peñalver" in text
    stored = get_offer(engine, offer.id)
    assert stored.delivery_count == 1
    assert stored.last_delivered_at == outcome.delivery.finished_at


def test_print_records_delivery_and_returns_pdf(engine, offer, salesperson, settings):
    outcome = deliver(engine, offer, salesperson, settings, DeliveryChannel.PRINT)

    assert outcome.file_name == f"Oferta_{offer.number}.pdf"
    assert outcome.pdf.startswith(b"%PDF")
    [logged] = list_deliveries(engine, offer.id)
    assert logged.channel == DeliveryChannel.PRINT
    assert logged.recipient == "Íñigo Muñoz Peñalver"
    assert logged.user_name == "Lucía Fernández Ibáñez"
    assert logged.result == DeliveryResult.SENT
    assert len(logged.document_sha256) == 64
    assert get_offer(engine, offer.id).delivery_count == 1


def test_same_request_token_delivers_once(engine, offer, salesperson, settings):
    token = uuid.uuid4().hex

    first = deliver(engine, offer, salesperson, settings, DeliveryChannel.EMAIL, token)
    again = deliver(engine, offer, salesperson, settings, DeliveryChannel.EMAIL, token)

    assert again.delivery.id == first.delivery.id
    assert again.message == "Esta entrega ya se había hecho; no se ha repetido."
    assert len(list((settings.outbox_dir).glob("*.eml"))) == 1
    assert get_offer(engine, offer.id).delivery_count == 1


def test_refused_connection_records_failure_and_leaves_offer(engine, offer, salesperson):
    settings = Settings(
        mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=free_port(), smtp_timeout=3
    )

    with pytest.raises(DeliveryFailed) as raised:
        deliver(engine, offer, salesperson, settings, DeliveryChannel.EMAIL)

    assert raised.value.message
    [logged] = list_deliveries(engine, offer.id)
    assert logged.result == DeliveryResult.FAILED
    assert logged.error == raised.value.message
    stored = get_offer(engine, offer.id)
    assert stored.delivery_count == 0
    assert stored.last_delivered_at is None


def test_email_without_address_records_failure(engine, offer, salesperson, settings):
    no_email = create_customer(engine, first_name="Begoña", phone="634567890")
    bare = create_offer(
        engine,
        request_token=uuid.uuid4().hex,
        vehicle_id=offer.vehicle.id,
        salesperson_id=salesperson.id,
        price_cents=4295000,
        temperature=0.3,
        customer_id=no_email.id,
    )

    with pytest.raises(DeliveryFailed, match="Begoña no tiene correo electrónico"):
        deliver(engine, bare, salesperson, settings, DeliveryChannel.EMAIL)

    [logged] = list_deliveries(engine, bare.id)
    assert logged.result == DeliveryResult.FAILED
    assert get_offer(engine, bare.id).last_delivered_at is None


def test_offer_without_customer_cannot_be_delivered(engine, offer, salesperson, settings):
    bare = create_offer(
        engine,
        request_token=uuid.uuid4().hex,
        vehicle_id=offer.vehicle.id,
        salesperson_id=salesperson.id,
        price_cents=4295000,
        temperature=0.3,
    )

    with pytest.raises(DeliveryFailed, match="Añada un cliente"):
        deliver(engine, bare, salesperson, settings, DeliveryChannel.PRINT)
    assert get_offer(engine, bare.id).delivery_count == 0


def test_closed_offer_is_not_delivered(engine, offer, salesperson, settings):
    mark_lost(
        engine, offer.id, reason_id=list_lost_reasons(engine)[0].id
    )

    with pytest.raises(InvalidState, match="está cerrada"):
        deliver(engine, offer, salesperson, settings, DeliveryChannel.PRINT)
    assert list_deliveries(engine, offer.id) == []


def test_file_backend_writes_parseable_message(engine, offer, salesperson, settings):
    outcome = deliver(engine, offer, salesperson, replace(settings), DeliveryChannel.EMAIL)

    [path] = list(settings.outbox_dir.glob("*.eml"))
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == "inigo.munoz@correo.example"
    assert "inigo.munoz@correo.example" in outcome.message
