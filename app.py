"""The offer desk: the frame around the pages.

Every page starts with ``ui.require_frame()`` and ``ui.require_viewer()``:
without a session the page draws only the login form, with a one-time
password only the form that changes it. The navigation shows in the sidebar
once the user is in; before that the pages are registered but hidden, so
that any page's address leads to the login form instead of Streamlit's
"Page not found" dialog.
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
    # fpdf2 subsets fonts through fontTools, which reports every glyph at
    # INFO and would bury the first start's one-time passwords.
    logging.getLogger("fontTools").setLevel(logging.WARNING)


def page_list(account: UserAccount | None) -> list[st.Page]:
    """The pages of the user's role; before login, every page an address names.

    A page outside the role is still reachable by its address (Streamlit
    serves any file of ``pages/``); each page refuses what its viewer may
    not see.
    """
    pages = [
        st.Page("pages/nueva_oferta.py", title="Nueva oferta", icon="➕", default=True),
        st.Page("pages/resumen.py", title="Resumen de la oferta", icon="📝"),
        st.Page("pages/ofertas.py", title="Ofertas", icon="📋"),
        st.Page("pages/stock.py", title="Stock", icon="🚗"),
    ]
    if account is None or account.role == Role.MANAGER:
        pages.append(st.Page("pages/usuarios.py", title="Usuarios", icon="👥"))
        pages.append(st.Page("pages/motivos.py", title="Motivos de fracaso", icon="🗂️"))
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
signed_in = account is not None and not ui.must_change_password(account)
pages = st.navigation(page_list(account), position="sidebar" if signed_in else "hidden")
ui.mark_frame()
pages.run()
