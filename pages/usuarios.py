"""Usuarios: a sales manager creates accounts, resets passwords, deactivates."""

import streamlit as st

from lib import formatting, ui
from lib.auth import IssuedPassword
from lib.errors import NotAllowed
from lib.models import Role
from lib.users import add_user, list_accounts, reset_password, set_active

ISSUED_KEY = "usuarios_issued"
NOTICE_KEY = "usuarios_notice"


def show_issued(issued: IssuedPassword) -> None:
    """A one-time password, shown this once."""
    st.success(
        f"Contraseña de un solo uso para «{issued.username}» ({issued.full_name}). "
        "Entréguesela en persona: no se volverá a mostrar y deberá cambiarla "
        "al entrar."
    )
    st.code(issued.password, language=None)


ui.require_frame()
viewer = ui.require_viewer()
st.title("Usuarios")
engine = ui.engine()
try:
    accounts = list_accounts(engine, viewer=viewer)
except NotAllowed as refused:
    st.error(refused.message)
    st.stop()

issued = st.session_state.pop(ISSUED_KEY, None)
if issued is not None:
    show_issued(issued)
notice = st.session_state.pop(NOTICE_KEY, None)
if notice:
    st.info(notice)

st.dataframe(
    {
        "Usuario": [account.username for account in accounts],
        "Nombre": [account.full_name for account in accounts],
        "Rol": [account.role_label for account in accounts],
        "Activo": ["Sí" if account.active else "No" for account in accounts],
        "Último acceso": [
            formatting.day_time(account.last_login_at) for account in accounts
        ],
        "Bloqueado hasta": [
            formatting.day_time(account.locked_until) for account in accounts
        ],
        "Contraseña provisional": [
            "Sí" if account.must_change_password else "No" for account in accounts
        ],
    },
    hide_index=True,
    width="stretch",
)

st.subheader("Nuevo usuario")
with st.form("usuarios_new", clear_on_submit=True):
    columns = st.columns(2)
    username = columns[0].text_input("Usuario (para entrar)", key="usuarios_username")
    full_name = columns[1].text_input("Nombre completo", key="usuarios_full_name")
    email = columns[0].text_input("Correo electrónico", key="usuarios_email")
    phone = columns[1].text_input("Teléfono", key="usuarios_phone")
    role = st.radio(
        "Rol",
        list(Role.LABELS),
        format_func=Role.LABELS.get,
        horizontal=True,
        key="usuarios_role",
    )
    created = st.form_submit_button("Crear usuario", type="primary")
if created:
    with ui.user_errors():
        st.session_state[ISSUED_KEY] = add_user(
            engine,
            viewer=viewer,
            username=username,
            full_name=full_name,
            role=role,
            email=email,
            phone=phone,
        )
        st.rerun()

st.subheader("Gestionar un usuario")
by_id = {account.id: account for account in accounts}
chosen = st.selectbox(
    "Usuario",
    list(by_id),
    index=None,
    placeholder="Elija un usuario",
    format_func=lambda user_id: (
        f"{by_id[user_id].full_name} · {by_id[user_id].username} · "
        f"{by_id[user_id].role_label}"
        + ("" if by_id[user_id].active else " · inactivo")
    ),
    key="usuarios_selected",
)
if chosen is None:
    st.stop()
account = by_id[chosen]
actions = st.columns(2)
if actions[0].button("Restablecer contraseña", key=f"usuarios_reset_{account.id}"):
    with ui.user_errors():
        st.session_state[ISSUED_KEY] = reset_password(engine, account.id, viewer=viewer)
        st.rerun()
if account.active:
    if actions[1].button(
        "Desactivar",
        key=f"usuarios_deactivate_{account.id}",
        disabled=account.id == viewer.user_id,
        help="No puede desactivar su propia cuenta."
        if account.id == viewer.user_id
        else "No podrá entrar; sus ofertas se conservan.",
    ):
        with ui.user_errors():
            set_active(engine, account.id, False, viewer=viewer)
            st.session_state[NOTICE_KEY] = f"{account.full_name} ya no puede entrar."
            st.rerun()
elif actions[1].button("Reactivar", key=f"usuarios_reactivate_{account.id}"):
    with ui.user_errors():
        set_active(engine, account.id, True, viewer=viewer)
        st.session_state[NOTICE_KEY] = f"{account.full_name} puede volver a entrar."
        st.rerun()
