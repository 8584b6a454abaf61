"""Handing an offer over: by email with the PDF attached, or printed.

Each attempt is a ``Delivery`` row written before anything leaves, so a send
is never lost from the log, and finished afterwards with its result, the
SHA-256 of the PDF that went and the offer's revision it showed. Building the
PDF and talking to the mail server happen outside any transaction. Every way
to deliver (Resumen, Ofertas, a resend) goes through ``deliver_offer``, and
only a success moves the offer's last delivery date, count and revision.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from lib.config import Settings
from lib.db import reading, transaction
from lib.documents import build_offer_pdf, offer_pdf_filename
from lib.errors import DeliveryFailed, InvalidInput, InvalidState
from lib.mail import build_offer_email, mail_leaves_machine, send_email
from lib.models import (
    Delivery,
    DeliveryChannel,
    DeliveryResult,
    OfferStatus,
    User,
    utcnow,
)
from lib.offers import get_offer, record_delivery_success
from lib.views import OfferView, Viewer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryView:
    """One delivery attempt as the log shows it."""

    id: int
    offer_id: int
    channel: str
    recipient: str
    user_name: str
    result: str
    error: str
    document_sha256: str
    offer_revision: int | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class DeliveryOutcome:
    """What a delivery did: the log row, a sentence for the user, and the PDF."""

    delivery: DeliveryView
    message: str
    pdf: bytes
    file_name: str


def _delivery_view(delivery: Delivery, user_name: str) -> DeliveryView:
    return DeliveryView(
        id=delivery.id,
        offer_id=delivery.offer_id,
        channel=delivery.channel,
        recipient=delivery.recipient,
        user_name=user_name,
        result=delivery.result,
        error=delivery.error,
        document_sha256=delivery.document_sha256,
        offer_revision=delivery.offer_revision,
        created_at=delivery.created_at,
        finished_at=delivery.finished_at,
    )


def list_deliveries(
    engine: Engine, offer_id: int, viewer: Viewer | None = None
) -> list[DeliveryView]:
    """Every delivery attempt of an offer the viewer may see, newest first."""
    if viewer is not None:
        get_offer(engine, offer_id, viewer)
    statement = (
        select(Delivery, User.full_name)
        .join(User, Delivery.user_id == User.id)
        .where(Delivery.offer_id == offer_id)
        .order_by(Delivery.created_at.desc(), Delivery.id.desc())
    )
    with reading(engine) as session:
        return [_delivery_view(row, name) for row, name in session.execute(statement)]


def _recipient(offer: OfferView, channel: str) -> str:
    if offer.customer is None:
        return ""
    if channel == DeliveryChannel.EMAIL:
        return offer.customer.email or ""
    return offer.customer.full_name


def _start(
    engine: Engine, offer: OfferView, channel: str, user_id: int, token: str
) -> Delivery:
    with transaction(engine) as session:
        delivery = Delivery(
            offer_id=offer.id,
            request_token=token,
            channel=channel,
            recipient=_recipient(offer, channel),
            user_id=user_id,
            result=DeliveryResult.PENDING,
            offer_revision=offer.revision,
            created_at=utcnow(),
        )
        session.add(delivery)
        session.flush()
        return delivery


def _finish(
    engine: Engine, delivery_id: int, *, error: str = "", sha256: str = ""
) -> None:
    with transaction(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        now = utcnow()
        delivery.finished_at = now
        delivery.document_sha256 = sha256
        if error:
            delivery.result = DeliveryResult.FAILED
            delivery.error = error
            return
        delivery.result = DeliveryResult.SENT
        record_delivery_success(
            session, delivery.offer_id, now, delivery.offer_revision
        )


def _previous(engine: Engine, token: str) -> DeliveryView | None:
    statement = (
        select(Delivery, User.full_name)
        .join(User, Delivery.user_id == User.id)
        .where(Delivery.request_token == token)
    )
    with reading(engine) as session:
        row = session.execute(statement).first()
        return _delivery_view(*row) if row else None


def _check_deliverable(offer: OfferView, channel: str) -> str:
    """The reason the offer cannot go by this channel, or an empty string."""
    if offer.status != OfferStatus.FOLLOW_UP:
        label = OfferStatus.LABELS[offer.status]
        return f"La oferta {offer.number} está cerrada ({label}); no se entrega."
    if offer.customer is None:
        return "Añada un cliente a la oferta antes de entregarla."
    if channel == DeliveryChannel.EMAIL and not offer.customer.email:
        return (
            f"{offer.customer.full_name} no tiene correo electrónico: añádalo o "
            "imprima la oferta."
        )
    if channel == DeliveryChannel.EMAIL and offer.customer.email_consent_at is None:
        return no_consent_reason(offer)
    return ""


def no_consent_reason(offer: OfferView) -> str:
    """Why the offer cannot go by email to a customer who has not agreed to it."""
    name = offer.customer.full_name if offer.customer else "El cliente"
    return (
        "Sin consentimiento para comunicaciones por correo: "
        f"{name} no ha aceptado recibir comunicaciones por correo electrónico. "
        "Registre su consentimiento o imprima la oferta."
    )


def deliver_offer(
    engine: Engine,
    offer_id: int,
    *,
    channel: str,
    viewer: Viewer,
    request_token: str,
    settings: Settings,
) -> DeliveryOutcome:
    """Hand an offer over now, by email or printed, and record the attempt.

    The viewer must be allowed to see the offer and is recorded as who
    delivered it. The request token makes a repeated click return the first
    attempt's outcome instead of sending again. A failure is recorded, leaves
    the offer as it was, and raises ``DeliveryFailed`` with the reason in
    Spanish; the next attempt needs a new token.
    """
    if channel not in DeliveryChannel.LABELS:
        raise InvalidInput("Forma de entrega desconocida.")
    offer = get_offer(engine, offer_id, viewer)
    user_id = viewer.user_id
    previous = _previous(engine, request_token)
    if previous is not None:
        return _repeat(offer, previous, settings)

    reason = _check_deliverable(offer, channel)
    if reason and offer.status != OfferStatus.FOLLOW_UP:
        raise InvalidState(reason)
    delivery = _start(engine, offer, channel, user_id, request_token)
    if reason:
        _finish(engine, delivery.id, error=reason)
        logger.warning(
            "Offer %s not delivered by %s via %s: refused before sending",
            offer.number,
            user_id,
            channel,
        )
        raise DeliveryFailed(reason)

    pdf, message = _hand_over(engine, offer, channel, delivery, settings)
    logger.info(
        "Offer %s delivered by %s via %s (revision %s)",
        offer.number,
        user_id,
        channel,
        offer.revision,
    )

    done = _previous(engine, request_token)
    return DeliveryOutcome(
        delivery=done, message=message, pdf=pdf, file_name=offer_pdf_filename(offer)
    )


def _hand_over(
    engine: Engine,
    offer: OfferView,
    channel: str,
    delivery: Delivery,
    settings: Settings,
) -> tuple[bytes, str]:
    """Build the PDF, send it if by email, and finish the log row either way."""
    sha256 = ""
    try:
        pdf = build_offer_pdf(offer, settings, now=delivery.created_at)
        sha256 = hashlib.sha256(pdf).hexdigest()
        message = "PDF listo para imprimir."
        if channel == DeliveryChannel.EMAIL:
            where = send_email(build_offer_email(offer, pdf, settings), settings)
            if mail_leaves_machine(settings):
                message = f"Oferta enviada a {offer.customer.email}. {where}"
            else:
                message = f"Correo para {offer.customer.email} preparado. {where}"
    except DeliveryFailed as error:
        _finish(engine, delivery.id, error=error.message, sha256=sha256)
        logger.warning("Offer %s via %s failed", offer.number, channel)
        raise
    except Exception as error:
        reason = (
            "No se pudo preparar el PDF de la oferta por un error inesperado."
            if not sha256
            else "No se pudo enviar el correo por un error inesperado."
        )
        _finish(engine, delivery.id, error=reason, sha256=sha256)
        logger.exception("Offer %s via %s failed unexpectedly", offer.number, channel)
        raise DeliveryFailed(reason) from error
    _finish(engine, delivery.id, sha256=sha256)
    return pdf, message


def _repeat(
    offer: OfferView, previous: DeliveryView, settings: Settings
) -> DeliveryOutcome:
    if previous.result == DeliveryResult.FAILED:
        raise DeliveryFailed(previous.error)
    if previous.result == DeliveryResult.PENDING:
        raise DeliveryFailed("Esta entrega todavía está en curso; espere un momento.")
    pdf = build_offer_pdf(offer, settings, now=previous.created_at)
    return DeliveryOutcome(
        delivery=previous,
        message="Esta entrega ya se había hecho; no se ha repetido.",
        pdf=pdf,
        file_name=offer_pdf_filename(offer),
    )


def preview_offer_pdf(
    engine: Engine, offer_id: int, settings: Settings, viewer: Viewer | None = None
) -> tuple[bytes, str]:
    """The offer's PDF as it would go now, and its file name; nothing is recorded."""
    offer = get_offer(engine, offer_id, viewer)
    return build_offer_pdf(offer, settings, now=utcnow()), offer_pdf_filename(offer)
