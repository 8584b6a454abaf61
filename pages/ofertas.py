"""Ofertas: every offer by status, the selected one's follow-up and delivery."""

import streamlit as st

from lib import formatting, ui
from lib.charts import temperature_chart
from lib.deliveries import list_deliveries
from lib.models import Availability, DeliveryChannel, DeliveryResult, OfferStatus
from lib.offers import (
    attach_customer,
    get_offer,
    list_offers,
    mark_lost,
    mark_won,
    offers_table,
    status_counts,
    temperature_band_counts,
)

STATUS_FILTERS = {
    OfferStatus.FOLLOW_UP: "en Seguimiento",
    OfferStatus.WON: "Éxito",
    OfferStatus.LOST: "Fracaso",
    "ALL": "Todas",
}

ui.require_frame()
st.title("Ofertas")
engine = ui.engine()
user_id = ui.current_user_id()
notice = st.session_state.pop(ui.NOTICE_KEY, None)
if notice:
    st.info(notice)

counts = status_counts(engine)
columns = st.columns(4)
for column, status in zip(columns, OfferStatus.LABELS, strict=False):
    column.metric(OfferStatus.LABELS[status], formatting.number(counts[status]))
columns[3].metric("Todas", formatting.number(sum(counts.values())))

filters = st.columns([2, 3])
chosen_status = filters[0].radio(
    "Estado",
    list(STATUS_FILTERS),
    format_func=STATUS_FILTERS.get,
    horizontal=True,
    key="ofertas_status",
)
status = None if chosen_status == "ALL" else chosen_status
search = filters[1].text_input(
    "Buscar (número, cliente, teléfono, correo, modelo, bastidor, pedido, comisión)",
    key="ofertas_search",
)
page_number = st.session_state.get("ofertas_page", 1)
with ui.user_errors():
    page = list_offers(engine, status=status, search=search, page=page_number)
    if page_number > page.pages:
        st.session_state["ofertas_page"] = page.pages
        page = list_offers(engine, status=status, search=search, page=page.pages)
    if page.total == 0:
        st.info("No hay ofertas con este filtro.")
        st.stop()
    st.dataframe(offers_table(page.offers), hide_index=True, width="stretch")
    st.columns([1, 3])[0].number_input(
        f"Página (de {page.pages}) · {formatting.number(page.total)} ofertas",
        min_value=1,
        max_value=page.pages,
        step=1,
        key="ofertas_page",
    )

st.subheader("Seleccionar oferta")
by_id = {offer.id: offer for offer in page.offers}
selected_id = st.selectbox(
    "Oferta",
    list(by_id),
    index=None,
    placeholder="Elija una oferta de la lista",
    format_func=lambda offer_id: (
        f"{by_id[offer_id].number} · "
        f"{by_id[offer_id].customer.full_name if by_id[offer_id].customer else 'Sin cliente'} · "
        f"{by_id[offer_id].vehicle.title}"
    ),
    key="ofertas_selected",
)

if selected_id is not None and user_id is not None:
    offer = get_offer(engine, selected_id)
    with st.container(border=True):
        st.markdown(
            f"### Oferta {offer.number} · {OfferStatus.LABELS[offer.status]}\n"
            f"{Availability.ICONS[offer.vehicle.availability]} {offer.vehicle.title} · "
            f"{formatting.money(offer.prices.total_cents)} · "
            f"{formatting.temperature(offer.temperature)} · "
            f"Creada el {formatting.day(offer.created_at)} · "
            f"Última entrega: {formatting.day(offer.last_delivered_at) or 'sin entregar'}"
        )
        if offer.customer is None:
            st.warning("Esta oferta no tiene cliente. Añádalo para poder entregarla.")
            picked = ui.customer_picker(engine, "ofertas", user_id=user_id)
            if picked is not None:
                with ui.user_errors():
                    attach_customer(engine, offer.id, picked.id, user_id=user_id)
                    st.rerun()
        else:
            st.markdown(f"Cliente: **{ui.customer_label(offer.customer)}**")

        if offer.status == OfferStatus.FOLLOW_UP:
            if offer.customer is not None:
                ui.delivery_panel(engine, offer, "ofertas", user_id=user_id)
            outcome = st.columns(2)
            if outcome[0].button("Marcar Éxito", key=f"ofertas_won_{offer.id}"):
                with ui.user_errors():
                    mark_won(engine, offer.id, user_id=user_id)
                    st.session_state[ui.NOTICE_KEY] = f"Oferta {offer.number} marcada como Éxito."
                    st.rerun()
            if outcome[1].button("Marcar Fracaso", key=f"ofertas_lost_{offer.id}"):
                with ui.user_errors():
                    mark_lost(engine, offer.id, user_id=user_id)
                    st.session_state[ui.NOTICE_KEY] = f"Oferta {offer.number} marcada como Fracaso."
                    st.rerun()

        deliveries = list_deliveries(engine, offer.id)
        if deliveries:
            st.markdown("**Entregas**")
            st.dataframe(
                [
                    {
                        "Fecha": formatting.day_time(delivery.created_at),
                        "Forma": DeliveryChannel.LABELS[delivery.channel],
                        "Destinatario": delivery.recipient,
                        "Por": delivery.user_name,
                        "Resultado": DeliveryResult.LABELS[delivery.result],
                        "Motivo": delivery.error,
                    }
                    for delivery in deliveries
                ],
                hide_index=True,
                width="stretch",
            )

st.plotly_chart(
    temperature_chart(temperature_band_counts(engine, status=status, search=search)),
    width="stretch",
)
