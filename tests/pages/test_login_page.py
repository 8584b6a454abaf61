"""The login in front of every page: the form, lockout, first password, expiry, logout,
the Usuarios page, and Streamlit's OpenID Connect login when it is configured."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from lib.auth import SecurityEventKind, issue_one_time_password
from lib.db import reading
from lib.models import Role, SecurityEvent, User, utcnow
from lib.views import Viewer

from .conftest import APP, PASSWORD, log_in, open_app

TITLES = {
    "pages/nueva_oferta.py": "Nueva oferta",
    "pages/resumen.py": "Resumen de la oferta",
    "pages/ofertas.py": "Ofertas",
    "pages/stock.py": "Stock",
    "pages/usuarios.py": "Usuarios",
    "pages/motivos.py": "Motivos de fracaso",
}
PAGES = list(TITLES)


def event_kinds(engine) -> list[str]:
    with reading(engine) as session:
        return list(
            session.scalars(select(SecurityEvent.event).order_by(SecurityEvent.id))
        )


def stored_user(engine, username: str) -> User:
    with reading(engine) as session:
        user = session.scalar(select(User).where(User.username == username))
        session.expunge(user)
        return user


def describe(at: AppTest) -> str:
    """What a run drew, for a failing assertion."""
    return repr(
        (
            [t.value for t in at.title],
            [f.label for f in at.text_input],
            [b.label for b in at.button],
            [m.value for m in at.sidebar.markdown],
            len(at.dataframe),
            len(at.metric),
            len(at.selectbox),
        )
    )


def shows_only_the_login_form(at: AppTest) -> bool:
    """True when the run drew the login form and nothing of any page."""
    return (
        [title.value for title in at.title] == ["Iniciar sesión"]
        and [field.label for field in at.text_input] == ["Usuario", "Contraseña"]
        and [button.label for button in at.button] == ["Entrar"]
        and not at.dataframe
        and not at.metric
        and not at.selectbox
        and not at.sidebar.markdown
    )


@pytest.mark.parametrize("page", PAGES)
def test_no_page_renders_without_a_session(app_db, manager, page) -> None:
    at = open_app()

    at.switch_page(page).run()

    assert not at.exception, at.exception
    assert shows_only_the_login_form(at)


@pytest.mark.parametrize("page", PAGES)
def test_a_page_opened_without_a_session_shows_after_the_login(
    app_db, manager, page
) -> None:
    at = open_app()
    at.switch_page(page).run()

    log_in(at, "marta")

    assert not at.exception, at.exception
    assert at.title[0].value == TITLES[page]


@pytest.mark.parametrize("page", PAGES)
def test_a_session_lost_on_a_page_leaves_only_the_login_form(
    app_db, manager, page
) -> None:
    at = open_app("marta")
    at.switch_page(page).run()
    assert at.title[0].value != "Iniciar sesión"

    # The same address in a browser session without login (a new tab, a
    # restarted server).
    for key in ("viewer", "last_activity", "frame_ran"):
        del at.session_state[key]
    at.run()

    assert not at.exception, at.exception
    assert shows_only_the_login_form(at)


def test_every_page_file_is_covered() -> None:
    assert sorted(PAGES) == sorted(
        f"pages/{path.name}" for path in (APP.parent / "pages").glob("*.py")
    )


def test_logout_leaves_only_the_login_form(app_db, manager) -> None:
    # Every page in a real browser: tests/browser/test_logout_in_browser.py.
    at = open_app("marta")

    at.sidebar.button(key="app_logout").click().run()

    assert shows_only_the_login_form(at), describe(at)
    at.run()
    assert shows_only_the_login_form(at)


def test_wrong_password_is_refused_with_one_message(app_db, seller) -> None:
    at = open_app()

    log_in(at, "lucia", "no-es-esta")

    assert [error.value for error in at.error] == ["Usuario o contraseña incorrectos."]
    assert shows_only_the_login_form(at)
    log_in(at, "nadie", "no-es-esta")
    assert [error.value for error in at.error] == ["Usuario o contraseña incorrectos."]


def test_login_shows_name_role_and_logout(app_db, seller) -> None:
    at = open_app("lucia")

    assert at.title[0].value == "Nueva oferta"
    assert at.sidebar.markdown[0].value == "**Lucía Fernández Ibáñez**  \nComercial"
    assert at.sidebar.button(key="app_logout").label == "Cerrar sesión"

    at.sidebar.button(key="app_logout").click().run()

    assert shows_only_the_login_form(at)
    assert "viewer" not in at.session_state
    assert event_kinds(app_db)[-2:] == [
        SecurityEventKind.LOGIN,
        SecurityEventKind.LOGOUT,
    ]


def test_repeated_failures_lock_the_account_in_the_form(app_db, seller) -> None:
    at = open_app()
    for _ in range(4):
        log_in(at, "lucia", "mal")
        assert at.error[0].value == "Usuario o contraseña incorrectos."

    log_in(at, "lucia", "mal")
    assert at.error[0].value.startswith(
        "La cuenta está bloqueada por demasiados intentos fallidos hasta las "
    )
    log_in(at, "lucia", PASSWORD)

    assert "bloqueada" in at.error[0].value
    assert shows_only_the_login_form(at)
    assert SecurityEventKind.LOCKOUT in event_kinds(app_db)


def test_one_time_password_leads_only_to_the_change_form(app_db, seller) -> None:
    issued = issue_one_time_password(app_db, seller.id, by="test")
    at = open_app()
    log_in(at, "lucia", issued.password)

    assert [title.value for title in at.title] == ["Cambiar la contraseña"]
    at.switch_page("pages/ofertas.py").run()
    assert [title.value for title in at.title] == ["Cambiar la contraseña"]
    assert not at.dataframe

    form = "FormSubmitter:password_form-Cambiar contraseña"
    at.text_input(key="password_old").input(issued.password)
    at.text_input(key="password_new").input("nueva-contraseña-1")
    at.text_input(key="password_again").input("nueva-contraseña-2")
    at.button(key=form).click().run()
    assert [error.value for error in at.error] == [
        "Las dos contraseñas nuevas no coinciden."
    ]

    at.text_input(key="password_old").input(issued.password)
    at.text_input(key="password_new").input("corta")
    at.text_input(key="password_again").input("corta")
    at.button(key=form).click().run()
    assert [error.value for error in at.error] == [
        "La nueva contraseña debe tener al menos 10 caracteres."
    ]
    assert stored_user(app_db, "lucia").must_change_password is True

    at.text_input(key="password_old").input(issued.password)
    at.text_input(key="password_new").input("nueva-contraseña-1")
    at.text_input(key="password_again").input("nueva-contraseña-1")
    at.button(key=form).click().run()

    assert not at.exception, at.exception
    assert at.title[0].value == "Ofertas"
    assert stored_user(app_db, "lucia").must_change_password is False
    assert [notice.value for notice in at.sidebar.success] == ["Contraseña cambiada."]


def test_idle_session_expires(app_db, seller) -> None:
    at = open_app("lucia")

    at.session_state["last_activity"] = utcnow() - timedelta(minutes=31)
    at.run()

    assert shows_only_the_login_form(at)
    assert [notice.value for notice in at.info] == [
        "Su sesión ha caducado por inactividad. Vuelva a entrar."
    ]
    assert event_kinds(app_db)[-1] == SecurityEventKind.SESSION_EXPIRED


def test_a_reset_password_must_be_changed_before_the_next_page(
    app_db, seller, manager
) -> None:
    from lib.users import reset_password

    at = open_app("lucia")
    at.switch_page("pages/ofertas.py").run()
    reset_password(app_db, seller.id, viewer=Viewer(manager.id, Role.MANAGER))

    at.run()

    assert [title.value for title in at.title] == ["Cambiar la contraseña"]
    assert not at.dataframe


def test_a_session_in_use_does_not_expire(app_db, seller) -> None:
    at = open_app("lucia")

    at.session_state["last_activity"] = utcnow() - timedelta(minutes=29)
    at.run()

    assert at.title[0].value == "Nueva oferta"


def test_deactivated_user_is_logged_out_at_the_next_click(
    app_db, seller, manager
) -> None:
    from lib.users import set_active

    at = open_app("lucia")
    set_active(app_db, seller.id, False, viewer=Viewer(manager.id, Role.MANAGER))

    at.run()

    assert shows_only_the_login_form(at)
    assert at.info[0].value == "Su cuenta ya no está activa."


def test_usuarios_by_address_refuses_a_salesperson(app_db, seller, manager) -> None:
    at = open_app("lucia")

    at.switch_page("pages/usuarios.py").run()

    assert [error.value for error in at.error] == [
        "Solo un gerente puede gestionar los usuarios."
    ]
    assert not at.dataframe
    assert event_kinds(app_db)[-1] == SecurityEventKind.ACCESS_DENIED


def test_motivos_by_address_refuses_a_salesperson(app_db, seller, manager) -> None:
    at = open_app("lucia")

    at.switch_page("pages/motivos.py").run()

    assert [error.value for error in at.error] == [
        "Solo un gerente puede cambiar la lista de motivos."
    ]
    assert [button.key for button in at.main.button] == []
    assert not at.text_input
    assert event_kinds(app_db)[-1] == SecurityEventKind.ACCESS_DENIED


def test_usuarios_page_refuses_a_salesperson_who_reaches_it(app_db, seller) -> None:
    at = AppTest.from_file(
        str(APP.parent / "pages" / "usuarios.py"), default_timeout=60
    )
    at.session_state["frame_ran"] = True
    at.session_state["viewer"] = Viewer(user_id=seller.id, role=Role.SALES)
    at.session_state["last_activity"] = utcnow()

    at.run()

    assert [error.value for error in at.error] == [
        "Solo un gerente puede gestionar los usuarios."
    ]
    assert not at.dataframe
    assert event_kinds(app_db)[-1] == SecurityEventKind.ACCESS_DENIED


def test_manager_creates_a_user_who_logs_in_with_the_password_shown_once(
    app_db, manager
) -> None:
    at = open_app("marta")
    at.switch_page("pages/usuarios.py").run()
    assert at.title[0].value == "Usuarios"

    at.text_input(key="usuarios_username").input("ainhoa")
    at.text_input(key="usuarios_full_name").input("Ainhoa Etxeberria Goñi")
    at.text_input(key="usuarios_email").input("ainhoa@concesionario.example")
    at.radio(key="usuarios_role").set_value("SALES")
    at.button(key="FormSubmitter:usuarios_new-Crear usuario").click().run()

    assert not at.exception, at.exception
    assert "«ainhoa»" in at.success[0].value
    password = at.code[0].value
    at.run()
    assert not at.code  # shown once
    table = at.dataframe[0].value
    assert sorted(table["Usuario"]) == ["ainhoa", "marta"]

    newcomer = open_app()
    log_in(newcomer, "ainhoa", password)
    assert [title.value for title in newcomer.title] == ["Cambiar la contraseña"]


def test_manager_resets_and_deactivates_from_the_page(app_db, seller, manager) -> None:
    at = open_app("marta")
    at.switch_page("pages/usuarios.py").run()

    at.selectbox(key="usuarios_selected").set_value(seller.id).run()
    at.button(key=f"usuarios_reset_{seller.id}").click().run()
    password = at.code[0].value
    at.selectbox(key="usuarios_selected").set_value(seller.id).run()
    at.button(key=f"usuarios_deactivate_{seller.id}").click().run()

    assert at.info[0].value == "Lucía Fernández Ibáñez ya no puede entrar."
    assert stored_user(app_db, "lucia").active is False
    refused = open_app()
    log_in(refused, "lucia", password)
    assert refused.error[0].value == "Usuario o contraseña incorrectos."


def test_manager_cannot_deactivate_themselves_on_the_page(app_db, manager) -> None:
    at = open_app("marta")
    at.switch_page("pages/usuarios.py").run()

    at.selectbox(key="usuarios_selected").set_value(manager.id).run()

    assert at.button(key=f"usuarios_deactivate_{manager.id}").disabled


AUTH_SECRETS = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "only-for-tests",
    "client_id": "ofertas",
    "client_secret": "only-for-tests",
    "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
}


def oidc_app(user: dict) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["auth"] = AUTH_SECRETS
    at.user = user
    at.run()
    assert not at.exception, at.exception
    return at


def test_oidc_configured_shows_no_password_form(app_db, seller) -> None:
    at = oidc_app({"is_logged_in": False})

    assert [title.value for title in at.title] == ["Iniciar sesión"]
    assert not at.text_input
    assert [button.label for button in at.button] == ["Entrar"]


def test_oidc_identity_is_mapped_by_email_to_its_user(app_db, seller) -> None:
    at = oidc_app(
        {
            "is_logged_in": True,
            "sub": "google-oauth2|1234",
            "email": "Lucia@concesionario.example",
            "email_verified": True,
        }
    )

    assert at.title[0].value == "Nueva oferta"
    assert at.sidebar.markdown[0].value == "**Lucía Fernández Ibáñez**  \nComercial"
    assert stored_user(app_db, "lucia").oidc_subject == "google-oauth2|1234"
    # Signed in through the identity provider: no password to change here.
    assert "Cambiar la contraseña" not in [
        link.label for link in at.sidebar.get("page_link")
    ]


def test_oidc_unknown_identity_is_refused_and_recorded(app_db, seller) -> None:
    at = oidc_app(
        {"is_logged_in": True, "sub": "x-9", "email": "intruso@correo.example"}
    )

    assert [title.value for title in at.title] == ["Iniciar sesión"]
    assert at.error[0].value == (
        "La cuenta intruso@correo.example no tiene acceso a Ofertas. "
        "Pida al gerente que le dé de alta con ese correo."
    )
    assert not at.dataframe
    assert event_kinds(app_db)[-1] == SecurityEventKind.LOGIN_REFUSED
    assert SecurityEventKind.LOGIN not in event_kinds(app_db)


def test_oidc_idle_session_ends_with_the_identity_logged_out(app_db, seller) -> None:
    at = oidc_app(
        {
            "is_logged_in": True,
            "sub": "google-oauth2|1234",
            "email": "lucia@concesionario.example",
            "email_verified": True,
        }
    )
    assert at.title[0].value == "Nueva oferta"

    at.session_state["last_activity"] = utcnow() - timedelta(minutes=31)
    at.run()

    assert at.user.get("is_logged_in") is False
    assert [title.value for title in at.title] == ["Iniciar sesión"]
    assert event_kinds(app_db)[-1] == SecurityEventKind.SESSION_EXPIRED
    at.run()
    assert [title.value for title in at.title] == ["Iniciar sesión"]
    assert [button.label for button in at.button] == ["Entrar"]
    assert event_kinds(app_db).count(SecurityEventKind.LOGIN) == 1


def test_oidc_identity_without_a_verified_email_is_not_linked(app_db, seller) -> None:
    at = oidc_app(
        {
            "is_logged_in": True,
            "sub": "entra|77",
            "email": "lucia@concesionario.example",
        }
    )

    assert [title.value for title in at.title] == ["Iniciar sesión"]
    assert "no tiene acceso a Ofertas" in at.error[0].value
    assert stored_user(app_db, "lucia").oidc_subject is None
