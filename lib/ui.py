"""Streamlit glue shared by the pages: the engine, the current user, errors.

The only module in ``lib/`` that imports streamlit.
"""

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from lib.auth import (
    MIN_PASSWORD_LENGTH,
    SecurityEventKind,
    authenticate,
    change_password,
    first_start,
    record_session_end,
    viewer_for_identity,
)
from lib.config import Settings, load_settings
from lib.customers import (
    CONSENT_METHODS,
    create_customer,
    get_customer,
    record_email_consent,
    search_customers,
)
from lib.db import make_engine, migrate
from lib.deliveries import (
    DeliveryOutcome,
    DeliveryView,
    deliver_offer,
    list_deliveries,
    no_consent_reason,
)
from lib.documents import prepare_fonts, price_lines
from lib.errors import DuplicateCustomer, NotFound, OfferDeskError
from lib.formatting import day, day_time, local, money, number, phone
from lib.mail import mail_leaves_machine
from lib.models import (
    Availability,
    DeliveryChannel,
    DeliveryResult,
    OfferStatus,
    utcnow,
)
from lib.pricing import PriceBreakdown
from lib.users import UserAccount, get_account
from lib.views import CustomerView, OfferView, VehicleView, Viewer

logger = logging.getLogger(__name__)

VIEWER_KEY = "viewer"
LAST_ACTIVITY_KEY = "last_activity"
LOGIN_FORM_KEY = "login_form_key"
LOGIN_NOTICE_KEY = "login_notice"
OIDC_REFUSED_KEY = "login_oidc_refused"
PASSWORD_NOTICE_KEY = "password_notice"
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
    first_start(engine, demo_data=demo_data)
    return engine


@st.cache_resource(show_spinner=False)
def _fonts_in_background() -> threading.Thread:
    # Reading and cutting the PDF fonts takes about half a second, once per
    # process: done at start, the first offer of the day does not wait for it.
    thread = threading.Thread(target=prepare_fonts, name="prepare-fonts", daemon=True)
    thread.start()
    return thread


def engine() -> Engine:
    """The one Engine of this process, migrated (and seeded with demo data if empty)."""
    current = settings()
    _fonts_in_background()
    return _engine_for(current.database_url, current.demo_data)


@contextmanager
def user_errors() -> Iterator[None]:
    """Show an ``OfferDeskError`` as ``st.error``; anything else, a generic message."""
    try:
        yield
    except OfferDeskError as error:
        st.error(error.message)
    except Exception:
        logger.exception("Unexpected error")
        st.error(
            "Se ha producido un error inesperado. Inténtelo de nuevo; si persiste, "
            "avise al administrador."
        )


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
    if viewer is None or isinstance(viewer, Viewer):
        return viewer
    # Streamlit reloads a changed module while the server runs (a deploy, an
    # edit); a session's viewer then belongs to the old class. It is still
    # ours, kept server-side: carry it over instead of logging everyone out.
    if type(viewer).__name__ == "Viewer" and hasattr(viewer, "user_id"):
        viewer = Viewer(user_id=viewer.user_id, role=viewer.role)
        st.session_state[VIEWER_KEY] = viewer
        return viewer
    return None


def current_user_id() -> int | None:
    """The id of the user signed in to this browser session."""
    viewer = current_viewer()
    return viewer.user_id if viewer is not None else None


def require_viewer() -> Viewer:
    """The signed-in viewer; every page calls this first, before it draws.

    Without a session it draws the login form and stops; with a one-time
    password, the form that changes it. The check lives in each page because
    Streamlit may run a file of ``pages/`` by itself, without app.py (see
    ``require_frame``). Draws the sidebar with the user's name, role and
    Cerrar sesión.
    """
    engine_ = engine()
    account = signed_in_account(engine_)
    if account is None:
        _login_form(engine_)
        st.stop()
    account_sidebar(engine_, account)
    if must_change_password(account):
        st.title("Cambiar la contraseña")
        _password_form(engine_, account)
        st.stop()
    return current_viewer()


def oidc_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section."""
    return bool(_secrets().get("auth"))


def start_session(viewer: Viewer) -> None:
    """Sign a viewer in to this browser session, as the login does."""
    st.session_state[VIEWER_KEY] = viewer
    st.session_state[LAST_ACTIVITY_KEY] = utcnow()


def _end_session(engine: Engine, event: str, notice: str = "") -> None:
    viewer = current_viewer()
    if viewer is not None:
        record_session_end(engine, viewer.user_id, event)
    st.session_state.clear()
    if oidc_configured() and st.user.is_logged_in:
        # The identity cookie outlives the session: without a logout the next
        # run would sign the same identity straight back in.
        st.logout()
    if notice:
        st.session_state[LOGIN_NOTICE_KEY] = notice


def signed_in_account(engine: Engine) -> UserAccount | None:
    """The account signed in to this session, checked on every run; else None.

    A session unused for ``session_idle_minutes`` ends, and so does one whose
    user was deactivated meanwhile. A changed role applies at once.
    """
    viewer = current_viewer()
    if viewer is None:
        return None
    now = utcnow()
    idle = timedelta(minutes=settings().session_idle_minutes)
    last = st.session_state.get(LAST_ACTIVITY_KEY)
    if last is None or now - last > idle:
        logger.info("Session of user %s expired", viewer.user_id)
        _end_session(
            engine,
            SecurityEventKind.SESSION_EXPIRED,
            "Su sesión ha caducado por inactividad. Vuelva a entrar.",
        )
        return None
    try:
        account = get_account(engine, viewer.user_id)
    except NotFound:
        account = None
    if account is None or not account.active:
        _end_session(engine, SecurityEventKind.LOGOUT, "Su cuenta ya no está activa.")
        return None
    st.session_state[LAST_ACTIVITY_KEY] = now
    if account.role != viewer.role:
        st.session_state[VIEWER_KEY] = Viewer(user_id=account.id, role=account.role)
    return account


def must_change_password(account: UserAccount) -> bool:
    """True when the account has to choose a password before anything else."""
    return account.must_change_password and not oidc_configured()


def _login_form(engine_: Engine) -> None:
    st.title("Iniciar sesión")
    notice = st.session_state.pop(LOGIN_NOTICE_KEY, None)
    if notice:
        st.info(notice)
    if oidc_configured():
        _oidc_login(engine_)
        return
    # Keys of their own for each signed-out session: a logout clears the
    # session, and a form drawn again under new keys cannot carry over what
    # was typed, or a pressed Entrar, from the login before.
    form = st.session_state.setdefault(
        LOGIN_FORM_KEY, f"login_form_{uuid.uuid4().hex[:8]}"
    )
    with st.form(form, clear_on_submit=True):
        username = st.text_input("Usuario", key=f"{form}_username")
        password = st.text_input("Contraseña", type="password", key=f"{form}_password")
        submitted = st.form_submit_button("Entrar", type="primary")
    if submitted:
        try:
            viewer = authenticate(engine_, username, password, settings=settings())
        except OfferDeskError as error:
            st.error(error.message)
            return
        start_session(viewer)
        st.rerun()


def _oidc_login(engine_: Engine) -> None:
    if not st.user.is_logged_in:
        if st.button("Entrar", type="primary", key="login_oidc"):
            st.login()
        return
    refused = st.session_state.get(OIDC_REFUSED_KEY)
    if refused is None:
        try:
            viewer = viewer_for_identity(
                engine_,
                subject=str(st.user.get("sub") or ""),
                email=str(st.user.get("email") or ""),
                email_verified=st.user.get("email_verified"),
                trust_email=settings().oidc_trust_email,
            )
        except OfferDeskError as error:
            refused = st.session_state[OIDC_REFUSED_KEY] = error.message
        else:
            start_session(viewer)
            st.rerun()
    st.error(refused)
    if st.button("Cerrar sesión", key="login_oidc_logout"):
        st.session_state.clear()
        st.logout()


def change_password_page() -> None:
    """Cambiar la contraseña, whenever the user wants to."""
    viewer = require_viewer()
    st.title("Cambiar la contraseña")
    _password_form(engine(), get_account(engine(), viewer.user_id))


def _password_form(engine_: Engine, account: UserAccount) -> None:
    if account.must_change_password:
        st.info(
            "Está usando una contraseña de un solo uso. Elija una contraseña "
            f"nueva de al menos {MIN_PASSWORD_LENGTH} caracteres para continuar."
        )
    with st.form("password_form", clear_on_submit=True):
        old = st.text_input("Contraseña actual", type="password", key="password_old")
        new = st.text_input("Nueva contraseña", type="password", key="password_new")
        again = st.text_input(
            "Repita la nueva contraseña", type="password", key="password_again"
        )
        submitted = st.form_submit_button("Cambiar contraseña", type="primary")
    if not submitted:
        return
    if new != again:
        st.error("Las dos contraseñas nuevas no coinciden.")
        return
    try:
        change_password(engine_, account.id, old, new)
    except OfferDeskError as error:
        st.error(error.message)
        return
    st.session_state[PASSWORD_NOTICE_KEY] = "Contraseña cambiada."
    st.rerun()


def account_sidebar(engine_: Engine, account: UserAccount) -> None:
    """Who is signed in, their role, and Cerrar sesión."""
    with st.sidebar:
        st.markdown(f"**{account.full_name}**  \n{account.role_label}")
        notice = st.session_state.pop(PASSWORD_NOTICE_KEY, None)
        if notice:
            st.success(notice)
        if oidc_configured():
            if st.button("Cerrar sesión", key="app_logout"):
                _end_session(engine_, SecurityEventKind.LOGOUT)
        else:
            # A callback ends the session before the next run starts, so that
            # run draws the login form and nothing of the page.
            st.button(
                "Cerrar sesión",
                key="app_logout",
                on_click=_end_session,
                args=(engine_, SecurityEventKind.LOGOUT),
            )
        if settings().mail_backend == "file":
            st.caption(
                "📁 Modo de demostración: los correos se guardan como ficheros en "
                "el servidor; ninguno sale de esta máquina."
            )


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


def show_price_table(prices: PriceBreakdown, vehicle: VehicleView) -> None:
    """Draw the price lines of an offer as in its PDF: amounts to the right."""
    rows = [
        f"| **{line.label}** | **{line.amount}** |"
        if line.total
        else f"| {line.label} | {line.amount} |"
        for line in price_lines(prices, vehicle)
    ]
    st.markdown("\n".join(["| Concepto | Importe |", "| :-- | --: |", *rows]))


def customer_label(customer: CustomerView) -> str:
    """A customer in one line: name, phone, email and document."""
    parts = [customer.full_name, phone(customer.phone), customer.email, customer.tax_id]
    return " · ".join(part for part in parts if part)


def _close_picker(prefix: str) -> None:
    for suffix in ("picker_open", "new_customer", "duplicates"):
        st.session_state.pop(f"{prefix}_{suffix}", None)


def customer_picker(
    engine: Engine, prefix: str, *, user_id: int | None
) -> CustomerView | None:
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
            if st.button(
                "Elegir cliente",
                key=f"{prefix}_choose_customer",
                disabled=chosen is None,
            ):
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


def _new_customer_form(
    engine: Engine, prefix: str, *, user_id: int | None
) -> CustomerView | None:
    with st.form(f"{prefix}_customer_form"):
        st.markdown("**Nuevo cliente**")
        first_name = st.text_input("Nombre", key=f"{prefix}_first_name")
        last_name = st.text_input("Apellidos", key=f"{prefix}_last_name")
        phone = st.text_input("Teléfono", key=f"{prefix}_phone")
        email = st.text_input("Correo electrónico", key=f"{prefix}_email")
        tax_id = st.text_input("DNI/NIE/CIF (opcional)", key=f"{prefix}_tax_id")
        consent = st.checkbox(
            "Acepta recibir comunicaciones por correo electrónico",
            key=f"{prefix}_email_consent",
        )
        method = st.selectbox(
            "Cómo lo ha aceptado",
            list(CONSENT_METHODS),
            format_func=CONSENT_METHODS.get,
            key=f"{prefix}_email_consent_method",
        )
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
                email_consent=consent,
                email_consent_method=method if consent else "",
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
    st.warning(
        "Ya existe un cliente con el mismo correo, teléfono o documento. "
        "¿Es alguno de estos?"
    )
    for customer_id in existing_ids:
        customer = get_customer(engine, customer_id)
        if st.button(
            f"Usar {customer_label(customer)}", key=f"{prefix}_use_{customer_id}"
        ):
            _close_picker(prefix)
            return customer
    return None


CHANNEL_CHOICES = {
    DeliveryChannel.EMAIL: "Correo electrónico",
    DeliveryChannel.PRINT: "Imprimir",
}
RESULT_ICONS = {
    DeliveryResult.SENT: "✅",
    DeliveryResult.FAILED: "❌",
    DeliveryResult.PENDING: "⏳",
}


def _delivery_key(prefix: str, offer_id: int) -> str:
    return f"{prefix}_delivery_{offer_id}"


def _reset_delivery(key: str) -> None:
    for suffix in ("", "_token", "_outcome", "_error", "_channel"):
        st.session_state.pop(key + suffix, None)


def changed_since_delivery_message(offer: OfferView) -> str:
    """The warning shown before an offer changed since its last delivery goes again."""
    return (
        "La oferta ha cambiado desde la última entrega del "
        f"{day(offer.last_delivered_at)}."
    )


def email_channel_refusal(offer: OfferView) -> str:
    """Why this offer cannot go by email now, or an empty string."""
    customer = offer.customer
    if customer is None:
        return "Añada un cliente a la oferta antes de entregarla."
    if not customer.email:
        return f"{customer.full_name} no tiene correo electrónico: imprima la oferta."
    if customer.email_consent_at is None:
        return no_consent_reason(offer)
    return ""


def delivery_panel(
    engine: Engine, offer: OfferView, prefix: str, *, viewer: Viewer
) -> None:
    """Entregar oferta: Entregar ahora (email or print) or No entregar ahora."""
    key = _delivery_key(prefix, offer.id)
    stage = st.session_state.get(key)
    if stage is None:
        if st.button("Entregar oferta", key=f"{key}_open", type="primary"):
            st.session_state[key] = "choose"
            st.rerun()
        return
    if stage == "choose":
        _choose_when(key, offer)
    elif stage == "now":
        _deliver_now(engine, key, offer, viewer=viewer)
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
            f"La oferta {offer.number} no se ha entregado; queda en Ofertas "
            "para su seguimiento."
        )
        st.switch_page("pages/ofertas.py")


def _deliver_now(engine: Engine, key: str, offer: OfferView, *, viewer: Viewer) -> None:
    current = settings()
    if offer.changed_since_delivery:
        st.warning(changed_since_delivery_message(offer))
    if offer.expired(local(utcnow()).date()):
        st.warning(
            f"⌛ Esta oferta caducó el {day(offer.valid_until)}: el documento lo dirá. "
            "Revise las condiciones antes de entregarla."
        )
    refusal = email_channel_refusal(offer)
    choices = [DeliveryChannel.PRINT] if refusal else list(CHANNEL_CHOICES)
    channel = st.radio(
        "Forma de contacto",
        choices,
        format_func=CHANNEL_CHOICES.get,
        horizontal=True,
        key=f"{key}_channel",
    )
    if refusal:
        st.info(refusal)
        _consent_form(engine, key, offer, viewer=viewer)
    if channel == DeliveryChannel.EMAIL and not mail_leaves_machine(current):
        st.caption(
            "Modo de demostración: el correo se guarda como fichero .eml en el "
            "servidor y no sale de esta máquina."
        )
    email = channel == DeliveryChannel.EMAIL
    label = "Enviar por correo" if email else "Imprimir oferta"
    columns = st.columns(2)
    if columns[1].button("Cancelar", key=f"{key}_cancel"):
        _reset_delivery(key)
        st.rerun()
    if columns[0].button(
        label, key=f"{key}_send", type="primary", disabled=offer.customer is None
    ):
        _send(engine, key, offer, channel, viewer=viewer, current=current)
    if st.session_state.get(f"{key}_error"):
        st.error(st.session_state[f"{key}_error"])


def _send(
    engine: Engine,
    key: str,
    offer: OfferView,
    channel: str,
    *,
    viewer: Viewer,
    current: Settings,
) -> None:
    try:
        with st.spinner("Entregando la oferta…"):
            outcome = deliver_offer(
                engine,
                offer.id,
                channel=channel,
                viewer=viewer,
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
        st.session_state.pop(f"{key}_error", None)
        st.rerun()


def _consent_form(
    engine: Engine, key: str, offer: OfferView, *, viewer: Viewer
) -> None:
    customer = offer.customer
    if customer is None or not customer.email or customer.email_consent_at:
        return
    columns = st.columns([2, 1], vertical_alignment="bottom")
    method = columns[0].selectbox(
        "Cómo ha aceptado el cliente recibir comunicaciones por correo",
        list(CONSENT_METHODS),
        format_func=CONSENT_METHODS.get,
        key=f"{key}_consent_method",
    )
    if columns[1].button("Registrar consentimiento", key=f"{key}_consent"):
        with user_errors():
            record_email_consent(engine, customer.id, method, viewer=viewer)
            st.session_state.pop(f"{key}_channel", None)
            st.rerun()


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


def delivery_rows(deliveries: list[DeliveryView]) -> pd.DataFrame:
    """The delivery log as a table: newest first, every value in Spanish."""
    rows = [
        {
            "Fecha": day_time(delivery.created_at),
            "Forma": DeliveryChannel.LABELS[delivery.channel],
            "Destinatario": delivery.recipient,
            "Por": delivery.user_name,
            "Resultado": (
                f"{RESULT_ICONS[delivery.result]} "
                f"{DeliveryResult.LABELS[delivery.result]}"
            ),
            "Motivo": delivery.error,
            "Revisión": delivery.offer_revision or "",
            "Huella del PDF": delivery.document_sha256[:12],
        }
        for delivery in deliveries
    ]
    return pd.DataFrame(rows, columns=DELIVERY_LOG_COLUMNS)


DELIVERY_LOG_COLUMNS = [
    "Fecha",
    "Forma",
    "Destinatario",
    "Por",
    "Resultado",
    "Motivo",
    "Revisión",
    "Huella del PDF",
]


def delivery_log(
    engine: Engine, offer: OfferView, prefix: str, *, viewer: Viewer
) -> None:
    """Entregas: every attempt to deliver the offer, and Reenviar.

    Reenviar opens the delivery panel of the same page at Entregar ahora, with
    the channel of the last attempt, so a resend is one more ``deliver_offer``.
    """
    deliveries = list_deliveries(engine, offer.id, viewer)
    st.markdown("**Entregas**")
    if not deliveries:
        st.caption("Todavía no se ha entregado.")
        return
    st.dataframe(delivery_rows(deliveries), hide_index=True, width="stretch")
    key = _delivery_key(prefix, offer.id)
    open_panel = st.session_state.get(key) in {"choose", "now"}
    if offer.status != OfferStatus.FOLLOW_UP or offer.customer is None or open_panel:
        return
    if st.button("Reenviar", key=f"{prefix}_resend_{offer.id}"):
        last = deliveries[0].channel
        _reset_delivery(key)
        st.session_state[key] = "now"
        st.session_state[f"{key}_token"] = uuid.uuid4().hex
        if last == DeliveryChannel.PRINT or not email_channel_refusal(offer):
            st.session_state[f"{key}_channel"] = last
        st.rerun()
