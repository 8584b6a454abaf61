"""Follow-up: calls, visits, test drives, emails and notes; an offer's history."""

import logging
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import Engine, select

from lib.db import reading, transaction
from lib.errors import InvalidInput, InvalidState
from lib.formatting import TIMEZONE, day, local
from lib.models import (
    Activity,
    ActivityKind,
    Offer,
    OfferEvent,
    OfferStatus,
    User,
    utcnow,
)
from lib.offers import get_offer
from lib.views import Viewer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActivityView:
    id: int
    kind: str
    happened_at: datetime
    user_name: str
    note: str


@dataclass(frozen=True)
class EventView:
    kind: str
    from_value: str
    to_value: str
    user_name: str
    at: datetime
    note: str


def add_activity(
    engine: Engine,
    offer_id: int,
    *,
    viewer: Viewer,
    kind: str,
    note: str = "",
    happened_at: datetime | None = None,
    happened_on: date | None = None,
    next_contact_on: date | None = None,
    clear_next_contact: bool = False,
) -> ActivityView:
    """Record a follow-up step and, optionally, when to contact the customer next.

    An activity happens now, at ``happened_at``, or on an earlier day
    ``happened_on`` (kept at noon, Madrid time: the day is what was said).
    ``next_contact_on`` None leaves the next contact as it was;
    ``clear_next_contact`` removes it (nothing more is planned).
    """
    if happened_on is not None and happened_on < local(utcnow()).date():
        happened_at = datetime.combine(happened_on, time(12), TIMEZONE)
    if kind not in ActivityKind.LABELS:
        raise InvalidInput("Tipo de actividad desconocido.")
    if kind == ActivityKind.NOTE and not note.strip():
        raise InvalidInput("Escriba la nota.")
    happened_at = happened_at or utcnow()
    if happened_at > utcnow():
        raise InvalidInput("La actividad no puede ser futura: anótela cuando ocurra.")
    if next_contact_on is not None and next_contact_on < local(utcnow()).date():
        raise InvalidInput("La fecha del próximo contacto no puede haber pasado ya.")
    if next_contact_on is not None and clear_next_contact:
        raise InvalidInput("Indique un próximo contacto o ninguno, no las dos cosas.")
    offer_view = get_offer(engine, offer_id, viewer)
    if local(happened_at).date() < local(offer_view.created_at).date():
        raise InvalidInput(
            "La actividad no puede ser anterior a la oferta, creada el "
            f"{day(offer_view.created_at)}."
        )

    with transaction(engine) as session:
        offer = session.get(Offer, offer_id)
        if next_contact_on is not None or clear_next_contact:
            if offer.status != OfferStatus.FOLLOW_UP:
                raise InvalidState(f"La oferta {offer.number} está cerrada.")
            offer.next_contact_on = next_contact_on
        activity = Activity(
            offer_id=offer_id,
            kind=kind,
            happened_at=happened_at,
            user_id=viewer.user_id,
            note=note.strip(),
        )
        session.add(activity)
        session.flush()
        user_name = session.get(User, viewer.user_id).full_name
        view = ActivityView(activity.id, kind, happened_at, user_name, activity.note)
    logger.info("Offer %s activity %s by %s", offer_view.number, kind, viewer.user_id)
    return view


def list_activities(
    engine: Engine, offer_id: int, *, viewer: Viewer | None
) -> list[ActivityView]:
    """An offer's follow-up, newest first."""
    get_offer(engine, offer_id, viewer)
    statement = (
        select(Activity, User.full_name)
        .join(User, Activity.user_id == User.id)
        .where(Activity.offer_id == offer_id)
        .order_by(Activity.happened_at.desc(), Activity.id.desc())
    )
    with reading(engine) as session:
        return [
            ActivityView(a.id, a.kind, a.happened_at, name, a.note)
            for a, name in session.execute(statement)
        ]


def list_events(
    engine: Engine, offer_id: int, *, viewer: Viewer | None
) -> list[EventView]:
    """An offer's history of changes, oldest first."""
    get_offer(engine, offer_id, viewer)
    statement = (
        select(OfferEvent, User.full_name)
        .outerjoin(User, OfferEvent.user_id == User.id)
        .where(OfferEvent.offer_id == offer_id)
        .order_by(OfferEvent.at, OfferEvent.id)
    )
    with reading(engine) as session:
        return [
            EventView(e.kind, e.from_value, e.to_value, name or "", e.at, e.note)
            for e, name in session.execute(statement)
        ]
