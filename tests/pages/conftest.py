"""Page tests: the whole app under ``AppTest``, on SQLite and on PostgreSQL."""

import email
import email.policy
import functools
import uuid
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.auth import hash_password
from lib.customers import create_customer
from lib.db import make_engine, transaction
from lib.models import Availability, Role, User
from lib.offers import create_offer
from lib.users import create_user
from lib.vehicles import create_factory_order, update_vehicle_identifiers
from tests.conftest import BACKENDS, empty_postgres

APP = Path(__file__).resolve().parents[2] / "app.py"
PASSWORD = "contraseña-de-pruebas"


@functools.cache
def _password_hash() -> str:
    # Argon2 is slow on purpose: hash the tests' password once per run.
    return hash_password(PASSWORD)


def give_password(engine, user_id: int, *, must_change: bool = False) -> None:
    """Store PASSWORD for a user, as a finished password change leaves it."""
    with transaction(engine) as session:
        user = session.get(User, user_id)
        user.password_hash = _password_hash()
        user.must_change_password = must_change


def log_in(at: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    """Fill in and send the real login form."""
    assert [title.value for title in at.title] == ["Iniciar sesión"]
    form = at.session_state["login_form_key"]
    at.text_input(key=f"{form}_username").input(username)
    at.text_input(key=f"{form}_password").input(password)
    at.button(key=f"FormSubmitter:{form}-Entrar").click().run()
    return at


def stored_offer(engine, seller, vehicle, **values):
    """An offer of ``seller``'s for ``vehicle`` at its price, stored directly."""
    arguments = {
        "request_token": uuid.uuid4().hex,
        "vehicle_id": vehicle.id,
        "salesperson_id": seller.id,
        "price_cents": vehicle.price_cents,
        "temperature": 0.9,
    }
    arguments.update(values)
    return create_offer(engine, **arguments)


def open_app(username: str | None = None) -> AppTest:
    """The app run once; logged in as ``username`` through the form if given."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    if username is not None:
        log_in(at, username)
    assert not at.exception, at.exception
    return at


@pytest.fixture(params=BACKENDS)
def app_db(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    """Settings for the app under test: its own database and outbox, no demo data.

    On SQLite a fresh file; on PostgreSQL the run's database, emptied.
    """
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_url")
    else:
        server = request.getfixturevalue("postgres_engine")
        empty_postgres(server)
        url = server.url.render_as_string(hide_password=False)
    monkeypatch.setenv("OFFERDESK_DATABASE_URL", url)
    monkeypatch.setenv("OFFERDESK_DEMO_DATA", "false")
    monkeypatch.setenv("OFFERDESK_MAIL_BACKEND", "file")
    monkeypatch.setenv("OFFERDESK_OUTBOX_DIR", str(tmp_path / "outbox"))
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def seller(app_db):
    """Lucía, a salesperson (comercial) who can log in with PASSWORD."""
    made = create_user(
        app_db,
        username="lucia",
        full_name="Lucía Fernández Ibáñez",
        email="lucia@concesionario.example",
    )
    give_password(app_db, made.id)
    return made


@pytest.fixture
def other_seller(app_db):
    """Jordi, another salesperson who can log in with PASSWORD."""
    made = create_user(
        app_db,
        username="jordi",
        full_name="Jordi Puig Martí",
        email="jordi@concesionario.example",
    )
    give_password(app_db, made.id)
    return made


@pytest.fixture
def manager(app_db):
    """Marta, a sales manager (gerente) who can log in with PASSWORD."""
    made = create_user(
        app_db,
        username="marta",
        full_name="Marta Sánchez Ruiz",
        role=Role.MANAGER,
        email="marta@concesionario.example",
    )
    give_password(app_db, made.id)
    return made


@pytest.fixture
def stock_vehicle(app_db):
    made = create_factory_order(
        app_db,
        make="SEAT",
        model="León",
        version="FR",
        colour="Rojo",
        price_cents=2345000,
        co2_gkm=118,
    )
    return update_vehicle_identifiers(
        app_db,
        made.id,
        vin="VSSZZZKJZRR012345",
        order_number="P1234567",
        commission_number="C026001",
        availability=Availability.IN_STOCK,
    )


@pytest.fixture
def known_customer(app_db):
    return create_customer(
        app_db,
        first_name="Íñigo",
        last_name="Muñoz Peñalver",
        phone="612345678",
        email="inigo.munoz@correo.example",
        email_consent=True,
        email_consent_method="IN_PERSON",
    )


@pytest.fixture
def app(app_db, seller) -> AppTest:
    """The app with Lucía logged in through the login form, on Nueva oferta."""
    at = open_app("lucia")
    assert at.title[0].value == "Nueva oferta"
    return at


def outbox_messages(tmp_path: Path) -> list[email.message.EmailMessage]:
    """Every message the file backend wrote, parsed."""
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted((tmp_path / "outbox").glob("*.eml"))
    ]
