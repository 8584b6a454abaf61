"""The offer email, sent through a real SMTP server on loopback and read back."""

import email
import io
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from lib.config import Settings
from lib.documents import build_offer_pdf
from lib.errors import DeliveryFailed
from lib.mail import build_offer_email, mail_leaves_machine, send_email
from tests.factories import make_customer, make_offer, make_salesperson, make_vehicle
from tests.smtp_servers import (
    SMTP_PASSWORD,
    SMTP_USER,
    SlowInbox,
    only_vendedor,
    self_signed,
    silent_server,
    smtp_server,
)

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
CUSTOMER_EMAIL = "inigo.munoz@example.com"


class Recorder:
    """An SMTP handler that keeps every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(
        self, server: object, session: object, envelope: Envelope
    ) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(envelope.content, policy=policy.default)
            for envelope in self.envelopes
        ]


class RejectRecipient(Recorder):
    """Refuses every recipient, as a server does for an unknown mailbox."""

    async def handle_RCPT(
        self,
        server: object,
        session: object,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        return "550 5.1.1 Mailbox unavailable"


class RejectData(Recorder):
    """Accepts the recipient but refuses the message itself."""

    async def handle_DATA(
        self, server: object, session: object, envelope: Envelope
    ) -> str:
        return "554 5.7.1 Message rejected"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def smtp_settings(port: int, **changes: object) -> Settings:
    values: dict[str, object] = {
        "mail_backend": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_timeout": 5.0,
    }
    values.update(changes)
    return Settings(**values)


def start_server(handler: Recorder, **options: object) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    return controller, port


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, int]]:
    handler = Recorder()
    controller, port = start_server(handler)
    yield handler, port
    controller.stop()


def offer_email(**changes: object) -> EmailMessage:
    offer = make_offer(**changes)
    pdf = build_offer_pdf(offer, Settings(), now=NOW)
    return build_offer_email(offer, pdf, Settings())


def pdf_text(document: bytes) -> str:
    reader = PdfReader(io.BytesIO(document))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text.replace("\xa0", " ")


def send_and_receive(
    recorder: tuple[Recorder, int], message: EmailMessage
) -> EmailMessage:
    handler, port = recorder
    send_email(message, smtp_settings(port))
    (received,) = handler.messages()
    return received


def test_smtp_send_reports_the_server(recorder: tuple[Recorder, int]) -> None:
    handler, port = recorder

    where = send_email(offer_email(), smtp_settings(port))

    assert where == f"Enviado al servidor de correo 127.0.0.1:{port}."
    assert handler.envelopes[0].rcpt_tos == [CUSTOMER_EMAIL]
    assert handler.envelopes[0].mail_from == "ofertas@concesionario.example"


def test_received_subject_reads_back_exactly(recorder: tuple[Recorder, int]) -> None:
    received = send_and_receive(recorder, offer_email())

    assert received["Subject"] == "Su oferta 2026-000123 – Volkswagen Golf"


def test_received_recipient_keeps_accented_display_name(
    recorder: tuple[Recorder, int],
) -> None:
    received = send_and_receive(recorder, offer_email())

    (to,) = received["To"].addresses
    assert to.display_name == "Íñigo Muñoz Peñalver"
    assert to.addr_spec == CUSTOMER_EMAIL


def test_received_sender_is_dealership(recorder: tuple[Recorder, int]) -> None:
    received = send_and_receive(recorder, offer_email())

    (sender,) = received["From"].addresses
    assert sender.display_name == "Concesionario Demo, S.L."
    assert sender.addr_spec == "ofertas@concesionario.example"


def test_reply_to_is_the_salesperson(recorder: tuple[Recorder, int]) -> None:
    received = send_and_receive(recorder, offer_email())

    (reply_to,) = received["Reply-To"].addresses
    assert reply_to.display_name == "Lucía Fernández Ibáñez"
    assert reply_to.addr_spec == "lucia.fernandez@concesionario.example"


def test_no_reply_to_when_salesperson_has_no_email() -> None:
    message = offer_email(salesperson=make_salesperson(email=""))

    assert message["Reply-To"] is None


def test_received_attachment_is_the_offer_pdf(recorder: tuple[Recorder, int]) -> None:
    received = send_and_receive(recorder, offer_email())

    (attachment,) = received.iter_attachments()
    assert attachment.get_filename() == "Oferta_2026-000123.pdf"
    assert attachment.get_content_type() == "application/pdf"
    text = pdf_text(attachment.get_content())
    assert "Oferta 2026-000123" in text
    assert "Total 23.450,00 €" in text
    assert "Íñigo Muñoz Peñalver" in text


def test_attachment_is_the_same_bytes_as_built(recorder: tuple[Recorder, int]) -> None:
    offer = make_offer()
    pdf = build_offer_pdf(offer, Settings(), now=NOW)

    received = send_and_receive(recorder, build_offer_email(offer, pdf, Settings()))

    (attachment,) = received.iter_attachments()
    assert attachment.get_content() == pdf


def test_plain_and_html_bodies_give_total_validity_and_salesperson(
    recorder: tuple[Recorder, int],
) -> None:
    received = send_and_receive(recorder, offer_email())

    plain = received.get_body(("plain",)).get_content().replace("\xa0", " ")
    html = received.get_body(("html",)).get_content().replace("\xa0", " ")
    for body in (plain, html):
        assert "23.450,00 €" in body
        assert "18/12/2026" in body
        assert "Lucía Fernández Ibáñez" in body
        assert "2026-000123" in body
    assert "Estimado/a Íñigo Muñoz Peñalver:" in plain


def test_html_body_escapes_names() -> None:
    message = offer_email(customer=make_customer(first_name="<b>Ana</b>"))

    html = message.get_body(("html",)).get_content()
    assert "&lt;b&gt;Ana&lt;/b&gt;" in html
    assert "<b>Ana</b>" not in html


@pytest.mark.parametrize(
    "changes",
    [
        {"customer": make_customer(first_name="Eva\r\nBcc: x@y")},
        {"customer": make_customer(last_name="Ruiz\nBcc: x@y")},
        {"salesperson": make_salesperson(full_name="Luis\r\nBcc: x@y")},
        {"vehicle": make_vehicle(model="Golf\r\nBcc: x@y")},
    ],
    ids=["customer-first-name", "customer-last-name", "salesperson", "vehicle"],
)
def test_line_breaks_in_names_add_no_header(
    recorder: tuple[Recorder, int], changes: dict[str, object]
) -> None:
    handler, _ = recorder

    received = send_and_receive(recorder, offer_email(**changes))

    headers = handler.envelopes[0].content.split(b"\r\n\r\n", 1)[0]
    assert received["Bcc"] is None
    assert b"\nBcc:" not in headers
    assert handler.envelopes[0].rcpt_tos == [CUSTOMER_EMAIL]
    assert received["To"].addresses[0].addr_spec == CUSTOMER_EMAIL


def test_line_break_in_name_becomes_a_space() -> None:
    message = offer_email(customer=make_customer(first_name="Eva\r\nBcc: x@y"))

    assert message["To"].addresses[0].display_name == "Eva Bcc: x@y Muñoz Peñalver"


def test_offer_without_customer_cannot_be_emailed() -> None:
    offer = make_offer(customer=None)

    with pytest.raises(DeliveryFailed) as failure:
        build_offer_email(offer, b"%PDF-", Settings())

    assert failure.value.message.startswith("La oferta no tiene cliente")


@pytest.mark.parametrize("address", [None, "", "   "])
def test_customer_without_email_cannot_be_emailed(address: str | None) -> None:
    offer = make_offer(customer=make_customer(email=address))

    with pytest.raises(DeliveryFailed) as failure:
        build_offer_email(offer, b"%PDF-", Settings())

    assert failure.value.message.startswith("El cliente no tiene correo electrónico")


def test_invalid_customer_email_is_a_delivery_failure() -> None:
    offer = make_offer(customer=make_customer(email="no-es-un-correo"))

    with pytest.raises(DeliveryFailed) as failure:
        build_offer_email(offer, b"%PDF-", Settings())

    assert "no es válida" in failure.value.message


def test_file_backend_writes_parseable_eml(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    settings = Settings(mail_backend="file", outbox_dir=outbox)

    where = send_email(offer_email(), settings)

    (saved,) = outbox.iterdir()
    assert saved.suffix == ".eml"
    assert "2026-000123" in saved.name
    assert where == (
        f"Guardado como {saved.name} en el buzón de pruebas; "
        "no ha salido de esta máquina."
    )
    parsed = email.message_from_bytes(saved.read_bytes(), policy=policy.default)
    assert parsed["To"].addresses[0].display_name == "Íñigo Muñoz Peñalver"
    assert parsed["Subject"] == "Su oferta 2026-000123 – Volkswagen Golf"
    (attachment,) = parsed.iter_attachments()
    assert "Total 23.450,00 €" in pdf_text(attachment.get_content())


def test_file_backend_never_overwrites(tmp_path: Path) -> None:
    settings = Settings(mail_backend="file", outbox_dir=tmp_path)
    message = offer_email()

    send_email(message, settings)
    send_email(message, settings)

    names = sorted(path.name for path in tmp_path.iterdir())
    assert len(names) == 2
    assert all(name.endswith(".eml") for name in names)


def test_file_backend_warns_once_that_nothing_leaves(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(mail_backend="file", outbox_dir=tmp_path / "warned")

    with caplog.at_level(logging.WARNING, logger="lib.mail"):
        send_email(offer_email(), settings)
        send_email(offer_email(), settings)

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "never sent" in warnings[0].getMessage()


def test_file_backend_unwritable_outbox_fails_in_spanish(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings = Settings(mail_backend="file", outbox_dir=blocker / "outbox")

    with pytest.raises(DeliveryFailed) as failure:
        send_email(offer_email(), settings)

    assert failure.value.message.startswith("No se ha podido guardar el correo en")


def test_mail_leaves_machine_only_with_smtp() -> None:
    assert mail_leaves_machine(Settings(mail_backend="smtp")) is True
    assert mail_leaves_machine(Settings(mail_backend="file")) is False


def test_refused_connection_fails_fast_in_spanish(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = smtp_settings(free_port(), smtp_timeout=3.0)
    started = time.monotonic()

    with (
        caplog.at_level(logging.WARNING, logger="lib.mail"),
        pytest.raises(DeliveryFailed) as failure,
    ):
        send_email(offer_email(), settings)

    assert time.monotonic() - started < 3.0
    assert "rechaza la conexión" in failure.value.message
    assert "2026-000123" in caplog.text
    assert CUSTOMER_EMAIL not in caplog.text
    assert "Íñigo" not in caplog.text


def test_silent_server_times_out_in_spanish() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        settings = smtp_settings(silent.getsockname()[1], smtp_timeout=0.5)
        started = time.monotonic()

        with pytest.raises(DeliveryFailed) as failure:
            send_email(offer_email(), settings)

    assert time.monotonic() - started < 3.0
    assert failure.value.message.endswith("no ha respondido en 0,5 s.")


def test_slow_server_ends_within_the_timeout_in_all() -> None:
    # Each answer comes before a single read's timeout, but together they
    # take well over it: the send as a whole must end at the timeout.
    with smtp_server(SlowInbox(delay=0.7)) as (inbox, port):
        settings = smtp_settings(port, smtp_timeout=1.0)
        started = time.monotonic()

        with pytest.raises(DeliveryFailed) as failure:
            send_email(offer_email(), settings)
        elapsed = time.monotonic() - started

    assert elapsed < 2.0
    assert failure.value.message == (
        f"El servidor de correo 127.0.0.1:{port} no ha respondido en 1 s."
    )
    assert inbox.envelopes == []


def test_server_hanging_up_fails_in_spanish() -> None:
    with socket.socket() as rude:
        rude.bind(("127.0.0.1", 0))
        rude.listen()

        def hang_up() -> None:
            connection, _ = rude.accept()
            connection.close()

        thread = threading.Thread(target=hang_up)
        thread.start()
        settings = smtp_settings(rude.getsockname()[1], smtp_timeout=3.0)
        with pytest.raises(DeliveryFailed) as failure:
            send_email(offer_email(), settings)
        thread.join()

    assert "ha cortado la conexión" in failure.value.message


def test_recipient_refused_fails_in_spanish(caplog: pytest.LogCaptureFixture) -> None:
    handler = RejectRecipient()
    controller, port = start_server(handler)
    try:
        with (
            caplog.at_level(logging.WARNING, logger="lib.mail"),
            pytest.raises(DeliveryFailed) as failure,
        ):
            send_email(offer_email(), smtp_settings(port))
    finally:
        controller.stop()

    assert "ha rechazado la dirección del cliente (código 550)" in failure.value.message
    assert handler.envelopes == []
    assert CUSTOMER_EMAIL not in caplog.text


def test_message_refused_fails_in_spanish() -> None:
    controller, port = start_server(RejectData())
    try:
        with pytest.raises(DeliveryFailed) as failure:
            send_email(offer_email(), smtp_settings(port))
    finally:
        controller.stop()

    assert "ha rechazado el envío (código 554)" in failure.value.message


def test_starttls_unsupported_fails_in_spanish(recorder: tuple[Recorder, int]) -> None:
    handler, port = recorder

    with pytest.raises(DeliveryFailed) as failure:
        send_email(offer_email(), smtp_settings(port, smtp_security="starttls"))

    assert "no admite STARTTLS" in failure.value.message
    assert handler.envelopes == []


def accept_only_vendedor(
    server: object, session: object, envelope: object, mechanism: str, auth_data: object
) -> AuthResult:
    login = getattr(auth_data, "login", b"")
    password = getattr(auth_data, "password", b"")
    accepted = (login, password) == (b"vendedor", b"secreta")
    return AuthResult(success=accepted, handled=False)


@pytest.fixture
def auth_server() -> Iterator[tuple[Recorder, int]]:
    handler = Recorder()
    controller, port = start_server(
        handler, authenticator=accept_only_vendedor, auth_require_tls=False
    )
    yield handler, port
    controller.stop()


def test_login_with_right_password_sends(auth_server: tuple[Recorder, int]) -> None:
    handler, port = auth_server
    settings = smtp_settings(port, smtp_user="vendedor", smtp_password="secreta")

    send_email(offer_email(), settings)

    assert handler.envelopes[0].rcpt_tos == [CUSTOMER_EMAIL]


def test_login_with_wrong_password_fails_in_spanish(
    auth_server: tuple[Recorder, int],
) -> None:
    handler, port = auth_server
    settings = smtp_settings(port, smtp_user="vendedor", smtp_password="otra")

    with pytest.raises(DeliveryFailed) as failure:
        send_email(offer_email(), settings)

    assert "ha rechazado el usuario o la contraseña" in failure.value.message
    assert handler.envelopes == []


def test_accented_domain_is_sent_as_punycode(recorder: tuple[Recorder, int]) -> None:
    handler, _ = recorder
    message = offer_email(customer=make_customer(email="ana@ñandú.es"))

    received = send_and_receive(recorder, message)

    assert handler.envelopes[0].rcpt_tos == ["ana@xn--and-6ma2c.es"]
    assert received["To"].addresses[0].addr_spec == "ana@xn--and-6ma2c.es"


def test_accented_local_part_fails_in_spanish() -> None:
    offer = make_offer(customer=make_customer(email="josé@ejemplo.es"))

    with pytest.raises(DeliveryFailed) as failure:
        build_offer_email(offer, b"%PDF-", Settings())

    assert "imprima la oferta" in failure.value.message


def raw_headers(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=policy.SMTP).split(b"\r\n\r\n", 1)[0]


def test_headers_on_the_wire_are_ascii_with_encoded_words() -> None:
    message = offer_email(
        customer=make_customer(first_name="Zoë", last_name="Núñez 😀"),
        vehicle=make_vehicle(make="Škoda", model="Kodiaq"),
    )

    headers = raw_headers(message)

    assert headers.isascii()
    assert b"=?utf-8?" in headers
    assert all(len(line) <= 78 for line in headers.split(b"\r\n"))
    parsed = email.message_from_bytes(
        message.as_bytes(policy=policy.SMTP), policy=policy.default
    )
    assert parsed["To"].addresses[0].display_name == "Zoë Núñez 😀"
    assert parsed["Subject"] == "Su oferta 2026-000123 – Škoda Kodiaq"


def test_non_ascii_attachment_name_is_encoded_per_rfc_2231() -> None:
    message = offer_email(number="2026-Ñ00123")

    raw = message.as_bytes(policy=policy.SMTP)

    assert raw.isascii()
    assert b"filename*=utf-8''Oferta_2026-%C3%9100123.pdf" in raw
    parsed = email.message_from_bytes(raw, policy=policy.default)
    (attachment,) = parsed.iter_attachments()
    assert attachment.get_filename() == "Oferta_2026-Ñ00123.pdf"


def test_bodies_carry_the_price_lines_of_the_pdf() -> None:
    message = offer_email()

    plain = message.get_body(("plain",)).get_content().replace("\xa0", " ")
    html = message.get_body(("html",)).get_content().replace("\xa0", " ")

    for label, amount in [
        ("Precio del vehículo (IVA incluido)", "24.500,00 €"),
        ("Descuento", "-1.050,00 €"),
        ("Base imponible", "19.380,17 €"),
        ("IVA 21 %", "4.069,83 €"),
        ("Impuesto de matriculación", "No aplica"),
        ("Total", "23.450,00 €"),
    ]:
        assert any(
            line.startswith(label + ":") and line.endswith(amount)
            for line in plain.splitlines()
        ), label
        assert f'<td>{label}</td><td align="right">' in html
        assert amount in html


def tls_settings(port: int, security: str, **changes: object) -> Settings:
    return smtp_settings(port, smtp_security=security, **changes)


def test_starttls_with_trusted_certificate_and_login_sends(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path)
    with smtp_server(
        tls_context=certificate.server_context(),
        require_starttls=True,
        authenticator=only_vendedor,
    ) as (inbox, port):
        where = send_email(
            offer_email(),
            tls_settings(
                port,
                "starttls",
                smtp_ca_file=str(certificate.cert_file),
                smtp_user=SMTP_USER,
                smtp_password=SMTP_PASSWORD,
            ),
        )

    assert where == f"Enviado al servidor de correo 127.0.0.1:{port}."
    (received,) = inbox.messages()
    assert received["To"].addresses[0].display_name == "Íñigo Muñoz Peñalver"


def test_ssl_with_trusted_certificate_sends(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path)
    with smtp_server(ssl_context=certificate.server_context()) as (inbox, port):
        send_email(
            offer_email(),
            tls_settings(port, "ssl", smtp_ca_file=str(certificate.cert_file)),
        )

    assert [envelope.rcpt_tos for envelope in inbox.envelopes] == [[CUSTOMER_EMAIL]]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_untrusted_certificate_fails_in_spanish(tmp_path: Path, security: str) -> None:
    certificate = self_signed(tmp_path)
    options = (
        {"tls_context": certificate.server_context(), "require_starttls": True}
        if security == "starttls"
        else {"ssl_context": certificate.server_context()}
    )
    with (
        smtp_server(**options) as (inbox, port),
        pytest.raises(DeliveryFailed) as failure,
    ):
        send_email(offer_email(), tls_settings(port, security))

    assert "no es de confianza" in failure.value.message
    assert inbox.envelopes == []


def test_certificate_for_another_name_fails_in_spanish(tmp_path: Path) -> None:
    certificate = self_signed(tmp_path, host="correo.concesionario.example")
    with (
        smtp_server(ssl_context=certificate.server_context()) as (inbox, port),
        pytest.raises(DeliveryFailed) as failure,
    ):
        send_email(
            offer_email(),
            tls_settings(port, "ssl", smtp_ca_file=str(certificate.cert_file)),
        )

    assert "no corresponde a su nombre" in failure.value.message
    assert inbox.envelopes == []


def test_missing_certificate_file_fails_in_spanish(tmp_path: Path) -> None:
    with (
        smtp_server() as (inbox, port),
        pytest.raises(DeliveryFailed) as failure,
    ):
        send_email(
            offer_email(),
            tls_settings(port, "starttls", smtp_ca_file=str(tmp_path / "no.pem")),
        )

    assert "No se puede leer el fichero de certificados" in failure.value.message
    assert inbox.envelopes == []


def test_ssl_against_a_plain_server_fails_in_spanish() -> None:
    with (
        smtp_server() as (inbox, port),
        pytest.raises(DeliveryFailed) as failure,
    ):
        send_email(offer_email(), tls_settings(port, "ssl", smtp_timeout=2.0))

    assert "conexión cifrada" in failure.value.message
    assert inbox.envelopes == []


def test_ssl_to_a_silent_server_times_out_in_spanish() -> None:
    with silent_server() as port:
        started = time.monotonic()
        with pytest.raises(DeliveryFailed) as failure:
            send_email(offer_email(), tls_settings(port, "ssl", smtp_timeout=1.0))

    assert time.monotonic() - started < 3.0
    assert failure.value.message.endswith("no ha respondido en 1 s.")


@settings(max_examples=60, deadline=None)
@given(first_name=st.text(max_size=60), last_name=st.text(max_size=60))
def test_any_unicode_name_travels_in_one_header_line(
    first_name: str, last_name: str
) -> None:
    customer = make_customer(first_name=first_name or "Ana", last_name=last_name)
    message = build_offer_email(make_offer(customer=customer), b"%PDF-", Settings())

    raw = message.as_bytes(policy=policy.SMTP)
    parsed = email.message_from_bytes(raw, policy=policy.default)

    assert raw.split(b"\r\n\r\n", 1)[0].isascii()
    assert parsed["Bcc"] is None
    assert parsed["To"].addresses[0].addr_spec == CUSTOMER_EMAIL
    # The standard library's parser puts a space between the encoded words a
    # long name is folded into (RFC 2047 joins them); whitespace aside, the
    # name arrives as it was sent.
    name = message["To"].addresses[0].display_name
    arrived = parsed["To"].addresses[0].display_name
    assert "".join(arrived.split()) == "".join(name.split())
    assert "\n" not in name and "\r" not in name


def test_long_name_folded_into_encoded_words_decodes_exactly() -> None:
    name = "Ana ഀ𜼀𜼀𜼀𝌀𝐀𝒩𝔍𝕊𝕊𝕊"
    message = build_offer_email(
        make_offer(customer=make_customer(first_name=name, last_name="")),
        b"%PDF-",
        Settings(),
    )

    raw = message.as_bytes(policy=policy.SMTP)

    to = email.message_from_bytes(raw, policy=policy.compat32)["To"]
    assert "\n " in to  # folded
    assert str(make_header(decode_header(to))) == f"{name} <{CUSTOMER_EMAIL}>"
