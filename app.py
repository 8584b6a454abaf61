"""The offer desk: the frame around the pages.

Without a session only the login form renders; a user with a one-time
password sees only the form that changes it; everyone else gets the pages
of their role. Each page checks the session again (``ui.require_viewer``),
because Streamlit reruns a page of ``pages/`` without this file.
"""

import logging

import streamlit as st

from lib import ui
from lib.models import Role
from lib.users import UserAccount

st.set_page_config(page_title="Ofertas", page_icon="🚗", layout="wide")


@st.cache_resource(show_spinner=False)
def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def page_list(account: UserAccount) -> list[st.Page]:
    """The pages of the signed-in user's role."""
    pages = [
        st.Page("pages/nueva_oferta.py", title="Nueva oferta", icon="➕", default=True),
        st.Page("pages/resumen.py", title="Resumen de la oferta", icon="📝"),
        st.Page("pages/ofertas.py", title="Ofertas", icon="📋"),
        st.Page("pages/stock.py", title="Stock", icon="🚗"),
    ]
    if account.role == Role.MANAGER:
        pages.append(st.Page("pages/usuarios.py", title="Usuarios", icon="👥"))
    if not ui.oidc_configured():
        pages.append(
            st.Page(
                ui.change_password_page,
                title="Cambiar la contraseña",
                icon="🔑",
                url_path="contrasena",
            )
        )
    return pages


_configure_logging(ui.settings().log_level)
engine = ui.engine()
account = ui.signed_in_account(engine)

if account is None:
    login = st.Page(ui.login_page, title="Iniciar sesión", icon="🔐", url_path="login")
    pages = st.navigation([login], position="hidden")
elif ui.must_change_password(account):
    # Its own address: once changed, the rerun falls through to the default page.
    change = st.Page(
        ui.change_password_page,
        title="Cambiar la contraseña",
        icon="🔑",
        url_path="nueva-contrasena",
    )
    pages = st.navigation([change], position="hidden")
else:
    pages = st.navigation(page_list(account))
ui.mark_frame()
pages.run()
