"""The engine, sessions and schema migrations."""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from lib.config import PROJECT_ROOT

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


def _configure_sqlite(dbapi_connection: object, connection_record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite(connection: object) -> None:
    # pysqlite's own BEGIN is deferred, so two writers may both read and then
    # collide; taking the write lock at BEGIN makes a writer wait on the busy
    # timeout instead. Reads keep a plain BEGIN so they never wait on writers.
    if connection.get_execution_options().get("readonly"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_autocommit_driver(
    dbapi_connection: object, connection_record: object
) -> None:
    dbapi_connection.isolation_level = None


def make_engine(url: str) -> Engine:
    """Create the engine for a URL; SQLite gets WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 15})
    event.listen(engine, "connect", _sqlite_autocommit_driver)
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def alembic_config(url: str) -> Config:
    """An Alembic configuration for the project's migrations at this URL."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def _run_alembic(engine: Engine, step: Callable[[Config], None]) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            # SQLite rebuilds a table to alter it; foreign keys must be off
            # meanwhile, and that is only possible outside a transaction.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                step(config)
                if sqlite:
                    broken = connection.exec_driver_sql(
                        "PRAGMA foreign_key_check"
                    ).all()
                    if broken:
                        raise RuntimeError(
                            f"Migration left broken references: {broken[:5]}"
                        )
        finally:
            if sqlite:
                connection.connection.driver_connection.execute(
                    "PRAGMA foreign_keys=ON"
                )


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to a migration, the newest by default."""
    _run_alembic(engine, lambda config: command.upgrade(config, revision))
    logger.info("Database schema is at %s", revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to an earlier migration (for tests and emergencies)."""
    _run_alembic(engine, lambda config: command.downgrade(config, revision))
    logger.warning("Database schema taken back to %s", revision)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One short write transaction: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A read-only session that never waits on a writer."""
    with Session(
        engine.execution_options(readonly=True), expire_on_commit=False
    ) as session:
        yield session
        session.rollback()
