"""Ofertas: every offer by status; the selected one's delivery, follow-up, outcome."""

import streamlit as st

from lib import formatting, ui
from lib.activities import add_activity, list_activities, list_events
from lib.charts import temperature_chart
from lib.errors import OfferDeskError
from lib.export import export_csv, export_xlsx
from lib.lost_reasons import list_lost_reasons
from lib.models import (
    ActivityKind,
    Availability,
    OfferEventKind,
    OfferStatus,
)
from lib.offers import (
    BANDS,
    ORDERS,
    OfferFilter,
    attach_customer,
    find_offer,
    get_offer,
    list_offers,
    mark_lost,
    mark_won,
    offers_table,
    reassign_offer,
    reopen_offer,
    salespeople_with_role,
    status_counts,
    temperature_band_counts,
    update_terms,
    vehicle_in_other_offers,
    vehicle_makes,
    vehicle_models,
)
from lib.views import OfferView, Viewer

STATUS_FILTERS = {
    OfferStatus.FOLLOW_UP: "en Seguimiento",
    OfferStatus.WON: "Éxito",
    OfferStatus.LOST: "Fracaso",
    "ALL": "Todas",
}
CURSORS_KEY = "ofertas_cursors"

ui.require_frame()
viewer = ui.require_viewer()
st.title("Ofertas")
engine = ui.engine()
notice = st.session_state.pop(ui.NOTICE_KEY, None)
if notice:
    st.info(notice)


def read_filters(viewer: Viewer) -> OfferFilter:
    """The filter bar: status, search, and the rest folded away."""
    top = st.columns([5, 6, 2])
    chosen = top[0].radio(
        "Estado",
        list(STATUS_FILTERS),
        format_func=STATUS_FILTERS.get,
        horizontal=True,
        key="ofertas_status",
    )
    search = top[1].text_input(
        "Buscar (número, cliente, teléfono, correo, bastidor, pedido, comisión)",
        key="ofertas_search",
    )
    order = top[2].selectbox(
        "Ordenar",
        list(ORDERS),
        format_func=lambda key: ORDERS[key][0],
        key="ofertas_order",
    )
    with st.expander("Más filtros"):
        columns = st.columns(3)
        salesperson_id = None
        if viewer.sees_all:
            people = {
                person.id: person.full_name for person in salespeople_with_role(engine)
            }
            salesperson_id = columns[0].selectbox(
                "Comercial",
                list(people),
                format_func=people.get,
                index=None,
                placeholder="Todos",
                key="ofertas_salesperson",
            )
        make = columns[1].selectbox(
            "Marca",
            vehicle_makes(engine),
            index=None,
            placeholder="Todas",
            key="ofertas_make",
        )
        model = columns[2].selectbox(
            "Modelo",
            vehicle_models(engine, make) if make else [],
            index=None,
            placeholder="Todos",
            key="ofertas_model",
        )
        band = columns[0].selectbox(
            "Temperatura",
            list(range(len(BANDS))),
            format_func=lambda index: f"{BANDS[index][1]} {BANDS[index][2]}",
            index=None,
            placeholder="Todas",
            key="ofertas_band",
        )
        created = columns[1].date_input(
            "Creada entre", value=(), format="DD/MM/YYYY", key="ofertas_created"
        )
        delivered = columns[2].date_input(
            "Entregada entre", value=(), format="DD/MM/YYYY", key="ofertas_delivered"
        )
        due_only = columns[0].checkbox(
            "Solo con contacto pendiente (hoy o antes)", key="ofertas_due"
        )
        expired_only = columns[1].checkbox("Solo caducadas", key="ofertas_expired")
    return OfferFilter(
        status=None if chosen == "ALL" else chosen,
        salesperson_id=salesperson_id,
        make=make or "",
        model=model or "",
        band=band,
        created_from=created[0] if len(created) > 0 else None,
        created_to=created[1] if len(created) > 1 else None,
        delivered_from=delivered[0] if len(delivered) > 0 else None,
        delivered_to=delivered[1] if len(delivered) > 1 else None,
        due_only=due_only,
        expired_only=expired_only,
        search=search,
        order=order,
    )


def current_cursors(filters: OfferFilter) -> list:
    """Where each page seen under this filter starts; a new filter starts over."""
    stored = st.session_state.get(CURSORS_KEY)
    if not stored or stored[0] != filters:
        stored = (filters, [None])
        st.session_state[CURSORS_KEY] = stored
    return stored[1]


def show_list(filters: OfferFilter, total: int) -> list[OfferView]:
    """One page of the list, with its pager and exports; returns the page's offers."""
    cursors = current_cursors(filters)
    page = list_offers(
        engine, viewer=viewer, filters=filters, cursor=cursors[-1], with_total=False
    )
    if not page.offers:
        st.info("No hay ofertas con este filtro.")
        return []
    st.dataframe(
        offers_table(page.offers),
        hide_index=True,
        width="stretch",
    )
    pager = st.columns([2, 1, 1, 2, 2])
    noun = "oferta" if total == 1 else "ofertas"
    pager[0].caption(f"Página {len(cursors)} · {formatting.number(total)} {noun}")
    if pager[1].button(
        "◀ Anterior", key="ofertas_previous", disabled=len(cursors) == 1
    ):
        cursors.pop()
        st.rerun()
    if pager[2].button(
        "Siguiente ▶", key="ofertas_next", disabled=page.next_cursor is None
    ):
        cursors.append(page.next_cursor)
        st.rerun()
    export_buttons(filters, pager[3], pager[4])
    return page.offers


def export_buttons(
    filters: OfferFilter, csv_column: object, xlsx_column: object
) -> None:
    """Export the current filter; the file is built on demand, with progress."""
    for column, label, builder, name, mime in (
        (csv_column, "Exportar CSV", export_csv, "ofertas.csv", "text/csv"),
        (
            xlsx_column,
            "Exportar Excel",
            export_xlsx,
            "ofertas.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    ):
        key = f"ofertas_export_{name}"
        if column.button(label, key=f"{key}_build"):
            bar = st.progress(0.0, text="Preparando la exportación…")

            def advance(done: int, total: int, bar: object = bar) -> None:
                shown = f"{formatting.number(done)} de {formatting.number(total)}"
                bar.progress(min(1.0, done / max(total, 1)), text=f"{shown} ofertas")

            with ui.user_errors():
                data = builder(engine, viewer=viewer, filters=filters, progress=advance)
                st.session_state[key] = (filters, data)
            bar.empty()
        built = st.session_state.get(key)
        if built and built[0] == filters:
            column.download_button(
                f"Descargar {name}",
                data=built[1],
                file_name=name,
                mime=mime,
                key=f"{key}_get",
            )


def customer_of(offer: OfferView) -> str:
    """The offer's customer in one line, or that it has none."""
    return ui.customer_label(offer.customer) if offer.customer else "Sin cliente"


def selected_offer(offers: list[OfferView]) -> OfferView | None:
    """The offer picked in the list, or named in the address (``?oferta=NUMBER``)."""
    wanted = st.query_params.get("oferta")
    if wanted:
        try:
            return find_offer(engine, wanted, viewer)
        except OfferDeskError as error:
            st.error(error.message)
            # Said and recorded once: the next click does not ask again.
            del st.query_params["oferta"]
            return None
    by_id = {offer.id: offer for offer in offers}
    chosen = st.selectbox(
        "Oferta",
        list(by_id),
        index=None,
        placeholder="Elija una oferta de la lista",
        format_func=lambda offer_id: (
            f"{by_id[offer_id].number} · {customer_of(by_id[offer_id])}"
            f" · {by_id[offer_id].vehicle.title}"
        ),
        key="ofertas_selected",
    )
    return get_offer(engine, chosen, viewer) if chosen is not None else None


def show_header(offer: OfferView) -> None:
    today = formatting.local(formatting.utc_now()).date()
    st.markdown(
        f"### Oferta {offer.number} · {OfferStatus.LABELS[offer.status]}\n"
        f"{Availability.ICONS[offer.vehicle.availability]} {offer.vehicle.title} · "
        f"{formatting.money(offer.prices.total_cents)} · "
        f"{formatting.temperature(offer.temperature)} · "
        f"Creada el {formatting.day(offer.created_at)} · "
        f"Válida hasta el {formatting.day(offer.valid_until)} · "
        "Última entrega: "
        f"{formatting.day(offer.last_delivered_at) or 'sin entregar'} · "
        f"Comercial: {offer.salesperson.full_name}"
    )
    if offer.expired(today):
        st.warning(f"⌛ Oferta caducada el {formatting.day(offer.valid_until)}.")
    if offer.changed_since_delivery:
        st.warning(
            "✏️ La oferta ha cambiado desde la última entrega del "
            f"{formatting.day(offer.last_delivered_at)}: entréguela de nuevo."
        )
    others = vehicle_in_other_offers(
        engine, offer.vehicle.id, excluding=offer.id, viewer=viewer
    )
    if others:
        st.warning("🚗 Este vehículo también está en: " + "; ".join(others))


def show_customer(offer: OfferView) -> bool:
    """The customer, or the way to add one; True when the offer has one."""
    if offer.customer is not None:
        st.markdown(f"Cliente: **{ui.customer_label(offer.customer)}**")
        return True
    st.warning("Esta oferta no tiene cliente. Añádalo para poder entregarla.")
    picked = ui.customer_picker(engine, "ofertas", user_id=viewer.user_id)
    if picked is not None:
        with ui.user_errors():
            attach_customer(engine, offer.id, picked.id, viewer=viewer)
            st.rerun()
    return False


def show_delivery(offer: OfferView) -> None:
    if offer.status == OfferStatus.FOLLOW_UP and offer.customer is not None:
        ui.delivery_panel(engine, offer, "ofertas", viewer=viewer)
    ui.delivery_log(engine, offer, "ofertas", viewer=viewer)


def show_follow_up(offer: OfferView) -> None:
    if offer.status == OfferStatus.FOLLOW_UP:
        # Not cleared on submit: a refused date must not take the note with it.
        with st.form(f"ofertas_activity_{offer.id}"):
            columns = st.columns([1, 1, 2, 1])
            today = formatting.local(formatting.utc_now()).date()
            happened_on = columns[1].date_input(
                "Fecha",
                value=today,
                max_value=today,
                format="DD/MM/YYYY",
                key=f"ofertas_activity_day_{offer.id}",
            )
            kind = columns[0].selectbox(
                "Actividad",
                list(ActivityKind.LABELS),
                format_func=lambda key: (
                    f"{ActivityKind.ICONS[key]} {ActivityKind.LABELS[key]}"
                ),
                key=f"ofertas_activity_kind_{offer.id}",
            )
            note = columns[2].text_input(
                "Nota", key=f"ofertas_activity_note_{offer.id}"
            )
            upcoming = offer.next_contact_on
            next_contact = columns[3].date_input(
                "Próximo contacto",
                # An overdue date is shown above; the field proposes none.
                value=upcoming if upcoming and upcoming >= today else None,
                format="DD/MM/YYYY",
                key=f"ofertas_activity_next_{offer.id}",
            )
            if upcoming and upcoming < today:
                st.caption(
                    f"⏰ El contacto previsto para el {formatting.day(upcoming)} ya "
                    "ha pasado: indique el próximo, o marque que no hay ninguno."
                )
            clear = columns[3].checkbox(
                "Sin próximo contacto",
                disabled=upcoming is None,
                key=f"ofertas_activity_clear_{offer.id}",
            )
            if st.form_submit_button("Anotar"):
                with ui.user_errors():
                    add_activity(
                        engine,
                        offer.id,
                        viewer=viewer,
                        kind=kind,
                        note=note,
                        happened_on=happened_on,
                        next_contact_on=next_contact,
                        clear_next_contact=clear,
                    )
                    st.session_state.pop(f"ofertas_activity_note_{offer.id}", None)
                    st.rerun()
    if offer.next_contact_on:
        st.caption(f"Próximo contacto: {formatting.day(offer.next_contact_on)}")
    activities = list_activities(engine, offer.id, viewer=viewer)
    if not activities:
        st.caption("Sin actividades todavía.")
        return
    st.dataframe(
        [
            {
                "Fecha": formatting.day_time(activity.happened_at),
                "Actividad": f"{ActivityKind.ICONS[activity.kind]} "
                f"{ActivityKind.LABELS[activity.kind]}",
                "Por": activity.user_name,
                "Nota": activity.note,
            }
            for activity in activities
        ],
        hide_index=True,
        width="stretch",
    )


def show_terms(offer: OfferView) -> None:
    if offer.status != OfferStatus.FOLLOW_UP:
        st.caption("La oferta está cerrada; reábrala para cambiar sus condiciones.")
        ui.show_price_table(offer.prices, offer.vehicle)
        return
    with st.form(f"ofertas_terms_{offer.id}"):
        columns = st.columns(3)
        prices = offer.prices
        discount = columns[0].text_input(
            "Descuento (€)", value=formatting.amount(prices.discount_cents)
        )
        options = columns[1].text_input(
            "Opciones y accesorios (€)", value=formatting.amount(prices.options_cents)
        )
        transport = columns[2].text_input(
            "Transporte y preentrega (€)",
            value=formatting.amount(prices.transport_cents),
        )
        temperature = st.slider(
            "Temperatura (%)", 0, 100, round(offer.temperature * 100), step=5
        )
        notes = st.text_area(
            "Observaciones para el cliente (se imprimen en la oferta)",
            value=offer.notes,
        )
        if st.form_submit_button("Guardar condiciones"):
            with ui.user_errors():
                update_terms(
                    engine,
                    offer.id,
                    viewer=viewer,
                    discount_cents=formatting.parse_money(
                        discount, label="El descuento"
                    ),
                    options_cents=formatting.parse_money(options, label="Las opciones"),
                    transport_cents=formatting.parse_money(
                        transport, label="El transporte"
                    ),
                    temperature=temperature / 100,
                    notes=notes,
                )
                st.session_state[ui.NOTICE_KEY] = (
                    f"Condiciones de {offer.number} guardadas."
                )
                st.rerun()
    ui.show_price_table(offer.prices, offer.vehicle)


def show_outcome(offer: OfferView) -> None:
    if offer.status != OfferStatus.FOLLOW_UP:
        closed = formatting.day(offer.closed_at)
        if offer.status == OfferStatus.WON:
            st.success(f"Éxito: vendida el {closed}.")
        else:
            details = " · ".join(p for p in (offer.lost_reason, offer.competitor) if p)
            st.error(f"Fracaso el {closed}: {details}")
        with st.form(f"ofertas_reopen_{offer.id}"):
            note = st.text_input("Motivo de la reapertura")
            if st.form_submit_button("Reabrir oferta"):
                with ui.user_errors():
                    reopen_offer(engine, offer.id, viewer=viewer, note=note)
                    st.session_state[ui.NOTICE_KEY] = (
                        f"Oferta {offer.number} reabierta."
                    )
                    st.rerun()
        return
    won, lost = st.columns(2)
    with won.form(f"ofertas_won_form_{offer.id}"):
        sold_on = st.date_input(
            "Fecha de venta",
            value="today",
            min_value=formatting.local(offer.created_at).date(),
            max_value="today",
            format="DD/MM/YYYY",
            key=f"ofertas_sold_{offer.id}",
        )
        if st.form_submit_button("Marcar Éxito"):
            with ui.user_errors():
                mark_won(engine, offer.id, viewer=viewer, sold_on=sold_on)
                st.session_state[ui.NOTICE_KEY] = (
                    f"Oferta {offer.number} marcada como Éxito."
                )
                st.rerun()
    with lost.form(f"ofertas_lost_form_{offer.id}"):
        reasons = {reason.id: reason.label for reason in list_lost_reasons(engine)}
        reason_id = st.selectbox(
            "Motivo",
            list(reasons),
            format_func=reasons.get,
            index=None,
            placeholder="Elija el motivo",
            key=f"ofertas_reason_{offer.id}",
        )
        make = st.text_input(
            "Marca de la competencia (opcional)", key=f"ofertas_cmake_{offer.id}"
        )
        model = st.text_input(
            "Modelo de la competencia (opcional)", key=f"ofertas_cmodel_{offer.id}"
        )
        if st.form_submit_button("Marcar Fracaso"):
            with ui.user_errors():
                mark_lost(
                    engine,
                    offer.id,
                    viewer=viewer,
                    reason_id=reason_id,
                    competitor_make=make,
                    competitor_model=model,
                )
                st.session_state[ui.NOTICE_KEY] = (
                    f"Oferta {offer.number} marcada como Fracaso."
                )
                st.rerun()


def show_history(offer: OfferView) -> None:
    events = list_events(engine, offer.id, viewer=viewer)
    st.dataframe(
        [
            {
                "Fecha": formatting.day_time(event.at),
                "Qué": OfferEventKind.LABELS.get(event.kind, event.kind),
                "De": OfferStatus.LABELS.get(event.from_value, event.from_value),
                "A": OfferStatus.LABELS.get(event.to_value, event.to_value),
                "Quién": event.user_name,
                "Nota": event.note,
            }
            for event in events
        ],
        hide_index=True,
        width="stretch",
    )
    if viewer.sees_all:
        people = {
            person.id: person.full_name for person in salespeople_with_role(engine)
        }
        columns = st.columns([3, 1])
        target = columns[0].selectbox(
            "Reasignar a",
            list(people),
            format_func=people.get,
            index=list(people).index(offer.salesperson.id)
            if offer.salesperson.id in people
            else 0,
            key=f"ofertas_reassign_to_{offer.id}",
        )
        if columns[1].button("Reasignar", key=f"ofertas_reassign_{offer.id}"):
            with ui.user_errors():
                reassign_offer(engine, offer.id, target, viewer=viewer)
                st.session_state[ui.NOTICE_KEY] = f"Oferta {offer.number} reasignada."
                st.rerun()


counts = status_counts(engine, viewer)
columns = st.columns(4)
for column, status in zip(columns, OfferStatus.LABELS, strict=False):
    column.metric(OfferStatus.LABELS[status], formatting.number(counts[status]))
columns[3].metric("Todas", formatting.number(sum(counts.values())))

filters = read_filters(viewer)
offers: list[OfferView] = []
bands = None
with ui.user_errors():
    # One grouped query gives the chart and the number of offers that match.
    bands = temperature_band_counts(engine, viewer=viewer, filters=filters)
    offers = show_list(filters, int(bands["offers"].sum()))

st.subheader("Seleccionar oferta")
offer = selected_offer(offers)
if offer is not None:
    with st.container(border=True):
        show_header(offer)
        show_customer(offer)
        delivery, follow_up, terms, outcome, history = st.tabs(
            ["Entrega", "Seguimiento", "Condiciones", "Resultado", "Historial"]
        )
        with delivery:
            show_delivery(offer)
        with follow_up:
            show_follow_up(offer)
        with terms:
            show_terms(offer)
        with outcome:
            show_outcome(offer)
        with history:
            show_history(offer)

if bands is not None and not bands.empty:
    st.plotly_chart(temperature_chart(bands), width="stretch")
