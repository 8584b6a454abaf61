"""Page tests: the whole app under ``AppTest``, on a fresh SQLite file each."""

import email
import email.policy
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.customers import create_customer
from lib.db import make_engine
from lib.models import Availability
from lib.users import create_user
from lib.vehicles import create_factory_order, update_vehicle_identifiers

APP = Path(__file__).resolve().parents[2] / "app.py"


@pytest.fixture
def app_db(monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path):
    """Settings for the app under test: its own database and outbox, no demo data."""
    monkeypatch.setenv("OFFERDESK_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("OFFERDESK_DEMO_DATA", "false")
    monkeypatch.setenv("OFFERDESK_MAIL_BACKEND", "file")
    monkeypatch.setenv("OFFERDESK_OUTBOX_DIR", str(tmp_path / "outbox"))
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def seller(app_db):
    return create_user(
        app_db,
        username="lucia",
        full_name="Lucía Fernández Ibáñez",
        email="lucia@concesionario.example",
    )


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
    """The app, run once, on Nueva oferta."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def outbox_messages(tmp_path: Path) -> list[email.message.EmailMessage]:
    """Every message the file backend wrote, parsed."""
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted((tmp_path / "outbox").glob("*.eml"))
    ]
