"""Streamlit glue shared by the pages: the engine, the current user, errors.

The only module in ``lib/`` that imports streamlit.
"""

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from lib.config import Settings, load_settings
from lib.db import make_engine, migrate
from lib.customers import create_customer, get_customer, search_customers
from lib.deliveries import DeliveryOutcome, deliver_offer
from lib.errors import DuplicateCustomer, OfferDeskError
from lib.mail import mail_leaves_machine
from lib.formatting import money, number, phone
from lib.models import Availability, DeliveryChannel
from lib.pricing import PriceBreakdown
from lib.views import CustomerView, OfferView, VehicleView, Viewer

logger = logging.getLogger(__name__)

VIEWER_KEY = "viewer"
NOTICE_KEY = "ofertas_notice"


def _secrets() -> dict[str, object]:
    try:
        return dict(st.secrets)
    except Exception:  # no secrets.toml: the environment and defaults apply
        return {}


def settings() -> Settings:
    """The app's settings, from the environment and ``st.secrets``."""
    return load_settings(secrets=_secrets())


@st.cache_resource(show_spinner=False)
def _engine_for(url: str, demo_data: bool) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    if demo_data:
        from lib.demo import load_demo_data

        load_demo_data(engine)
    return engine


def engine() -> Engine:
    """The one Engine of this process, migrated (and seeded with demo data if empty)."""
    current = settings()
    return _engine_for(current.database_url, current.demo_data)


@contextmanager
def user_errors() -> Iterator[None]:
    """Show an ``OfferDeskError`` as ``st.error``; anything else as a generic message."""
    try:
        yield
    except OfferDeskError as error:
        st.error(error.message)
    except Exception:
        logger.exception("Unexpected error")
        st.error("Se ha producido un error inesperado. Inténtelo de nuevo; si persiste, avise al administrador.")


FRAME_KEY = "frame_ran"


def mark_frame() -> None:
    """Called by app.py on every run, before the page."""
    st.session_state[FRAME_KEY] = True


def require_frame() -> None:
    """Send a page opened on its own back through app.py.

    On a freshly started server Streamlit may run a file of ``pages/`` by its
    URL before app.py has declared the navigation, skipping the frame (the
    chosen salesperson, logging). Every page starts with this guard.
    """
    if not st.session_state.get(FRAME_KEY):
        st.switch_page("app.py")


def current_viewer() -> Viewer | None:
    """Who is signed in to this browser session, or None before login."""
    viewer = st.session_state.get(VIEWER_KEY)
    return viewer if isinstance(viewer, Viewer) else None


def current_user_id() -> int | None:
    """The id of the user signed in to this browser session."""
    viewer = current_viewer()
    return viewer.user_id if viewer is not None else None


def vehicle_label(vehicle: VehicleView) -> str:
    """A vehicle in one line, as a salesperson scans a list."""
    parts = [
        f"{Availability.ICONS[vehicle.availability]} {vehicle.title}",
        str(vehicle.year or ""),
        f"{number(vehicle.mileage_km)} km" if vehicle.mileage_km is not None else "",
        money(vehicle.price_cents),
        f"Bastidor {vehicle.vin}" if vehicle.vin else "",
        f"Comisión {vehicle.commission_number}" if vehicle.commission_number else "",
    ]
    return " · ".join(part for part in parts if part)


def price_table(prices: PriceBreakdown) -> pd.DataFrame:
    """The price lines of an offer, formatted, indexed by concept."""
    lines = {
        "Precio del vehículo (IVA incluido)": prices.price_cents,
        "Descuento": -prices.discount_cents,
        "Base imponible": prices.base_cents,
        "IVA 21 %": prices.vat_cents,
        "Total": prices.total_cents,
    }
    frame = pd.DataFrame({"Importe": [money(cents) for cents in lines.values()]})
    frame.index = pd.Index(list(lines), name="Concepto")
    return frame


def customer_label(customer: CustomerView) -> str:
    """A customer in one line: name, phone, email and document."""
    parts = [customer.full_name, phone(customer.phone), customer.email, customer.tax_id]
    return " · ".join(part for part in parts if part)


def _close_picker(prefix: str) -> None:
    for suffix in ("picker_open", "new_customer", "duplicates"):
        st.session_state.pop(f"{prefix}_{suffix}", None)


def customer_picker(engine: Engine, prefix: str, *, user_id: int | None) -> CustomerView | None:
    """Seleccionar cliente: a searchable list, and No se ha encontrado for a new one.

    Returns the customer picked or created in this run, otherwise None.
    """
    if not st.session_state.get(f"{prefix}_picker_open"):
        if st.button("Seleccionar cliente", key=f"{prefix}_pick_customer"):
            st.session_state[f"{prefix}_picker_open"] = True
            st.rerun()
        return None

    with st.container(border=True):
        query = st.text_input(
            "Buscar cliente (nombre, teléfono, correo, DNI/NIE)",
            key=f"{prefix}_customer_query",
        )
        found = {customer.id: customer for customer in search_customers(engine, query)}
        if found:
            chosen = st.radio(
                "Clientes",
                list(found),
                format_func=lambda customer_id: customer_label(found[customer_id]),
                index=None,
                key=f"{prefix}_customer_choice",
            )
            if st.button("Elegir cliente", key=f"{prefix}_choose_customer", disabled=chosen is None):
                _close_picker(prefix)
                return found[chosen]
        else:
            st.info("Ningún cliente coincide con la búsqueda.")
        columns = st.columns(2)
        if columns[0].button("No se ha encontrado", key=f"{prefix}_not_found"):
            st.session_state[f"{prefix}_new_customer"] = True
        if columns[1].button("Cancelar", key=f"{prefix}_cancel_customer"):
            _close_picker(prefix)
            st.rerun()
        if st.session_state.get(f"{prefix}_new_customer"):
            return _new_customer_form(engine, prefix, user_id=user_id)
    return None


def _new_customer_form(engine: Engine, prefix: str, *, user_id: int | None) -> CustomerView | None:
    with st.form(f"{prefix}_customer_form"):
        st.markdown("**Nuevo cliente**")
        first_name = st.text_input("Nombre", key=f"{prefix}_first_name")
        last_name = st.text_input("Apellidos", key=f"{prefix}_last_name")
        phone = st.text_input("Teléfono", key=f"{prefix}_phone")
        email = st.text_input("Correo electrónico", key=f"{prefix}_email")
        tax_id = st.text_input("DNI/NIE/CIF (opcional)", key=f"{prefix}_tax_id")
        submitted = st.form_submit_button("Guardar cliente")
    if submitted:
        try:
            customer = create_customer(
                engine,
                first_name=first_name,
                last_name=last_name,
                phone=phone,
                email=email,
                tax_id=tax_id,
                created_by_id=user_id,
            )
        except DuplicateCustomer as duplicate:
            st.session_state[f"{prefix}_duplicates"] = duplicate.existing_ids
        except OfferDeskError as error:
            st.error(error.message)
            return None
        else:
            _close_picker(prefix)
            return customer
    return _offer_existing(engine, prefix)


def _offer_existing(engine: Engine, prefix: str) -> CustomerView | None:
    existing_ids = st.session_state.get(f"{prefix}_duplicates") or []
    if not existing_ids:
        return None
    st.warning("Ya existe un cliente con el mismo correo, teléfono o documento. ¿Es alguno de estos?")
    for customer_id in existing_ids:
        customer = get_customer(engine, customer_id)
        if st.button(f"Usar {customer_label(customer)}", key=f"{prefix}_use_{customer_id}"):
            _close_picker(prefix)
            return customer
    return None


CHANNEL_CHOICES = {DeliveryChannel.EMAIL: "Correo electrónico", DeliveryChannel.PRINT: "Imprimir"}


def _reset_delivery(key: str) -> None:
    for suffix in ("", "_token", "_outcome", "_error"):
        st.session_state.pop(key + suffix, None)


def delivery_panel(engine: Engine, offer: OfferView, prefix: str, *, user_id: int) -> None:
    """Entregar oferta: Entregar ahora (email or print) or No entregar ahora."""
    key = f"{prefix}_delivery_{offer.id}"
    stage = st.session_state.get(key)
    if stage is None:
        if st.button("Entregar oferta", key=f"{key}_open", type="primary"):
            st.session_state[key] = "choose"
            st.rerun()
        return
    if stage == "choose":
        _choose_when(key, offer)
    elif stage == "now":
        _deliver_now(engine, key, offer, user_id=user_id)
    else:
        _delivered(key, st.session_state[f"{key}_outcome"])


def _choose_when(key: str, offer: OfferView) -> None:
    columns = st.columns(2)
    if columns[0].button("Entregar ahora", key=f"{key}_now", type="primary"):
        st.session_state[key] = "now"
        st.session_state[f"{key}_token"] = uuid.uuid4().hex
        st.rerun()
    if columns[1].button("No entregar ahora", key=f"{key}_later"):
        _reset_delivery(key)
        st.session_state[NOTICE_KEY] = (
            f"La oferta {offer.number} no se ha entregado; queda en Ofertas para su seguimiento."
        )
        st.switch_page("pages/ofertas.py")


def _deliver_now(engine: Engine, key: str, offer: OfferView, *, user_id: int) -> None:
    current = settings()
    channel = st.radio(
        "Forma de contacto",
        list(CHANNEL_CHOICES),
        format_func=CHANNEL_CHOICES.get,
        horizontal=True,
        key=f"{key}_channel",
    )
    blocked = ""
    if offer.customer is None:
        blocked = "Añada un cliente a la oferta antes de entregarla."
    elif channel == DeliveryChannel.EMAIL and not offer.customer.email:
        blocked = f"{offer.customer.full_name} no tiene correo electrónico: imprima la oferta."
    if blocked:
        st.warning(blocked)
    if channel == DeliveryChannel.EMAIL and not mail_leaves_machine(current):
        st.caption(
            "Modo de demostración: el correo se guarda como fichero .eml en el servidor "
            "y no sale de esta máquina."
        )
    label = "Enviar por correo" if channel == DeliveryChannel.EMAIL else "Imprimir oferta"
    columns = st.columns(2)
    if columns[1].button("Cancelar", key=f"{key}_cancel"):
        _reset_delivery(key)
        st.rerun()
    if columns[0].button(label, key=f"{key}_send", type="primary", disabled=bool(blocked)):
        try:
            with st.spinner("Entregando la oferta…"):
                outcome = deliver_offer(
                    engine,
                    offer.id,
                    channel=channel,
                    user_id=user_id,
                    request_token=st.session_state[f"{key}_token"],
                    settings=current,
                )
        except OfferDeskError as error:
            # A failed attempt is recorded; the next click is a new attempt.
            st.session_state[f"{key}_token"] = uuid.uuid4().hex
            st.session_state[f"{key}_error"] = error.message
        else:
            st.session_state[key] = "done"
            st.session_state[f"{key}_outcome"] = outcome
            st.rerun()
    if st.session_state.get(f"{key}_error"):
        st.error(st.session_state[f"{key}_error"])


def _delivered(key: str, outcome: DeliveryOutcome) -> None:
    st.success(outcome.message)
    st.download_button(
        "Descargar PDF",
        data=bytes(outcome.pdf),
        file_name=outcome.file_name,
        mime="application/pdf",
        key=f"{key}_download",
        on_click="ignore",
    )
    if st.button("Cerrar", key=f"{key}_close"):
        _reset_delivery(key)
        st.rerun()
