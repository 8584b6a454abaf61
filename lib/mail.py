"""The offer by email: building the message, and sending it through a backend.

Building and sending are kept apart. ``build_offer_email`` makes a standard
library ``EmailMessage`` (plain text, HTML and the PDF attached);
``send_email`` hands it to the backend the settings choose, as Django does:

- ``file``: each message is written as a real ``.eml`` file under
  ``settings.outbox_dir``. Nothing leaves the machine; this is the default,
  so a demo needs no mail server.
- ``smtp``: ``smtplib`` with plain SMTP, STARTTLS or SSL, optional login.

Every failure becomes a ``DeliveryFailed`` whose message a salesperson can
read. Logs name the offer number only, never the customer or an address.
"""

import contextlib
import functools
import logging
import smtplib
import socket
import ssl
import threading
import uuid
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from lib.config import Settings
from lib.documents import offer_pdf_filename, price_lines, valid_until
from lib.errors import DeliveryFailed
from lib.formatting import day, phone
from lib.views import OfferView

logger = logging.getLogger(__name__)

# Carries the offer number from the builder to the backends, which name the
# outbox file and their log lines after it.
OFFER_HEADER = "X-Offer-Number"


def build_offer_email(offer: OfferView, pdf: bytes, settings: Settings) -> EmailMessage:
    """The offer's email to its customer, in Spanish, with the PDF attached."""
    customer = offer.customer
    if customer is None:
        raise DeliveryFailed(
            "La oferta no tiene cliente: seleccione un cliente antes de enviarla."
        )
    if not (customer.email or "").strip():
        raise DeliveryFailed(
            "El cliente no tiene correo electrónico: añádalo en su ficha "
            "o imprima la oferta."
        )

    sender = _address(settings.dealership_name, settings.mail_sender, "del remitente")
    recipient = _address(
        customer.full_name, _ascii_email(customer.email or ""), "del cliente"
    )
    salesperson = offer.salesperson
    vehicle = " ".join(
        part for part in (offer.vehicle.make, offer.vehicle.model) if part
    )
    message = EmailMessage()
    # The en dash is Spanish typography for the subject, not a typo.
    subject = f"Su oferta {offer.number} – {vehicle}"
    message["Subject"] = _one_line(subject)
    message["From"] = sender
    message["To"] = recipient
    if (salesperson.email or "").strip():
        message["Reply-To"] = _address(
            salesperson.full_name, salesperson.email, "del comercial"
        )
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender.domain or "localhost")
    message[OFFER_HEADER] = _one_line(offer.number)

    name = recipient.display_name
    message.set_content(_plain_body(offer, name, settings))
    message.add_alternative(_html_body(offer, name, settings), subtype="html")
    message.add_attachment(
        pdf, maintype="application", subtype="pdf", filename=offer_pdf_filename(offer)
    )
    return message


def send_email(message: EmailMessage, settings: Settings) -> str:
    """Send through the configured backend; say in Spanish where it went."""
    number = str(message.get(OFFER_HEADER, "")) or "sin número"
    if settings.mail_backend == "file":
        return _save_to_outbox(message, settings, number)
    if settings.mail_backend == "smtp":
        return _send_by_smtp(message, settings, number)
    logger.warning("Offer %s not sent: unknown mail backend", number)
    raise DeliveryFailed(
        f"El sistema de envío de correo «{settings.mail_backend}» no existe; "
        "revise OFFERDESK_MAIL_BACKEND."
    )


def mail_leaves_machine(settings: Settings) -> bool:
    """Whether a sent email really reaches a mail server."""
    return settings.mail_backend == "smtp"


def _one_line(text: str) -> str:
    # Line breaks and control characters in a name or subject must never turn
    # into new headers; any run of them becomes a single space.
    cleaned = "".join(" " if not ch.isprintable() else ch for ch in text)
    return " ".join(cleaned.split())


def _ascii_email(text: str) -> str:
    # An accented domain is sent in its ASCII (punycode) form, which every
    # server accepts. An accented local part cannot be written that way and
    # the standard library refuses it, so that customer gets a printed offer.
    try:
        checked = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise DeliveryFailed(
            f"La dirección de correo del cliente no es válida: {_one_line(text)}"
        ) from error
    if checked.ascii_email is None:
        raise DeliveryFailed(
            "La dirección de correo del cliente lleva acentos o letras no "
            "latinas antes de la arroba y no se puede enviar; imprima la oferta."
        )
    return checked.ascii_email


def _address(name: str, email: str, whose: str) -> Address:
    addr_spec = (email or "").strip()
    if not addr_spec:
        raise DeliveryFailed(f"Falta la dirección de correo {whose}.")
    try:
        return Address(display_name=_one_line(name or ""), addr_spec=addr_spec)
    except (ValueError, IndexError) as error:
        raise DeliveryFailed(
            f"La dirección de correo {whose} no es válida: {_one_line(addr_spec)}"
        ) from error


def _plain_body(offer: OfferView, customer_name: str, settings: Settings) -> str:
    salesperson = offer.salesperson
    contact = " · ".join(
        part for part in (salesperson.email, phone(salesperson.phone)) if part
    )
    lines = [
        f"Estimado/a {customer_name}:",
        "",
        f"Le enviamos la oferta {offer.number} del {_one_line(offer.vehicle.title)}. "
        "Encontrará el detalle en el PDF adjunto.",
        "",
        *_plain_price_lines(offer),
        "",
        f"Válida hasta: {day(valid_until(offer, settings))}",
        "",
        "Para cualquier duda, o para reservar el vehículo, puede responder a este "
        "correo o hablar con su comercial:",
        _one_line(salesperson.full_name),
    ]
    if contact:
        lines.append(contact)
    lines += [
        "",
        "Atentamente,",
        settings.dealership_name,
        settings.dealership_address,
        f"Tel. {settings.dealership_phone}",
        "",
    ]
    return "\n".join(lines)


def _html_body(offer: OfferView, customer_name: str, settings: Settings) -> str:
    salesperson = offer.salesperson
    contact = " · ".join(
        escape(part) for part in (salesperson.email, phone(salesperson.phone)) if part
    )
    contact_line = f"<br>{contact}" if contact else ""
    return (
        '<!DOCTYPE html>\n<html lang="es">\n<body>\n'
        f"<p>Estimado/a {escape(customer_name)}:</p>\n"
        f"<p>Le enviamos la oferta <strong>{escape(offer.number)}</strong> del "
        f"{escape(_one_line(offer.vehicle.title))}. "
        "Encontrará el detalle en el PDF adjunto.</p>\n"
        f"{_html_price_table(offer)}"
        f"<p>Válida hasta: {escape(day(valid_until(offer, settings)))}</p>\n"
        "<p>Para cualquier duda, o para reservar el vehículo, puede responder a "
        "este correo o hablar con su comercial:<br>"
        f"{escape(_one_line(salesperson.full_name))}{contact_line}</p>\n"
        f"<p>Atentamente,<br>{escape(settings.dealership_name)}<br>"
        f"{escape(settings.dealership_address)}<br>"
        f"Tel. {escape(settings.dealership_phone)}</p>\n"
        "</body>\n</html>\n"
    )


def _plain_price_lines(offer: OfferView) -> list[str]:
    lines = price_lines(offer.prices, offer.vehicle)
    width = max(len(line.label) for line in lines) + 2
    return [f"{line.label + ':':<{width}}{line.amount:>14}" for line in lines]


def _html_price_table(offer: OfferView) -> str:
    rows = []
    for line in price_lines(offer.prices, offer.vehicle):
        amount = escape(line.amount)
        if line.total:
            amount = f"<strong>{amount}</strong>"
        rows.append(
            f'<tr><td>{escape(line.label)}</td><td align="right">{amount}</td></tr>\n'
        )
    return "<table>\n" + "".join(rows) + "</table>\n"


@functools.cache
def _warn_file_backend(outbox: Path) -> None:
    logger.warning(
        "Mail backend is 'file': messages are saved under %s and never sent", outbox
    )


def _save_to_outbox(message: EmailMessage, settings: Settings, number: str) -> str:
    outbox = Path(settings.outbox_dir)
    _warn_file_backend(outbox)
    reference = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in number)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = outbox / f"Oferta_{reference}_{stamp}_{uuid.uuid4().hex[:8]}.eml"
    partial = path.with_suffix(".eml.part")

    try:
        outbox.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed, so the outbox never shows half a message.
        with partial.open("xb") as handle:
            handle.write(message.as_bytes(policy=policy.SMTP))
        partial.replace(path)
    except OSError as error:
        logger.warning(
            "Offer %s not saved to outbox %s: %s", number, outbox, type(error).__name__
        )
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise DeliveryFailed(
            f"No se ha podido guardar el correo en {outbox}: {_os_reason(error)}."
        ) from error

    logger.info("Offer %s email saved to %s", number, path)
    # The salesperson needs the file's name, not where the server keeps it.
    return (
        f"Guardado como {path.name} en el buzón de pruebas; "
        "no ha salido de esta máquina."
    )


class _Deadline:
    """Cuts the connection when the whole conversation outlasts the timeout.

    smtplib's timeout bounds each read, so a server that answers every command
    just in time could hold the salesperson for minutes; this bounds the sum.
    """

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self.client: smtplib.SMTP | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def watch(self, client: smtplib.SMTP) -> None:
        """Cut this connection at the deadline, or now if it has passed."""
        self.client = client
        if self.expired:
            self._expire()

    def _expire(self) -> None:
        self.expired = True
        sock = getattr(self.client, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> "_Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()


def _send_by_smtp(message: EmailMessage, settings: Settings, number: str) -> str:
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout
    server = f"{host}:{port}"
    stage = "connect"
    client: smtplib.SMTP | None = None
    deadline = _Deadline(timeout)
    try:
        with deadline:
            if settings.smtp_security == "ssl":
                context = _tls_context(settings)
                client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
            else:
                client = smtplib.SMTP(host, port, timeout=timeout)
            # Connecting is bounded by the socket's own timeout.
            deadline.watch(client)
            if settings.smtp_security == "starttls":
                stage = "starttls"
                client.starttls(context=_tls_context(settings))
            if settings.smtp_user:
                stage = "login"
                client.login(settings.smtp_user, settings.smtp_password)
            stage = "send"
            refused = client.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        if client is not None:
            client.close()
        cause = TimeoutError("whole send timed out") if deadline.expired else error
        logger.warning(
            "Offer %s not sent through %s at %s: %s %s",
            number,
            server,
            stage,
            type(cause).__name__,
            getattr(cause, "smtp_code", ""),
        )
        raise DeliveryFailed(_smtp_reason(cause, stage, server, timeout)) from error
    _quit_quietly(client)
    if refused:
        logger.warning(
            "Offer %s: %s recipients refused by %s", number, len(refused), server
        )
        raise DeliveryFailed(
            f"El servidor de correo {server} ha rechazado al destinatario."
        )

    logger.info("Offer %s email handed to %s", number, server)
    return f"Enviado al servidor de correo {server}."


def _tls_context(settings: Settings) -> ssl.SSLContext:
    """Verify the server's certificate and name: system trust, or the CA file."""
    try:
        return ssl.create_default_context(cafile=settings.smtp_ca_file or None)
    except (OSError, ssl.SSLError) as error:
        raise CertificateFileError(settings.smtp_ca_file) from error


class CertificateFileError(OSError):
    """The certificate file in the settings cannot be read."""


def _quit_quietly(client: smtplib.SMTP) -> None:
    # The server has accepted the message by now: a failed QUIT must not be
    # reported as a failed delivery, or the salesperson would send it twice.
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _smtp_reason(error: OSError, stage: str, server: str, timeout: float) -> str:
    """A Spanish sentence for what went wrong talking to the mail server."""
    if isinstance(error, CertificateFileError):
        return (
            f"No se puede leer el fichero de certificados «{error}» "
            "(OFFERDESK_SMTP_CA_FILE); el correo no se ha enviado."
        )
    if isinstance(error, ssl.SSLCertVerificationError):
        return (
            f"El certificado del servidor de correo {server} no es de confianza "
            "o no corresponde a su nombre; revise OFFERDESK_SMTP_CA_FILE."
        )
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return (
            f"El servidor de correo {server} ha rechazado el usuario o la "
            "contraseña (OFFERDESK_SMTP_USER, OFFERDESK_SMTP_PASSWORD)."
        )
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(code) for code, _ in error.recipients.values()})
        return (
            f"El servidor de correo {server} ha rechazado la dirección del "
            f"cliente (código {', '.join(codes)}). Compruebe el correo electrónico."
        )
    if isinstance(error, smtplib.SMTPSenderRefused):
        return (
            f"El servidor de correo {server} ha rechazado el remitente "
            f"(código {error.smtp_code}); revise OFFERDESK_MAIL_SENDER."
        )
    if isinstance(error, smtplib.SMTPNotSupportedError):
        if stage == "starttls":
            return (
                f"El servidor de correo {server} no admite STARTTLS; "
                "revise OFFERDESK_SMTP_SECURITY."
            )
        if stage == "login":
            return f"El servidor de correo {server} no admite inicio de sesión."
        return (
            f"El servidor de correo {server} no admite direcciones con "
            "caracteres internacionales."
        )
    # smtplib reports a read that timed out as a disconnection.
    if isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError):
        seconds = f"{timeout:g}".replace(".", ",")
        return f"El servidor de correo {server} no ha respondido en {seconds} s."
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return f"El servidor de correo {server} ha cortado la conexión."
    if isinstance(error, smtplib.SMTPResponseException):
        return (
            f"El servidor de correo {server} ha rechazado el envío "
            f"(código {error.smtp_code})."
        )
    if isinstance(error, smtplib.SMTPException):
        return f"Error al hablar con el servidor de correo {server}."
    if isinstance(error, ssl.SSLError):
        return (
            f"No se ha podido establecer la conexión cifrada con {server}; "
            "revise OFFERDESK_SMTP_SECURITY y el certificado del servidor."
        )
    if isinstance(error, ConnectionRefusedError):
        return (
            f"El servidor de correo {server} rechaza la conexión; "
            "compruebe que está en marcha y que el puerto es el correcto."
        )
    if isinstance(error, socket.gaierror):
        return f"No se encuentra el servidor de correo {server}; revise el nombre."
    reason = _os_reason(error)
    return f"No se ha podido conectar con el servidor de correo {server}: {reason}."


def _os_reason(error: OSError) -> str:
    if isinstance(error, PermissionError):
        return "no hay permiso de escritura"
    if isinstance(error, FileExistsError):
        return "ya existe un archivo con ese nombre"
    if isinstance(error, ConnectionResetError):
        return "la conexión se ha cortado"
    if error.errno is not None:
        return f"error del sistema {error.errno} ({error.strerror})"
    return "error del sistema"
