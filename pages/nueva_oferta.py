"""Nueva oferta: pick a vehicle, set the price and the first temperature."""

import uuid

import streamlit as st

from lib import formatting, ui
from lib.models import Condition
from lib.offers import preview_prices, vehicle_in_other_offers
from lib.vehicles import create_factory_order, get_vehicle, search_vehicles

DRAFT_KEY = "offer_draft"

ui.require_frame()
viewer = ui.require_viewer()
st.title("Nueva oferta")
engine = ui.engine()


source = st.radio(
    "Vehículo",
    ["Del stock", "Pedido a fábrica"],
    horizontal=True,
    key="nueva_source",
)

vehicle = None
if source == "Del stock":
    query = st.text_input(
        "Buscar vehículo (marca, modelo, bastidor o número de comisión)",
        key="nueva_query",
    )
    found = search_vehicles(engine, query, limit=50)
    if not found:
        st.info("Ningún vehículo disponible coincide con la búsqueda.")
        st.stop()
    by_id = {candidate.id: candidate for candidate in found}
    chosen = st.selectbox(
        f"Vehículos disponibles ({len(found)}{'+' if len(found) == 50 else ''})",
        list(by_id),
        format_func=lambda vehicle_id: ui.vehicle_label(by_id[vehicle_id]),
        key="nueva_vehicle",
    )
    vehicle = by_id[chosen]
else:
    with st.form("nueva_factory_form"):
        st.markdown("**Vehículo pedido a fábrica**")
        columns = st.columns(2)
        make = columns[0].text_input("Marca", key="nueva_factory_make")
        model = columns[1].text_input("Modelo", key="nueva_factory_model")
        version = columns[0].text_input("Versión", key="nueva_factory_version")
        colour = columns[1].text_input("Color", key="nueva_factory_colour")
        price = columns[0].text_input(
            "Precio (€, IVA incluido)",
            placeholder="32.500,00",
            key="nueva_factory_price",
        )
        order_number = columns[1].text_input(
            "Número de pedido", key="nueva_factory_order"
        )
        made = st.form_submit_button("Registrar pedido a fábrica")
    ordered = (make, model, version, colour, price, order_number)
    # A second click on the same form is the same order, not a second vehicle.
    if made and st.session_state.get("nueva_factory_ordered") != ordered:
        with ui.user_errors():
            factory = create_factory_order(
                engine,
                make=make,
                model=model,
                version=version,
                colour=colour,
                price_cents=formatting.parse_money(price, label="El precio"),
                order_number=order_number or None,
                created_by_id=viewer.user_id,
            )
            st.session_state["nueva_factory_vehicle"] = factory.id
            st.session_state["nueva_factory_ordered"] = ordered
    factory_id = st.session_state.get("nueva_factory_vehicle")
    if factory_id is None:
        st.stop()
    vehicle = get_vehicle(engine, factory_id)
    st.success(f"Pedido a fábrica registrado: {ui.vehicle_label(vehicle)}")

others = vehicle_in_other_offers(engine, vehicle.id, viewer=viewer)
if others:
    st.warning("🚗 Este vehículo ya está en otra oferta: " + "; ".join(others))

st.subheader("Precio y temperatura")
columns = st.columns(3)
columns[0].metric(
    "Precio del vehículo (IVA incluido)", formatting.money(vehicle.price_cents)
)
discount = columns[1].text_input(
    "Descuento (€)", placeholder="0,00", key="nueva_discount"
)
options = columns[0].text_input(
    "Opciones y accesorios (€, IVA incluido)", placeholder="0,00", key="nueva_options"
)
transport = columns[1].text_input(
    "Transporte y preentrega (€, IVA incluido)",
    placeholder="0,00",
    key="nueva_transport",
)
co2 = None
if vehicle.condition == Condition.NEW and vehicle.co2_gkm is None:
    co2 = columns[2].number_input(
        "Emisiones de CO2 (g/km, WLTP)",
        min_value=0,
        max_value=1000,
        value=None,
        step=1,
        help="Necesarias para el impuesto de matriculación de un vehículo nuevo.",
        key="nueva_co2",
    )
temperature = st.slider(
    "Temperatura: probabilidad de que el cliente acepte (%)",
    min_value=0,
    max_value=100,
    value=50,
    step=5,
    key="nueva_temperature",
)
notes = st.text_area(
    "Observaciones para el cliente (opcional; se imprimen en la oferta)",
    key="nueva_notes",
)

with ui.user_errors():
    discount_cents = formatting.parse_money(discount, label="El descuento")
    options_cents = formatting.parse_money(options, label="Las opciones")
    transport_cents = formatting.parse_money(transport, label="El transporte")
    prices = preview_prices(
        vehicle,
        discount_cents=discount_cents,
        options_cents=options_cents,
        transport_cents=transport_cents,
        co2_gkm=co2,
    )
    columns[2].metric("Total", formatting.money(prices.total_cents))
    st.caption(
        f"{Condition.LABELS[vehicle.condition]} · "
        f"{formatting.temperature(temperature / 100)} · "
        f"Base imponible {formatting.money(prices.base_cents)} + "
        f"IVA 21 % {formatting.money(prices.vat_cents)} + "
        f"impuesto de matriculación {formatting.money(prices.registration_tax_cents)}"
    )
    if st.button("Continuar al resumen", type="primary", key="nueva_continue"):
        st.session_state[DRAFT_KEY] = {
            "token": uuid.uuid4().hex,
            "vehicle_id": vehicle.id,
            "discount_cents": discount_cents,
            "options_cents": options_cents,
            "transport_cents": transport_cents,
            "co2_gkm": co2,
            "temperature": temperature / 100,
            "notes": notes,
            "customer_id": None,
        }
        st.session_state.pop("resumen_offer_id", None)
        st.session_state.pop("nueva_factory_vehicle", None)
        st.session_state.pop("nueva_factory_ordered", None)
        st.switch_page("pages/resumen.py")
