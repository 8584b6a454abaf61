import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from lib.db import make_engine, migrate, reading
from lib.errors import OfferDeskError
from lib.models import Availability, Condition, StockImport, Vehicle

PROJECT_ROOT = Path(__file__).resolve().parent.parent

STOCK = """\
mileage,make,model,fuel,gear,offerType,price,hp,year
235000,BMW,316,Diesel,Manual,Used,6800,116,2011
10,Citroen,C-Elysée,Gasoline,,Pre-registered,12990,,2021
3500,Others,,Electric,Manual,Used,5500,38,2018
"""


def run_cli(database_url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "OFFERDESK_DATABASE_URL": database_url,
        "OFFERDESK_DEMO_DATA": "false",
        "OFFERDESK_LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        [sys.executable, "-m", "lib.cli", *arguments],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def stock_file(tmp_path: Path) -> Path:
    path = tmp_path / "stock-marzo.csv"
    path.write_text(STOCK, encoding="utf-8")
    return path


def test_import_stock_prints_the_report_and_stores_the_vehicles(
    database_url: str, stock_file: Path
) -> None:
    result = run_cli(database_url, "import-stock", str(stock_file))

    assert result.returncode == 0, result.stderr
    table = dict(
        re.split(r"\s{2,}", line.strip())
        for line in result.stdout.splitlines()
        if re.search(r"\S\s{2,}\S", line)
    )
    assert table == {
        "Fichero": "stock-marzo.csv",
        "Filas leídas": "3",
        "Vehículos importados": "2",
        "Filas descartadas": "1",
        "Sin modelo": "1",
        "Tiempo": table["Tiempo"],
    }
    assert re.fullmatch(r"\d+,\d\d s", table["Tiempo"])
    assert "Línea 4: Sin modelo" in result.stdout.splitlines()
    assert "Importando… 3 de 3 filas" in result.stderr
    engine = make_engine(database_url)
    with reading(engine) as session:
        stored = [
            (vehicle.make, vehicle.model, vehicle.condition, vehicle.availability)
            for vehicle in session.scalars(select(Vehicle).order_by(Vehicle.id))
        ]
        record = session.scalars(select(StockImport)).one()
        counts = (record.file_name, record.imported_rows, record.skipped_rows)
    engine.dispose()
    assert stored == [
        ("BMW", "316", Condition.USED, Availability.IN_STOCK),
        ("Citroen", "C-Elysée", Condition.KM0, Availability.IN_STOCK),
    ]
    assert counts == ("stock-marzo.csv", 2, 1)


def test_same_file_twice_exits_1_with_the_spanish_message(
    database_url: str, stock_file: Path
) -> None:
    first = run_cli(database_url, "import-stock", str(stock_file))
    second = run_cli(database_url, "import-stock", str(stock_file))

    assert (first.returncode, second.returncode) == (0, 1)
    assert second.stdout == ""
    assert second.stderr.startswith("Error: Este fichero ya se importó el ")
    assert "«stock-marzo.csv», 2 vehículos" in second.stderr
    assert "Traceback" not in second.stderr


def test_file_that_is_not_stock_exits_1_and_writes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "clientes.csv"
    path.write_text("nombre,email\nAna,ana@example.com\n", encoding="utf-8")

    result = run_cli(database_url, "import-stock", str(path))

    assert result.returncode == 1
    assert "Faltan las columnas" in result.stderr
    engine = make_engine(database_url)
    with reading(engine) as session:
        assert session.scalars(select(Vehicle)).first() is None
    engine.dispose()


def test_missing_file_exits_1(database_url: str, tmp_path: Path) -> None:
    result = run_cli(database_url, "import-stock", str(tmp_path / "no-existe.csv"))

    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"Error: no existe el fichero {tmp_path}/no-existe.csv."
    )


def test_migrate_creates_the_schema(database_url: str) -> None:
    result = run_cli(database_url, "migrate")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Esquema de la base de datos al día."
    engine = make_engine(database_url)
    with reading(engine) as session:
        assert session.scalars(select(StockImport)).first() is None
    engine.dispose()


def test_reset_password_prints_a_one_time_password_that_logs_in(
    database_url: str,
) -> None:
    from lib.auth import authenticate, first_start

    engine = make_engine(database_url)
    migrate(engine)
    lost = first_start(engine, demo_data=False)[0].password

    result = run_cli(database_url, "reset-password", "gerente")

    assert result.returncode == 0, result.stderr
    match = re.search(r"«gerente» \(Gerente\): (\S+)\n", result.stdout)
    assert match is not None, result.stdout
    assert "Deberá cambiarla al entrar" in result.stdout
    viewer = authenticate(engine, "gerente", match.group(1))
    assert viewer.role == "MANAGER"
    with pytest.raises(OfferDeskError):
        authenticate(engine, "gerente", lost)
    engine.dispose()


def test_reset_password_of_an_unknown_user_exits_1(database_url: str) -> None:
    result = run_cli(database_url, "reset-password", "nadie")

    assert result.returncode == 1
    assert result.stderr.strip().endswith("Error: No existe el usuario «nadie».")


def test_set_email_gives_the_first_manager_an_address(database_url: str) -> None:
    from lib.auth import first_start
    from lib.models import User

    engine = make_engine(database_url)
    migrate(engine)
    first_start(engine, demo_data=False)

    result = run_cli(
        database_url, "set-email", "gerente", "Marta@Concesionario.example"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Correo de «gerente»: Marta@concesionario.example"
    with reading(engine) as session:
        stored = session.scalar(select(User.email).where(User.username == "gerente"))
    assert stored == "Marta@concesionario.example"
    refused = run_cli(database_url, "set-email", "gerente", "no-es-un-correo")
    assert refused.returncode == 1
    assert "no es válido" in refused.stderr
    engine.dispose()
