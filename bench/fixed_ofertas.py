"""The Ofertas page's widgets over fixed data: what Streamlit itself costs.

Run by ``bench.bench_ofertas`` under AppTest as the yardstick for the real
page; it touches no database.
"""

import pandas as pd
import streamlit as st

from lib.charts import temperature_chart

ROWS = pd.DataFrame(
    {
        "Número": [f"2026-{n:06d}" for n in range(50)],
        "Estado": ["en Seguimiento"] * 50,
        "Creada": ["03/12/2026"] * 50,
        "Última entrega": ["03/12/2026"] * 50,
        "Cliente": ["Íñigo Muñoz Peñalver"] * 50,
        "Teléfono": ["612 34 56 78"] * 50,
        "Correo": ["inigo@correo.example"] * 50,
        "Temperatura": ["🔥 80 %"] * 50,
        "Vehículo": ["🟢"] * 50,
        "Modelo": ["SEAT León FR"] * 50,
        "Bastidor": ["VSSZZZKJZRR012345"] * 50,
        "Nº pedido": ["P1234567"] * 50,
        "Nº comisión": ["C026001"] * 50,
        "Total": ["23.450,00 €"] * 50,
        "Comercial": ["Lucía Fernández"] * 50,
        "Próximo contacto": [""] * 50,
        "Avisos": [""] * 50,
    }
)

BANDS = pd.DataFrame(
    [
        ("Fría", "en Seguimiento", 2),
        ("Muy caliente", "Éxito", 5),
        ("Templada", "Fracaso", 1),
    ],
    columns=["band", "status", "offers"],
)

st.title("Ofertas")
columns = st.columns(4)
for column, (label, value) in zip(
    columns,
    [("en Seguimiento", "1"), ("Éxito", "2"), ("Fracaso", "3"), ("Todas", "6")],
    strict=True,
):
    column.metric(label, value)
top = st.columns([2, 3])
top[0].radio("Estado", ["en Seguimiento", "Éxito", "Fracaso", "Todas"], horizontal=True)
top[1].text_input("Buscar", key="fixed_search")
with st.expander("Más filtros"):
    more = st.columns(3)
    more[0].selectbox("Comercial", ["Lucía"], index=None)
    more[1].selectbox("Marca", ["SEAT"], index=None)
    more[2].selectbox("Modelo", ["León"], index=None)
    more[0].selectbox("Temperatura", ["Fría"], index=None)
    more[1].date_input("Creada entre", value=())
    more[2].date_input("Entregada entre", value=())
    more[0].checkbox("Solo con contacto pendiente")
    more[1].checkbox("Solo caducadas")
st.dataframe(ROWS, hide_index=True)
pager = st.columns([2, 1, 1, 2, 2])
pager[0].caption("Página 1 · 50 ofertas")
pager[1].button("◀ Anterior")
pager[2].button("Siguiente ▶")
pager[3].button("Exportar CSV")
pager[4].button("Exportar Excel")
st.subheader("Seleccionar oferta")
st.selectbox("Oferta", list(ROWS["Número"]), index=None)
st.plotly_chart(temperature_chart(BANDS))
