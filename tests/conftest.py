"""Fixtures: a fresh, migrated database per test, on SQLite and on PostgreSQL.

PostgreSQL is used when ``OFFERDESK_TEST_POSTGRES_URL`` is set (``.ci/run``
sets it to the local server); under CI an unreachable server is an error,
never a silent skip.
"""

import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from lib.db import make_engine, migrate
from lib.lost_reasons import DEFAULT_LOST_REASONS
from lib.models import Base, LostReason
from lib.views import SalespersonView

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
STOCK_CSV = SHARED_DATA / "stock-autoscout24-de.csv"
POSTGRES_URL = os.environ.get("OFFERDESK_TEST_POSTGRES_URL", "")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    # Fold the write-ahead log into the file so that a plain copy is complete.
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    """A database of this test run's own on the PostgreSQL server, migrated once.

    Each run creates and drops its own database, so two runs on one server
    never empty each other's tables.
    """
    server = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    name = f"offerdesk_test_{uuid.uuid4().hex[:12]}"
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(
        make_url(POSTGRES_URL).set(database=name).render_as_string(False)
    )
    migrate(engine)
    yield engine
    engine.dispose()
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    server.dispose()


def empty_postgres(engine: Engine) -> None:
    """Empty every table of the run's PostgreSQL database, as a new one starts."""
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(
            LostReason.__table__.insert(),
            [
                {"label": label, "active": True, "position": index}
                for index, label in enumerate(DEFAULT_LOST_REASONS)
            ],
        )


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """The URL of a fresh, migrated SQLite file for this test."""
    path = tmp_path / "ofertas.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Engine]:
    """A fresh, migrated, empty database: SQLite always, PostgreSQL when configured."""
    if request.param == "sqlite":
        path = tmp_path / "ofertas.db"
        shutil.copyfile(sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
        return
    engine = request.getfixturevalue("postgres_engine")
    empty_postgres(engine)
    yield engine


@pytest.fixture
def stock_csv() -> Path:
    """The real dealer stock file beside the project."""
    if not STOCK_CSV.exists():
        if IN_CI:
            pytest.fail(f"{STOCK_CSV} is missing")
        pytest.skip("shared stock file not present")
    return STOCK_CSV


@pytest.fixture
def salesperson(engine: Engine) -> SalespersonView:
    """A salesperson with an accented name."""
    from lib.users import create_user

    return create_user(
        engine,
        username="lucia",
        full_name="Lucía Fernández Ibáñez",
        email="lucia.fernandez@concesionario.example",
        phone="+34910000001",
    )
