"""Offers: created once, followed, won or lost, and found again at scale.

A status changes only through the functions named for the act (``mark_won``,
``mark_lost``, ``reopen_offer``); each checks the starting state, records the
change in the offer's history and raises an error a salesperson can read.
Every read and act takes a ``Viewer``: a salesperson reaches their own offers
only, and an offer out of reach is answered exactly like a missing one.

At scale the list pages by key (never by skipping rows), searches through a
trigram index (FTS5 on SQLite, pg_trgm on PostgreSQL) and reads its counts
from ``offer_counts``, a summary kept in the same transaction as every change.
"""

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import (
    Engine,
    Integer,
    Select,
    and_,
    column,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lib import formatting
from lib.auth import require_manager
from lib.customers import customer_view
from lib.db import reading, transaction
from lib.errors import InvalidInput, InvalidState, NotFound
from lib.models import (
    Availability,
    Customer,
    LostReason,
    Offer,
    OfferCount,
    OfferCounter,
    OfferEvent,
    OfferEventKind,
    OfferStatus,
    Role,
    SecurityEvent,
    User,
    Vehicle,
    utcnow,
)
from lib.pricing import (
    PriceBreakdown,
    break_down,
    registration_rate,
    registration_tax,
)
from lib.search import MIN_INDEXED, contains, query_terms, search_text
from lib.vehicles import vehicle_view
from lib.views import OfferView, SalespersonView, VehicleView, Viewer

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
EXACT_COUNT_LIMIT = 10_000
NOT_FOUND = "No existe esa oferta."
BANDS = formatting.TEMPERATURE_BANDS


class _VersionedCache:
    """Results of expensive reads, kept while the data's version stays the same.

    The database moves ``data_versions`` on every write to the offers and
    what they show (triggers, migration 0003), in every process; a result is
    served again only while that number is unchanged, so it is never stale.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.entries: OrderedDict[object, tuple[int, object]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: object, version: int) -> object | None:
        with self.lock:
            found = self.entries.get(key)
            if found is None or found[0] != version:
                return None
            self.entries.move_to_end(key)
            return found[1]

    def put(self, key: object, version: int, value: object) -> None:
        with self.lock:
            self.entries[key] = (version, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


_cache = _VersionedCache()
_VERSION = text("SELECT value FROM data_versions WHERE name = 'offers'")


def data_version(session: Session) -> int:
    """The current version of the offers' data."""
    return int(session.scalar(_VERSION) or 0)


def _scope(engine: Engine, viewer: Viewer | None) -> tuple[str, int | None]:
    seen = None if viewer is None or viewer.sees_all else viewer.user_id
    return (engine.url.render_as_string(hide_password=True), seen)


def band_of(temperature: float) -> int:
    """The index of a temperature's band in ``formatting.TEMPERATURE_BANDS``."""
    for index, (upper, _icon, _label) in enumerate(BANDS):
        if temperature < upper:
            return index
    return len(BANDS) - 1


def offer_view(offer: Offer, lost_reason: str = "") -> OfferView:
    """The plain picture of an offer row and its vehicle, customer and salesperson."""
    salesperson = offer.salesperson
    return OfferView(
        id=offer.id,
        number=offer.number,
        status=offer.status,
        created_at=offer.created_at,
        last_delivered_at=offer.last_delivered_at,
        delivery_count=offer.delivery_count,
        temperature=offer.temperature,
        notes=offer.notes,
        prices=break_down(
            offer.price_cents,
            offer.discount_cents,
            options_cents=offer.options_cents,
            transport_cents=offer.transport_cents,
            registration_tax_cents=offer.registration_tax_cents,
        ),
        vehicle=vehicle_view(offer.vehicle),
        customer=customer_view(offer.customer) if offer.customer else None,
        salesperson=SalespersonView(
            id=salesperson.id,
            full_name=salesperson.full_name,
            email=salesperson.email,
            phone=salesperson.phone,
        ),
        valid_until=offer.valid_until,
        revision=offer.revision,
        delivered_revision=offer.delivered_revision,
        next_contact_on=offer.next_contact_on,
        closed_at=offer.closed_at,
        lost_reason=lost_reason,
        competitor=" ".join(
            part for part in (offer.competitor_make, offer.competitor_model) if part
        ),
    )


def _dialect_insert(session: Session) -> object:
    return sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert


def _next_number(session: Session, year: int) -> str:
    statement = (
        _dialect_insert(session)(OfferCounter)
        .values(year=year, last_value=1)
        .on_conflict_do_update(
            index_elements=[OfferCounter.year],
            set_={"last_value": OfferCounter.last_value + 1},
        )
        .returning(OfferCounter.last_value)
    )
    value = session.execute(statement).scalar_one()
    return f"{year}-{value:06d}"


def _count(
    session: Session, salesperson_id: int, status: str, band: int, delta: int
) -> None:
    statement = (
        _dialect_insert(session)(OfferCount)
        .values(salesperson_id=salesperson_id, status=status, band=band, offers=delta)
        .on_conflict_do_update(
            index_elements=[
                OfferCount.salesperson_id,
                OfferCount.status,
                OfferCount.band,
            ],
            set_={"offers": OfferCount.offers + delta},
        )
    )
    session.execute(statement)


def _recount(session: Session, offer: Offer, before: tuple[int, str, int]) -> None:
    """Move an offer in the summary from where it was to where it is."""
    after = (offer.salesperson_id, offer.status, offer.band)
    if after == before:
        return
    # Two offers moving in opposite directions (band 2 to 3 and 3 to 2) would
    # lock the same two summary rows in crossing order: take them in key order.
    for key, delta in sorted([(before, -1), (after, 1)]):
        _count(session, *key, delta)


def _event(
    session: Session,
    offer: Offer,
    kind: str,
    viewer: Viewer | None,
    *,
    from_value: str = "",
    to_value: str = "",
    note: str = "",
) -> None:
    session.add(
        OfferEvent(
            offer_id=offer.id,
            kind=kind,
            from_value=from_value,
            to_value=to_value,
            user_id=viewer.user_id if viewer else None,
            at=utcnow(),
            note=note,
        )
    )


def _check_temperature(temperature: float) -> None:
    if not 0 <= temperature <= 1:
        raise InvalidInput("La temperatura debe estar entre 0 % y 100 %.")


def _existing_for_token(engine: Engine, request_token: str) -> OfferView | None:
    with reading(engine) as session:
        offer = session.scalar(
            select(Offer).where(Offer.request_token == request_token)
        )
        return offer_view(offer) if offer else None


def _tax_for(vehicle: Vehicle, price: int, options: int, discount: int) -> int:
    rate = registration_rate(vehicle.co2_gkm, vehicle.condition)
    if rate is None:
        raise InvalidInput(
            "Indique las emisiones de CO2 (g/km) del vehículo nuevo: sin ellas no se "
            "puede calcular el impuesto de matriculación."
        )
    return registration_tax(price, options, discount, rate)


def preview_prices(
    vehicle: VehicleView,
    *,
    discount_cents: int = 0,
    options_cents: int = 0,
    transport_cents: int = 0,
    co2_gkm: int | None = None,
) -> PriceBreakdown:
    """The lines an offer for this vehicle would have, before it is stored."""
    rate = registration_rate(
        vehicle.co2_gkm if vehicle.co2_gkm is not None else co2_gkm, vehicle.condition
    )
    if rate is None:
        raise InvalidInput(
            "Indique las emisiones de CO2 (g/km) del vehículo nuevo: sin ellas no se "
            "puede calcular el impuesto de matriculación."
        )
    return break_down(
        vehicle.price_cents,
        discount_cents,
        options_cents=options_cents,
        transport_cents=transport_cents,
        registration_tax_cents=registration_tax(
            vehicle.price_cents, options_cents, discount_cents, rate
        ),
    )


def create_offer(
    engine: Engine,
    *,
    request_token: str,
    vehicle_id: int,
    salesperson_id: int,
    price_cents: int,
    temperature: float,
    discount_cents: int = 0,
    options_cents: int = 0,
    transport_cents: int = 0,
    co2_gkm: int | None = None,
    customer_id: int | None = None,
    notes: str = "",
    valid_days: int = 15,
    now: datetime | None = None,
) -> OfferView:
    """Store a new offer en Seguimiento with the next number.

    The request token comes from the page that asks; the same token twice (a
    double click, a rerun) returns the offer already stored instead of a second.
    ``co2_gkm`` completes a new vehicle whose emissions were not known yet.
    """
    existing = _existing_for_token(engine, request_token)
    if existing:
        return existing
    break_down(
        price_cents,
        discount_cents,
        options_cents=options_cents,
        transport_cents=transport_cents,
    )
    _check_temperature(temperature)
    if co2_gkm is not None and not 0 <= co2_gkm <= 1000:
        raise InvalidInput("Las emisiones de CO2 deben estar entre 0 y 1.000 g/km.")
    now = now or utcnow()

    try:
        with transaction(engine) as session:
            vehicle = session.get(Vehicle, vehicle_id)
            if vehicle is None:
                raise NotFound("El vehículo ya no existe en el stock.")
            if vehicle.availability == Availability.SOLD:
                raise InvalidState("Ese vehículo ya está vendido.")
            if vehicle.co2_gkm is None and co2_gkm is not None:
                vehicle.co2_gkm = co2_gkm
            if session.get(User, salesperson_id) is None:
                raise NotFound("El comercial no existe.")
            customer = session.get(Customer, customer_id) if customer_id else None
            if customer_id is not None and customer is None:
                raise NotFound("El cliente no existe.")
            offer = Offer(
                number=_next_number(session, formatting.local(now).year),
                request_token=request_token,
                status=OfferStatus.FOLLOW_UP,
                vehicle_id=vehicle_id,
                customer_id=customer_id,
                salesperson_id=salesperson_id,
                price_cents=price_cents,
                discount_cents=discount_cents,
                options_cents=options_cents,
                transport_cents=transport_cents,
                registration_tax_cents=_tax_for(
                    vehicle, price_cents, options_cents, discount_cents
                ),
                temperature=temperature,
                band=band_of(temperature),
                notes=notes.strip(),
                created_at=now,
                updated_at=now,
                valid_until=formatting.local(now).date() + timedelta(days=valid_days),
                revision=1,
            )
            offer.search_text = search_text(offer, customer, vehicle)
            session.add(offer)
            session.flush()
            _count(session, salesperson_id, OfferStatus.FOLLOW_UP, offer.band, 1)
            session.add(
                OfferEvent(
                    offer_id=offer.id,
                    kind=OfferEventKind.CREATED,
                    to_value=OfferStatus.FOLLOW_UP,
                    user_id=salesperson_id,
                    at=now,
                )
            )
            number, offer_id = offer.number, offer.id
    except IntegrityError:
        # Another process stored the same request first: that offer is the answer.
        existing = _existing_for_token(engine, request_token)
        if existing is None:
            raise
        return existing

    logger.info("Offer %s created by %s", number, salesperson_id)
    return get_offer(engine, offer_id)


def _deny(session: Session, viewer: Viewer, offer_ref: object) -> None:
    session.add(
        SecurityEvent(
            user_id=viewer.user_id,
            event="ACCESS_DENIED",
            detail=f"offer {offer_ref}",
            at=utcnow(),
        )
    )


def _visible(offer: Offer | None, viewer: Viewer | None) -> bool:
    if offer is None:
        return False
    return viewer is None or viewer.sees_all or offer.salesperson_id == viewer.user_id


def _refused(engine: Engine, viewer: Viewer, offer_ref: object) -> NotFound:
    logger.warning("User %s refused offer %s", viewer.user_id, offer_ref)
    with transaction(engine) as session:
        _deny(session, viewer, offer_ref)
    return NotFound(NOT_FOUND)


def _reason_label(session: Session, offer: Offer) -> str:
    if offer.lost_reason_id is None:
        return ""
    reason = session.get(LostReason, offer.lost_reason_id)
    return reason.label if reason else ""


def get_offer(engine: Engine, offer_id: int, viewer: Viewer | None = None) -> OfferView:
    """One offer by id, if the viewer may see it."""
    with reading(engine) as session:
        offer = session.get(Offer, offer_id)
        if offer is not None and _visible(offer, viewer):
            return offer_view(offer, _reason_label(session, offer))
    if offer is not None and viewer is not None:
        raise _refused(engine, viewer, offer_id)
    raise NotFound(NOT_FOUND)


def find_offer(engine: Engine, number: str, viewer: Viewer | None = None) -> OfferView:
    """One offer by its number (``2026-000123``), if the viewer may see it."""
    with reading(engine) as session:
        offer_id = session.scalar(
            select(Offer.id).where(Offer.number == number.strip())
        )
    if offer_id is None:
        raise NotFound(NOT_FOUND)
    return get_offer(engine, offer_id, viewer)


def _locked_offer(session: Session, offer_id: int, viewer: Viewer | None) -> Offer:
    offer = session.scalar(
        select(Offer).where(Offer.id == offer_id).with_for_update(of=Offer)
    )
    if offer is None:
        raise NotFound(NOT_FOUND)
    if not _visible(offer, viewer):
        raise NotFound(NOT_FOUND)
    return offer


def _act(engine: Engine, offer_id: int, viewer: Viewer | None, act: object) -> str:
    """Run ``act(session, offer)`` on a locked offer; a refusal is logged as such."""
    try:
        with transaction(engine) as session:
            offer = _locked_offer(session, offer_id, viewer)
            act(session, offer)
            return offer.number
    except NotFound:
        if viewer is not None:
            with reading(engine) as session:
                exists = session.get(Offer, offer_id) is not None
            if exists:
                raise _refused(engine, viewer, offer_id) from None
        raise


def _who(viewer: Viewer | None) -> int | None:
    return viewer.user_id if viewer else None


def attach_customer(
    engine: Engine,
    offer_id: int,
    customer_id: int,
    *,
    viewer: Viewer | None = None,
) -> OfferView:
    """Give an offer without customer its customer."""

    def act(session: Session, offer: Offer) -> None:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFound("No existe ese cliente.")
        if offer.customer_id == customer_id:
            return
        if offer.customer_id is not None:
            raise InvalidState(f"La oferta {offer.number} ya tiene cliente.")
        if offer.status != OfferStatus.FOLLOW_UP:
            raise InvalidState(f"La oferta {offer.number} ya está cerrada.")
        offer.customer_id = customer_id
        offer.updated_at = utcnow()
        offer.revision += 1
        offer.search_text = search_text(offer, customer, offer.vehicle)
        _event(
            session, offer, OfferEventKind.CUSTOMER, viewer, to_value=customer.full_name
        )

    number = _act(engine, offer_id, viewer, act)
    logger.info("Offer %s given customer %s by %s", number, customer_id, _who(viewer))
    return get_offer(engine, offer_id)


def update_terms(
    engine: Engine,
    offer_id: int,
    *,
    viewer: Viewer | None,
    discount_cents: int,
    options_cents: int,
    transport_cents: int,
    temperature: float,
    notes: str,
) -> OfferView:
    """Change an open offer's price lines, temperature and notes; a new revision."""
    _check_temperature(temperature)

    def act(session: Session, offer: Offer) -> None:
        if offer.status != OfferStatus.FOLLOW_UP:
            raise InvalidState(
                f"La oferta {offer.number} está cerrada; reábrala para cambiarla."
            )
        break_down(
            offer.price_cents,
            discount_cents,
            options_cents=options_cents,
            transport_cents=transport_cents,
        )
        before = (offer.salesperson_id, offer.status, offer.band)
        changed = (
            offer.discount_cents != discount_cents
            or offer.options_cents != options_cents
            or offer.transport_cents != transport_cents
            or offer.notes != notes.strip()
        )
        old_temperature = offer.temperature
        offer.discount_cents = discount_cents
        offer.options_cents = options_cents
        offer.transport_cents = transport_cents
        offer.registration_tax_cents = _tax_for(
            offer.vehicle, offer.price_cents, options_cents, discount_cents
        )
        offer.notes = notes.strip()
        offer.temperature = temperature
        offer.band = band_of(temperature)
        offer.updated_at = utcnow()
        if changed:
            # Only what the customer reads makes a new revision of the document.
            offer.revision += 1
            _event(
                session,
                offer,
                OfferEventKind.TERMS,
                viewer,
                to_value=f"Revisión {offer.revision}",
            )
        if old_temperature != temperature:
            _event(
                session,
                offer,
                OfferEventKind.TERMS,
                viewer,
                from_value=formatting.percent(old_temperature),
                to_value=formatting.percent(temperature),
                note="Temperatura",
            )
        _recount(session, offer, before)

    number = _act(engine, offer_id, viewer, act)
    logger.info("Offer %s terms changed by %s", number, _who(viewer))
    return get_offer(engine, offer_id)


def _close_to(
    engine: Engine, offer_id: int, status: str, viewer: Viewer | None, finish: object
) -> OfferView:
    def act(session: Session, offer: Offer) -> None:
        if offer.status != OfferStatus.FOLLOW_UP:
            label = OfferStatus.LABELS[offer.status]
            raise InvalidState(
                f"La oferta {offer.number} ya está cerrada como {label}."
            )
        before = (offer.salesperson_id, offer.status, offer.band)
        offer.status = status
        offer.updated_at = utcnow()
        note = finish(session, offer)
        _event(
            session,
            offer,
            OfferEventKind.STATUS,
            viewer,
            from_value=OfferStatus.FOLLOW_UP,
            to_value=status,
            note=note,
        )
        _recount(session, offer, before)

    number = _act(engine, offer_id, viewer, act)
    logger.info("Offer %s marked %s by %s", number, status, _who(viewer))
    return get_offer(engine, offer_id)


def mark_won(
    engine: Engine,
    offer_id: int,
    *,
    viewer: Viewer | None = None,
    sold_on: date | None = None,
) -> OfferView:
    """Close an offer en Seguimiento as Éxito on its sale date; the vehicle is sold."""

    def finish(session: Session, offer: Offer) -> str:
        sale = sold_on or formatting.local(utcnow()).date()
        if sale > formatting.local(utcnow()).date():
            raise InvalidInput("La fecha de venta no puede ser futura.")
        created_on = formatting.local(offer.created_at).date()
        if sale < created_on:
            raise InvalidInput(
                "La fecha de venta no puede ser anterior a la oferta, creada el "
                f"{formatting.day(created_on)}."
            )
        offer.closed_at = datetime.combine(
            sale, datetime.min.time(), formatting.TIMEZONE
        )
        offer.next_contact_on = None
        offer.vehicle.availability = Availability.SOLD
        return f"Venta el {formatting.day(sale)}"

    return _close_to(engine, offer_id, OfferStatus.WON, viewer, finish)


def mark_lost(
    engine: Engine,
    offer_id: int,
    *,
    viewer: Viewer | None = None,
    reason_id: int | None = None,
    competitor_make: str = "",
    competitor_model: str = "",
    note: str = "",
) -> OfferView:
    """Close an offer en Seguimiento as Fracaso, with its reason from the list."""

    def finish(session: Session, offer: Offer) -> str:
        reason = session.get(LostReason, reason_id) if reason_id is not None else None
        if reason is None or not reason.active:
            raise InvalidInput("Elija el motivo del fracaso.")
        offer.lost_reason_id = reason.id
        offer.competitor_make = " ".join(competitor_make.split())[:80]
        offer.competitor_model = " ".join(competitor_model.split())[:120]
        offer.closed_at = utcnow()
        offer.next_contact_on = None
        competitor = " ".join(
            p for p in (offer.competitor_make, offer.competitor_model) if p
        )
        return " · ".join(p for p in (reason.label, competitor, note.strip()) if p)

    return _close_to(engine, offer_id, OfferStatus.LOST, viewer, finish)


def reopen_offer(
    engine: Engine, offer_id: int, *, viewer: Viewer | None, note: str
) -> OfferView:
    """Bring an Éxito or Fracaso back to en Seguimiento; the reason is required."""
    if not note.strip():
        raise InvalidInput("Indique por qué se reabre la oferta.")

    def act(session: Session, offer: Offer) -> None:
        if offer.status == OfferStatus.FOLLOW_UP:
            raise InvalidState(f"La oferta {offer.number} ya está en Seguimiento.")
        before = (offer.salesperson_id, offer.status, offer.band)
        previous = offer.status
        if (
            previous == OfferStatus.WON
            and offer.vehicle.availability == Availability.SOLD
        ):
            offer.vehicle.availability = Availability.RESERVED
        offer.status = OfferStatus.FOLLOW_UP
        offer.closed_at = None
        offer.lost_reason_id = None
        offer.competitor_make = ""
        offer.competitor_model = ""
        offer.updated_at = utcnow()
        _event(
            session,
            offer,
            OfferEventKind.REOPENED,
            viewer,
            from_value=previous,
            to_value=OfferStatus.FOLLOW_UP,
            note=note.strip(),
        )
        _recount(session, offer, before)

    number = _act(engine, offer_id, viewer, act)
    logger.info("Offer %s reopened by %s", number, _who(viewer))
    return get_offer(engine, offer_id)


def reassign_offer(
    engine: Engine, offer_id: int, salesperson_id: int, *, viewer: Viewer
) -> OfferView:
    """Give an offer to another salesperson; sales managers only."""
    require_manager(
        engine,
        viewer,
        f"reassign offer {offer_id}",
        "Solo un gerente puede reasignar ofertas.",
    )

    def act(session: Session, offer: Offer) -> None:
        target = session.get(User, salesperson_id)
        if target is None or not target.active:
            raise NotFound("No existe ese comercial.")
        if offer.salesperson_id == salesperson_id:
            return
        before = (offer.salesperson_id, offer.status, offer.band)
        previous = offer.salesperson.full_name
        offer.salesperson_id = salesperson_id
        offer.updated_at = utcnow()
        # The document names the salesperson: a new revision of it.
        offer.revision += 1
        _event(
            session,
            offer,
            OfferEventKind.REASSIGNED,
            viewer,
            from_value=previous,
            to_value=target.full_name,
        )
        session.flush()
        _recount(session, offer, before)

    number = _act(engine, offer_id, viewer, act)
    logger.info(
        "Offer %s reassigned to %s by %s", number, salesperson_id, viewer.user_id
    )
    return get_offer(engine, offer_id)


def record_delivery_success(
    session: Session, offer_id: int, when: datetime, revision: int | None = None
) -> None:
    """Move an offer's last delivery date, count and delivered revision.

    Called inside the delivery's own transaction, on success only.
    """
    values: dict[str, object] = {
        "last_delivered_at": when,
        "delivery_count": Offer.delivery_count + 1,
    }
    if revision is not None:
        values["delivered_revision"] = revision
    session.execute(update(Offer).where(Offer.id == offer_id).values(**values))


@dataclass(frozen=True)
class OfferFilter:
    """What the Ofertas list is narrowed to; every field is optional."""

    status: str | None = None
    salesperson_id: int | None = None
    make: str = ""
    model: str = ""
    band: int | None = None
    created_from: date | None = None
    created_to: date | None = None
    delivered_from: date | None = None
    delivered_to: date | None = None
    due_only: bool = False
    expired_only: bool = False
    search: str = ""
    # How the list is sorted: a key of ``ORDERS``. Counts and the chart ignore it.
    order: str = "created_desc"

    @property
    def summary_only(self) -> bool:
        """True when the counts can come from the summary table."""
        return not (
            self.make
            or self.model
            or self.created_from
            or self.created_to
            or self.delivered_from
            or self.delivered_to
            or self.due_only
            or self.expired_only
            or self.search.strip()
        )


def _madrid_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), formatting.TIMEZONE)


BROAD_MATCHES = 2_000


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _broad(engine: Engine, term: str) -> bool:
    """True when a search term matches so many offers that reading them in date
    order and keeping the matches beats sorting every match."""
    capped = text(
        "SELECT count(*) FROM (SELECT rowid FROM offer_search "
        "WHERE offer_search MATCH :phrase LIMIT :cap)"
    )
    with reading(engine) as session:
        found = session.scalar(
            capped, {"phrase": _fts_phrase(term), "cap": BROAD_MATCHES + 1}
        )
    return found > BROAD_MATCHES


def _search_condition(engine: Engine, term: str) -> object:
    if len(term) < MIN_INDEXED:
        return contains(Offer.search_text, term)
    if engine.dialect.name == "sqlite":
        matches = (
            text("SELECT rowid FROM offer_search WHERE offer_search MATCH :phrase")
            .bindparams(phrase=_fts_phrase(term))
            .columns(column("rowid", Integer))
        )
        # "+ 0" keeps SQLite from fetching every match by rowid and sorting
        # them all when most offers match; it then walks the date index.
        target = Offer.id + 0 if _broad(engine, term) else Offer.id
        return target.in_(matches)
    # pg_trgm's index serves LIKE '%...%' on PostgreSQL.
    return contains(Offer.search_text, term)


def _conditions(
    engine: Engine, viewer: Viewer | None, filters: OfferFilter
) -> list[object]:
    conditions: list[object] = []
    if viewer is not None and not viewer.sees_all:
        conditions.append(Offer.salesperson_id == viewer.user_id)
    if filters.status is not None:
        if filters.status not in OfferStatus.LABELS:
            raise InvalidInput("Estado desconocido.")
        conditions.append(Offer.status == filters.status)
    if filters.salesperson_id is not None:
        conditions.append(Offer.salesperson_id == filters.salesperson_id)
    if filters.band is not None:
        conditions.append(Offer.band == filters.band)
    if filters.make or filters.model:
        vehicles = select(Vehicle.id)
        if filters.make:
            vehicles = vehicles.where(Vehicle.make == filters.make)
        if filters.model:
            vehicles = vehicles.where(Vehicle.model == filters.model)
        conditions.append(Offer.vehicle_id.in_(vehicles))
    if filters.created_from:
        conditions.append(Offer.created_at >= _madrid_start(filters.created_from))
    if filters.created_to:
        conditions.append(
            Offer.created_at < _madrid_start(filters.created_to + timedelta(days=1))
        )
    if filters.delivered_from:
        conditions.append(
            Offer.last_delivered_at >= _madrid_start(filters.delivered_from)
        )
    if filters.delivered_to:
        conditions.append(
            Offer.last_delivered_at
            < _madrid_start(filters.delivered_to + timedelta(days=1))
        )
    today = formatting.local(utcnow()).date()
    if filters.due_only:
        conditions.append(Offer.status == OfferStatus.FOLLOW_UP)
        conditions.append(Offer.next_contact_on <= today)
    if filters.expired_only:
        conditions.append(Offer.status == OfferStatus.FOLLOW_UP)
        conditions.append(Offer.valid_until < today)
    for term in query_terms(filters.search):
        conditions.append(_search_condition(engine, term))
    return conditions


# The list's sort orders: (label, column, descending). Each has an index that
# starts with the column (after the status or the salesperson where a filter
# gives them), so a page reads only its own rows, however deep it is.
ORDERS = {
    "created_desc": ("Más recientes", Offer.created_at, True),
    "created_asc": ("Más antiguas", Offer.created_at, False),
    "temperature_desc": ("Más calientes", Offer.temperature, True),
    "temperature_asc": ("Más frías", Offer.temperature, False),
}


@dataclass(frozen=True)
class PageCursor:
    """Where a page starts: after the offer with this sort value and ``id``."""

    value: object
    id: int


@dataclass(frozen=True)
class OfferPage:
    """One page of the offer list, the number that match, and where the next starts."""

    offers: list[OfferView]
    total: int
    total_is_exact: bool
    next_cursor: PageCursor | None
    page_size: int = PAGE_SIZE
    lost_reasons: dict[int, str] = field(default_factory=dict)


def _ordered_ids(
    conditions: list[object], order: str, cursor: PageCursor | None, limit: int
) -> Select:
    if order not in ORDERS:
        raise InvalidInput("Orden desconocido.")
    _label, sort_column, descending = ORDERS[order]
    statement = select(Offer.id, sort_column.label("sort_value")).where(
        and_(True, *conditions)
    )
    if cursor is not None:
        # Rows after the cursor: (value, id) past the last row of the page.
        if descending:
            after = or_(
                sort_column < cursor.value,
                and_(sort_column == cursor.value, Offer.id < cursor.id),
            )
        else:
            after = or_(
                sort_column > cursor.value,
                and_(sort_column == cursor.value, Offer.id > cursor.id),
            )
        statement = statement.where(after)
    if descending:
        return statement.order_by(sort_column.desc(), Offer.id.desc()).limit(limit)
    return statement.order_by(sort_column.asc(), Offer.id.asc()).limit(limit)


def _in_summary(
    statement: Select, viewer: Viewer | None, filters: OfferFilter
) -> Select:
    """Narrow a query of ``offer_counts`` to the viewer and the filter."""
    if viewer is not None and not viewer.sees_all:
        statement = statement.where(OfferCount.salesperson_id == viewer.user_id)
    if filters.status is not None:
        statement = statement.where(OfferCount.status == filters.status)
    if filters.salesperson_id is not None:
        statement = statement.where(OfferCount.salesperson_id == filters.salesperson_id)
    if filters.band is not None:
        statement = statement.where(OfferCount.band == filters.band)
    return statement


def count_offers(
    engine: Engine, viewer: Viewer | None, filters: OfferFilter
) -> tuple[int, bool]:
    """How many offers match, and whether that number is exact.

    Counts that only filter by status, salesperson and band come from the
    summary; others are counted up to ``EXACT_COUNT_LIMIT`` and then said to
    be "more than".
    """
    if filters.summary_only:
        statement = _in_summary(
            select(func.coalesce(func.sum(OfferCount.offers), 0)), viewer, filters
        )
        with reading(engine) as session:
            return int(session.scalar(statement)), True
    conditions = _conditions(engine, viewer, filters)
    capped = (
        select(Offer.id).where(and_(True, *conditions)).limit(EXACT_COUNT_LIMIT + 1)
    )
    with reading(engine) as session:
        found = session.scalar(select(func.count()).select_from(capped.subquery()))
    return min(found, EXACT_COUNT_LIMIT), found <= EXACT_COUNT_LIMIT


def list_offers(
    engine: Engine,
    *,
    viewer: Viewer | None = None,
    filters: OfferFilter | None = None,
    cursor: PageCursor | None = None,
    page_size: int = PAGE_SIZE,
    status: str | None = None,
    search: str = "",
    with_total: bool = True,
) -> OfferPage:
    """One page of the offers that match, in the filter's order, after ``cursor``.

    ``with_total=False`` skips counting, for a caller that counts otherwise
    (the Ofertas page sums its chart's groups instead).
    """
    filters = filters or OfferFilter(status=status, search=search)
    # Due follow-ups and expiry are relative to today: a new day, a new page.
    today = formatting.local(utcnow()).date()
    key = ("page", *_scope(engine, viewer), filters, cursor, page_size, today)

    with reading(engine) as session:
        version = data_version(session)
        cached = _cache.get(key, version)
        if cached is None:
            conditions = _conditions(engine, viewer, filters)
            found = session.execute(
                _ordered_ids(conditions, filters.order, cursor, page_size + 1)
            ).all()
            # The views are frozen and hold only stored data: while the
            # version stands, a rerun shows them without loading a row.
            cached = (found, _page_views(engine, session, found[:page_size], version))
            _cache.put(key, version, cached)
        found, views = cached
    total, exact = count_offers(engine, viewer, filters) if with_total else (-1, False)
    next_cursor = None
    if len(found) > page_size:
        last = found[page_size - 1]
        next_cursor = PageCursor(value=last.sort_value, id=last.id)
    return OfferPage(
        offers=list(views),
        total=total,
        total_is_exact=exact,
        next_cursor=next_cursor,
        page_size=page_size,
    )


def _page_views(
    engine: Engine, session: Session, found: list, version: int
) -> tuple[OfferView, ...]:
    """The offers of one page, in the page's order, as views."""
    page_ids = [row.id for row in found]
    rows = session.scalars(select(Offer).where(Offer.id.in_(page_ids))).unique()
    reasons_key = ("reasons", *_scope(engine, None))
    reasons = _cache.get(reasons_key, version)
    if reasons is None:
        reasons = dict(session.execute(select(LostReason.id, LostReason.label)).all())
        _cache.put(reasons_key, version, reasons)
    by_id = {
        offer.id: offer_view(offer, reasons.get(offer.lost_reason_id, ""))
        for offer in rows
    }
    return tuple(by_id[offer_id] for offer_id in page_ids)


def status_counts(engine: Engine, viewer: Viewer | None = None) -> dict[str, int]:
    """How many offers there are in each status, from the summary."""
    statement = select(OfferCount.status, func.sum(OfferCount.offers)).group_by(
        OfferCount.status
    )
    if viewer is not None and not viewer.sees_all:
        statement = statement.where(OfferCount.salesperson_id == viewer.user_id)
    with reading(engine) as session:
        counts = {status: int(total) for status, total in session.execute(statement)}
    return {status: counts.get(status, 0) for status in OfferStatus.LABELS}


def temperature_band_counts(
    engine: Engine,
    *,
    viewer: Viewer | None = None,
    filters: OfferFilter | None = None,
    status: str | None = None,
    search: str = "",
) -> pd.DataFrame:
    """Offers of a filter counted by temperature band and status.

    From the summary when the filter allows it; otherwise grouped in SQL.
    """
    filters = filters or OfferFilter(status=status, search=search)
    if filters.summary_only:
        statement = _in_summary(
            select(OfferCount.band, OfferCount.status, func.sum(OfferCount.offers)),
            viewer,
            filters,
        ).group_by(OfferCount.band, OfferCount.status)
    else:
        statement = None
    # Due follow-ups and expiry are relative to today: a new day, new groups.
    today = formatting.local(utcnow()).date()
    key = ("bands", *_scope(engine, viewer), filters, today)
    with reading(engine) as session:
        # The summary is a few rows; other filters group the offers, which
        # is worth keeping until the data changes.
        version = None if statement is not None else data_version(session)
        rows = None if version is None else _cache.get(key, version)
        if rows is None:
            if statement is None:
                statement = (
                    select(Offer.band, Offer.status, func.count(Offer.id))
                    .where(and_(True, *_conditions(engine, viewer, filters)))
                    .group_by(Offer.band, Offer.status)
                )
            rows = [
                (band, status, int(n))
                for band, status, n in session.execute(statement)
                if n
            ]
            if version is not None:
                _cache.put(key, version, rows)
    labelled = [
        (BANDS[band][2], OfferStatus.LABELS[status], n) for band, status, n in rows
    ]
    return pd.DataFrame(labelled, columns=["band", "status", "offers"])


OFFER_TABLE_COLUMNS = [
    "Número",
    "Estado",
    "Creada",
    "Última entrega",
    "Cliente",
    "Teléfono",
    "Correo",
    "Temperatura",
    "Vehículo",
    "Modelo",
    "Bastidor",
    "Nº pedido",
    "Nº comisión",
    "Total",
    "Comercial",
    "Próximo contacto",
    "Avisos",
]


def _warnings(offer: OfferView, today: date) -> str:
    flags = []
    if offer.expired(today):
        flags.append("⌛ Caducada")
    if (
        offer.status == OfferStatus.FOLLOW_UP
        and offer.next_contact_on
        and offer.next_contact_on <= today
    ):
        flags.append("⏰ Contactar")
    if offer.changed_since_delivery:
        flags.append("✏️ Cambiada")
    return " ".join(flags)


def offers_table(offers: list[OfferView]) -> pd.DataFrame:
    """The Ofertas list as the page shows it, every value formatted in Spanish."""
    today = formatting.local(utcnow()).date()
    rows = []
    for offer in offers:
        customer = offer.customer
        vehicle = offer.vehicle
        rows.append(
            {
                "Número": offer.number,
                "Estado": OfferStatus.LABELS[offer.status],
                "Creada": formatting.day(offer.created_at),
                "Última entrega": formatting.day(offer.last_delivered_at),
                "Cliente": customer.full_name if customer else "Sin cliente",
                "Teléfono": formatting.phone(customer.phone) if customer else "",
                "Correo": (customer.email or "") if customer else "",
                "Temperatura": formatting.temperature(offer.temperature),
                "Vehículo": f"{Availability.ICONS[vehicle.availability]} "
                f"{Availability.LABELS[vehicle.availability]}",
                "Modelo": vehicle.title,
                "Bastidor": vehicle.vin or "",
                "Nº pedido": vehicle.order_number or "",
                "Nº comisión": vehicle.commission_number or "",
                "Total": formatting.money(offer.prices.total_cents),
                "Comercial": offer.salesperson.full_name,
                "Próximo contacto": formatting.day(offer.next_contact_on),
                "Avisos": _warnings(offer, today),
            }
        )
    return pd.DataFrame(rows, columns=OFFER_TABLE_COLUMNS)


def _distinct(engine: Engine, key: tuple, statement: Select) -> list[str]:
    with reading(engine) as session:
        version = data_version(session)
        found = _cache.get(key, version)
        if found is None:
            found = list(session.scalars(statement))
            _cache.put(key, version, found)
    return found


def vehicle_makes(engine: Engine) -> list[str]:
    """The makes of the vehicles, for the filter; kept until the data changes."""
    statement = select(Vehicle.make).distinct().order_by(Vehicle.make)
    return _distinct(engine, ("makes", *_scope(engine, None)), statement)


def vehicle_models(engine: Engine, make: str) -> list[str]:
    """The models of one make, for the filter."""
    statement = (
        select(Vehicle.model)
        .where(Vehicle.make == make)
        .distinct()
        .order_by(Vehicle.model)
    )
    return _distinct(engine, ("models", *_scope(engine, None), make), statement)


def vehicle_in_other_offers(
    engine: Engine,
    vehicle_id: int,
    *,
    excluding: int | None = None,
    viewer: Viewer | None = None,
) -> list[str]:
    """Open or won offers already using this vehicle, its VIN or commission number.

    An offer outside the viewer's reach is named only by its status, so that a
    salesperson learns of the clash without reading another's pipeline.
    """
    with reading(engine) as session:
        vehicle = session.get(Vehicle, vehicle_id)
        if vehicle is None:
            return []
        same = [Vehicle.id == vehicle_id]
        if vehicle.vin:
            same.append(Vehicle.vin == vehicle.vin)
        if vehicle.commission_number:
            same.append(Vehicle.commission_number == vehicle.commission_number)
        statement = (
            select(Offer.number, Offer.status, Offer.salesperson_id, User.full_name)
            .join(Vehicle, Offer.vehicle_id == Vehicle.id)
            .join(User, Offer.salesperson_id == User.id)
            .where(or_(*same))
            .where(Offer.status.in_([OfferStatus.FOLLOW_UP, OfferStatus.WON]))
            .order_by(Offer.number)
            .limit(20)
        )
        if excluding is not None:
            statement = statement.where(Offer.id != excluding)
        rows = session.execute(statement).all()
    seen = None if viewer is None or viewer.sees_all else viewer.user_id
    return [
        f"{number} ({OfferStatus.LABELS[status]}, {name})"
        if seen is None or salesperson_id == seen
        else f"una oferta de otro comercial ({OfferStatus.LABELS[status]})"
        for number, status, salesperson_id, name in rows
    ]


def salespeople_with_role(engine: Engine) -> list[SalespersonView]:
    """Active salespeople and managers, by name, for filters and reassignment."""
    statement = (
        select(User)
        .where(User.active, User.role.in_([Role.SALES, Role.MANAGER]))
        .order_by(User.full_name)
    )
    key = ("salespeople", *_scope(engine, None))
    with reading(engine) as session:
        version = data_version(session)
        found = _cache.get(key, version)
        if found is None:
            found = [
                SalespersonView(
                    id=u.id, full_name=u.full_name, email=u.email, phone=u.phone
                )
                for u in session.scalars(statement)
            ]
            _cache.put(key, version, found)
    return found


def export_queries(
    engine: Engine, viewer: Viewer | None, filters: OfferFilter
) -> tuple[Select, Select]:
    """The exact count and the rows of a filter, in the list's order, for an export.

    Unlike ``count_offers`` the count has no cap, and unlike ``list_offers``
    the rows go through no cache: an export reads them once, in one pass.
    """
    conditions = _conditions(engine, viewer, filters)
    if filters.order not in ORDERS:
        raise InvalidInput("Orden desconocido.")
    if filters.summary_only:
        counting = _in_summary(
            select(func.coalesce(func.sum(OfferCount.offers), 0)), viewer, filters
        )
    else:
        counting = select(func.count(Offer.id)).where(and_(True, *conditions))
    _label, sort_column, descending = ORDERS[filters.order]
    rows = select(Offer).where(and_(True, *conditions))
    if descending:
        return counting, rows.order_by(sort_column.desc(), Offer.id.desc())
    return counting, rows.order_by(sort_column.asc(), Offer.id.asc())
