"""The offer desk: the frame around the pages."""

import logging

import streamlit as st

from lib import ui
from lib.users import get_viewer, list_salespeople

st.set_page_config(page_title="Ofertas", page_icon="🚗", layout="wide")


@st.cache_resource(show_spinner=False)
def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


_configure_logging(ui.settings().log_level)
engine = ui.engine()

pages = st.navigation(
    [
        st.Page("pages/nueva_oferta.py", title="Nueva oferta", icon="➕", default=True),
        st.Page("pages/resumen.py", title="Resumen de la oferta", icon="📝"),
        st.Page("pages/ofertas.py", title="Ofertas", icon="📋"),
        st.Page("pages/stock.py", title="Stock", icon="🚗"),
    ]
)

salespeople = list_salespeople(engine)
if not salespeople:
    st.sidebar.warning("No hay comerciales dados de alta.")
else:
    names = {person.id: person.full_name for person in salespeople}
    chosen = st.sidebar.selectbox(
        "Comercial",
        options=list(names),
        format_func=names.get,
        index=list(names).index(ui.current_user_id()) if ui.current_user_id() in names else 0,
        key="app_user",
    )
    st.session_state[ui.VIEWER_KEY] = get_viewer(engine, chosen)

if ui.settings().mail_backend == "file":
    st.sidebar.caption(
        "📁 Modo de demostración: los correos se guardan como ficheros en el servidor; "
        "ninguno sale de esta máquina."
    )

ui.mark_frame()
pages.run()
