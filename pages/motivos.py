"""Motivos de fracaso: the list a sales manager keeps of why offers are lost."""

import streamlit as st

from lib import ui
from lib.errors import NotAllowed
from lib.lost_reasons import (
    add_lost_reason,
    list_lost_reasons,
    require_reason_manager,
    retire_lost_reason,
)

ui.require_frame()
viewer = ui.require_viewer()
st.title("Motivos de fracaso")
engine = ui.engine()
try:
    require_reason_manager(engine, viewer)
except NotAllowed as refused:
    st.error(refused.message)
    st.stop()
notice = st.session_state.pop("motivos_notice", None)
if notice:
    st.info(notice)

st.caption(
    "Los comerciales eligen uno de estos motivos al marcar una oferta como Fracaso. "
    "Retirar un motivo no cambia las ofertas que ya lo tienen."
)
with st.form("motivos_add", clear_on_submit=True):
    label = st.text_input("Nuevo motivo", key="motivos_label")
    if st.form_submit_button("Añadir motivo"):
        with ui.user_errors():
            added = add_lost_reason(engine, label, viewer=viewer)
            st.session_state["motivos_notice"] = f"Motivo «{added.label}» añadido."
            st.rerun()

for reason in list_lost_reasons(engine):
    row = st.columns([4, 1])
    row[0].markdown(reason.label)
    if row[1].button("Retirar", key=f"motivos_retire_{reason.id}"):
        with ui.user_errors():
            retire_lost_reason(engine, reason.id, viewer=viewer)
            st.session_state["motivos_notice"] = f"Motivo «{reason.label}» retirado."
            st.rerun()
