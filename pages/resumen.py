"""Resumen de la oferta: the offer as it will go, its customer, Crear and Entregar."""

from dataclasses import replace

import streamlit as st

from lib import formatting, ui
from lib.customers import get_customer
from lib.errors import OfferDeskError
from lib.models import Availability, Condition, OfferStatus
from lib.offers import attach_customer, create_offer, get_offer, preview_prices
from lib.users import get_user
from lib.vehicles import get_vehicle

DRAFT_KEY = "offer_draft"
OFFER_KEY = "resumen_offer_id"

ui.require_frame()
viewer = ui.require_viewer()
st.title("Resumen de la oferta")
engine = ui.engine()
draft = st.session_state.get(DRAFT_KEY)
offer_id = st.session_state.get(OFFER_KEY)
if draft is None and offer_id is None:
    st.info(
        "No hay ninguna oferta en curso. "
        "Empiece por elegir un vehículo en Nueva oferta."
    )
    st.page_link("pages/nueva_oferta.py", label="Nueva oferta", icon="➕")
    st.stop()


def show_customer(customer: object) -> None:
    """The customer's contact in a few lines."""
    st.markdown(f"**{customer.full_name}**")
    st.text(
        "\n".join(
            line
            for line in (
                f"Teléfono: {formatting.phone(customer.phone)}"
                if customer.phone
                else "",
                f"Correo electrónico: {customer.email}"
                if customer.email
                else "Sin correo electrónico",
                f"Documento: {customer.tax_id}" if customer.tax_id else "",
            )
            if line
        )
    )


if offer_id is not None:
    try:
        offer = get_offer(engine, offer_id, viewer)
    except OfferDeskError as error:
        st.session_state.pop(OFFER_KEY, None)
        st.error(error.message)
        st.stop()
    vehicle, prices, temperature = offer.vehicle, offer.prices, offer.temperature
    customer, salesperson, notes = offer.customer, offer.salesperson, offer.notes
    st.success(f"Oferta {offer.number} · {OfferStatus.LABELS[offer.status]}")
else:
    vehicle = get_vehicle(engine, draft["vehicle_id"])
    prices = preview_prices(
        vehicle,
        discount_cents=draft["discount_cents"],
        options_cents=draft.get("options_cents", 0),
        transport_cents=draft.get("transport_cents", 0),
        co2_gkm=draft.get("co2_gkm"),
    )
    if vehicle.co2_gkm is None and draft.get("co2_gkm") is not None:
        # The CO2 typed for this offer names the registration tax band.
        vehicle = replace(vehicle, co2_gkm=draft["co2_gkm"])
    temperature = draft["temperature"]
    customer = (
        get_customer(engine, draft["customer_id"]) if draft["customer_id"] else None
    )
    salesperson = get_user(engine, viewer.user_id)
    notes = draft.get("notes", "")

left, right = st.columns(2)
with left:
    st.subheader("Vehículo")
    st.markdown(f"**{vehicle.title}**")
    st.text(
        "\n".join(
            [
                f"{Availability.ICONS[vehicle.availability]} "
                f"{Availability.LABELS[vehicle.availability]}"
                f" · {Condition.LABELS[vehicle.condition]}",
                f"Bastidor: {vehicle.vin or '—'}",
                f"Número de pedido: {vehicle.order_number or '—'}",
                f"Número de comisión: {vehicle.commission_number or '—'}",
            ]
        )
    )
    st.subheader("Precio")
    ui.show_price_table(prices, vehicle)
    st.markdown(
        f"Temperatura: **{formatting.temperature(temperature)}** · "
        f"Comercial: {salesperson.full_name}"
    )
    if notes.strip():
        st.markdown("**Observaciones para el cliente**")
        st.text(notes)

with right:
    st.subheader("Cliente")
    if customer is not None:
        show_customer(customer)
    else:
        st.caption("La oferta todavía no tiene cliente.")
    can_change = offer_id is None or (
        customer is None and offer.status == OfferStatus.FOLLOW_UP
    )
    if can_change:
        picked = ui.customer_picker(engine, "resumen", user_id=viewer.user_id)
        if picked is not None:
            if offer_id is None:
                draft["customer_id"] = picked.id
            else:
                with ui.user_errors():
                    attach_customer(engine, offer_id, picked.id, viewer=viewer)
            st.rerun()

    if offer_id is None:
        st.divider()
        if customer is None:
            st.caption(
                "Puede crear la oferta sin cliente y añadirlo después desde Ofertas."
            )
        if st.button("Crear oferta", type="primary", key="resumen_create"):
            try:
                created = create_offer(
                    engine,
                    request_token=draft["token"],
                    vehicle_id=vehicle.id,
                    salesperson_id=viewer.user_id,
                    price_cents=prices.price_cents,
                    discount_cents=prices.discount_cents,
                    options_cents=prices.options_cents,
                    transport_cents=prices.transport_cents,
                    co2_gkm=draft.get("co2_gkm"),
                    temperature=temperature,
                    customer_id=draft["customer_id"],
                    notes=draft["notes"],
                    valid_days=ui.settings().offer_validity_days,
                )
            except OfferDeskError as error:
                st.error(error.message)
            else:
                st.session_state[OFFER_KEY] = created.id
                st.session_state.pop(DRAFT_KEY, None)
                st.rerun()
    else:
        st.divider()
        if offer.status == OfferStatus.FOLLOW_UP:
            ui.delivery_panel(engine, offer, "resumen", viewer=viewer)
        ui.delivery_log(engine, offer, "resumen", viewer=viewer)
        st.page_link("pages/ofertas.py", label="Ir a Ofertas", icon="📋")
