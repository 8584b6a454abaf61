"""Stock: import a dealer's CSV, browse the vehicles, give them their identifiers."""

import math

import streamlit as st

from lib import formatting, ui
from lib.models import Availability
from lib.stock import StockImportReport, import_stock
from lib.vehicles import (
    count_vehicles,
    list_vehicles,
    update_vehicle_identifiers,
    vehicles_table,
)

PAGE_SIZE = 50
REPORT_KEY = "stock_report"
NOTICE_KEY = "stock_notice"


def _availability(key: str) -> str:
    return f"{Availability.ICONS[key]} {Availability.LABELS[key]}"


def _show_report(report: StockImportReport) -> None:
    vehicles = "vehículo importado" if report.imported == 1 else "vehículos importados"
    rows = "fila" if report.rows == 1 else "filas"
    st.success(
        f"«{report.file_name}»: {formatting.number(report.imported)} {vehicles} "
        f"de {formatting.number(report.rows)} {rows} en "
        f"{formatting.number(report.seconds, 1)} s."
    )
    if not report.skipped:
        return
    skipped = "fila descartada" if report.skipped == 1 else "filas descartadas"
    st.warning(f"{formatting.number(report.skipped)} {skipped}.")
    st.dataframe(
        {
            "Motivo": list(report.skipped_by_reason),
            "Filas": [
                formatting.number(count) for count in report.skipped_by_reason.values()
            ],
        },
        hide_index=True,
    )
    with st.expander(f"Ejemplos de filas descartadas ({len(report.examples)})"):
        st.dataframe(
            {
                "Línea": [str(example.line) for example in report.examples],
                "Motivo": [example.reason for example in report.examples],
            },
            hide_index=True,
        )


ui.require_frame()
viewer = ui.require_viewer()
st.title("Stock")
engine = ui.engine()
notice = st.session_state.pop(NOTICE_KEY, None)
if notice:
    st.success(notice)

counts = count_vehicles(engine)
for column, (availability, count) in zip(
    st.columns(len(counts)), counts.items(), strict=True
):
    column.metric(_availability(availability), formatting.number(count))

st.subheader("Importar stock")
uploaded = st.file_uploader(
    "Fichero CSV de stock",
    type=["csv"],
    key="stock_file",
    help="Columnas: mileage, make, model, fuel, gear, offerType, price, hp, year.",
)
if st.button("Importar", key="stock_import", type="primary", disabled=not uploaded):
    st.session_state.pop(REPORT_KEY, None)
    bar = st.progress(0.0, text="Importando…")
    with ui.user_errors():
        st.session_state[REPORT_KEY] = import_stock(
            engine,
            uploaded,
            file_name=uploaded.name,
            imported_by_id=viewer.user_id,
            progress=lambda done, total: bar.progress(
                done / total,
                text=f"Importando… {formatting.number(done)} de "
                f"{formatting.number(total)} filas",
            ),
        )
        st.rerun()  # the counts above were drawn before the import
    bar.empty()
report = st.session_state.get(REPORT_KEY)
if report is not None:
    _show_report(report)

st.subheader("Vehículos")
query = st.text_input(
    "Buscar (marca, modelo, bastidor, número de pedido o de comisión)",
    key="stock_query",
)
# One pager per search, so that a new search starts on its first page.
page_key = f"stock_page:{' '.join(query.lower().split())}"
page = st.session_state.get(page_key, 1)
vehicles, total = list_vehicles(engine, query, page=page, page_size=PAGE_SIZE)
pages = max(1, math.ceil(total / PAGE_SIZE))
if page > pages:
    page = pages
    vehicles, total = list_vehicles(engine, query, page=page, page_size=PAGE_SIZE)
if total == 0:
    st.info(
        "Ningún vehículo coincide con la búsqueda."
        if query.strip()
        else "Aún no hay vehículos: importe un fichero de stock."
    )
    st.stop()
st.caption(
    f"{formatting.number(total)} vehículos · página {formatting.number(page)} "
    f"de {formatting.number(pages)}"
)
st.dataframe(vehicles_table(vehicles), hide_index=True, width="stretch")
st.pagination(pages, key=page_key)

st.subheader("Identificar un vehículo")
by_id = {vehicle.id: vehicle for vehicle in vehicles}
chosen = st.selectbox(
    "Vehículo de esta página",
    list(by_id),
    index=None,
    placeholder="Elija un vehículo de la lista",
    format_func=lambda vehicle_id: (
        f"{vehicle_id} · {ui.vehicle_label(by_id[vehicle_id])}"
    ),
    key="stock_vehicle",
)
if chosen is None:
    st.stop()
vehicle = by_id[chosen]
with st.form(f"stock_edit_{vehicle.id}"):
    vin = st.text_input(
        "Bastidor (VIN)", value=vehicle.vin or "", key=f"stock_vin_{vehicle.id}"
    )
    order_number = st.text_input(
        "Número de pedido",
        value=vehicle.order_number or "",
        key=f"stock_order_{vehicle.id}",
    )
    commission_number = st.text_input(
        "Número de comisión",
        value=vehicle.commission_number or "",
        key=f"stock_commission_{vehicle.id}",
    )
    availability = st.selectbox(
        "Indicador del vehículo",
        list(Availability.LABELS),
        index=list(Availability.LABELS).index(vehicle.availability),
        format_func=_availability,
        key=f"stock_availability_{vehicle.id}",
    )
    saved = st.form_submit_button("Guardar")
if saved:
    with ui.user_errors():
        updated = update_vehicle_identifiers(
            engine,
            vehicle.id,
            vin=vin,
            order_number=order_number,
            commission_number=commission_number,
            availability=availability,
            updated_by_id=viewer.user_id,
        )
        st.session_state[NOTICE_KEY] = f"Guardado: {ui.vehicle_label(updated)}"
        st.rerun()
