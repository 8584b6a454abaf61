"""Real mail servers on loopback for the tests: good ones and every kind of bad.

- ``smtp_server``: aiosmtpd, optionally with STARTTLS, implicit TLS or login.
- ``SlowInbox``: answers every command, each only just before a client gives up.
- ``silent_server``: accepts the connection and never says a word.
- ``hanging_up_server``: accepts the connection and closes it at once.
- ``self_signed``: a certificate for 127.0.0.1 made with ``cryptography``.
"""

import asyncio
import contextlib
import datetime
import email
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SMTP_USER = "vendedor"
SMTP_PASSWORD = "secreta"


class Inbox:
    """An SMTP handler that keeps every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(
        self, server: object, session: object, envelope: Envelope
    ) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        """What arrived, parsed."""
        return [
            email.message_from_bytes(envelope.content, policy=policy.default)
            for envelope in self.envelopes
        ]


class SlowInbox(Inbox):
    """Answers every command, but only after ``delay`` seconds: alive, yet slow."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_EHLO(
        self,
        server: object,
        session: object,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        await asyncio.sleep(self.delay)
        session.host_name = hostname
        return responses

    async def handle_MAIL(
        self,
        server: object,
        session: object,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        await asyncio.sleep(self.delay)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: object,
        session: object,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(
        self, server: object, session: object, envelope: Envelope
    ) -> str:
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


class RecipientRefusingInbox(Inbox):
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


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def only_vendedor(
    server: object, session: object, envelope: object, mechanism: str, auth: object
) -> AuthResult:
    """Accepts the one user and password of the tests, refuses anything else."""
    login = getattr(auth, "login", b"")
    password = getattr(auth, "password", b"")
    accepted = (login, password) == (SMTP_USER.encode(), SMTP_PASSWORD.encode())
    return AuthResult(success=accepted, handled=False)


@dataclass
class Certificate:
    """A self-signed certificate for 127.0.0.1 and the files it lives in."""

    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """A server-side TLS context with this certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def self_signed(directory: Path, host: str = "127.0.0.1") -> Certificate:
    """Make a self-signed certificate valid for ``host`` (an IP or a name)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    try:
        alternative: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alternative = x509.DNSName(host)
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([alternative]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / f"{host}.pem"
    key_file = directory / f"{host}.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_file=cert_file, key_file=key_file)


@contextlib.contextmanager
def smtp_server(
    handler: Inbox | None = None, **options: object
) -> Iterator[tuple[Inbox, int]]:
    """An aiosmtpd server on a free loopback port; its handler and port."""
    handler = handler or Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A server that accepts connections and never answers; its port."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@contextlib.contextmanager
def hanging_up_server() -> Iterator[int]:
    """A server that closes every connection as soon as it is made; its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()

    def hang_up() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listener.close()
