import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from lib.db import reading
from lib.errors import StockImportError
from lib.models import Availability, Condition, StockImport, Vehicle
from lib.stock import CHUNK_ROWS, SkippedRow, import_stock

HEADER = "mileage,make,model,fuel,gear,offerType,price,hp,year"
GOLF = "92800,Volkswagen,Golf,Gasoline,Manual,Used,6877,122,2011"


def csv_bytes(*lines: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return "\n".join([header, *lines, ""]).encode(encoding)


def run_import(engine: Engine, content: bytes, file_name: str = "stock.csv", **more):
    return import_stock(engine, io.BytesIO(content), file_name=file_name, **more)


def test_import_records_who_imported(engine: Engine, salesperson) -> None:
    report = run_import(engine, csv_bytes(GOLF), imported_by_id=salesperson.id)

    with reading(engine) as session:
        record = session.get(StockImport, report.stock_import_id)
        assert (record.imported_by_id, record.imported_rows) == (salesperson.id, 1)


def count(engine: Engine, model: type) -> int:
    with reading(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def vehicles(engine: Engine) -> list[Vehicle]:
    with reading(engine) as session:
        stored = list(session.scalars(select(Vehicle).order_by(Vehicle.id)))
        session.expunge_all()
        return stored


def real_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_real_stock_file_imports_every_row(engine: Engine, stock_csv: Path) -> None:
    rows = real_rows(stock_csv)
    calls: list[tuple[int, int]] = []

    with stock_csv.open("rb") as source:
        report = import_stock(
            engine,
            source,
            file_name=stock_csv.name,
            progress=lambda done, total: calls.append((done, total)),
        )

    assert len(rows) == 46_405
    assert report.imported + report.skipped == 46_405
    assert report.skipped_by_reason == {"Sin modelo": 143}
    assert report.imported == 46_262
    assert count(engine, Vehicle) == report.imported
    with reading(engine) as session:
        record = session.get(StockImport, report.stock_import_id)
        assert (record.imported_rows, record.skipped_rows) == (46_262, 143)
        assert record.file_name == "stock-autoscout24-de.csv"
        km0 = session.scalar(
            select(func.count()).where(Vehicle.condition == Condition.KM0)
        )
        elysee = session.scalar(select(func.count()).where(Vehicle.model == "C-Elysée"))
        in_stock = session.scalar(
            select(func.count()).where(
                Vehicle.availability == Availability.IN_STOCK,
                Vehicle.vin.is_(None),
                Vehicle.order_number.is_(None),
                Vehicle.commission_number.is_(None),
            )
        )
    assert km0 == sum(
        1 for row in rows if row["offerType"] == "Pre-registered" and row["model"]
    )
    assert elysee == sum(1 for row in rows if row["model"] == "C-Elysée") > 0
    assert in_stock == report.imported

    first = report.examples[0]
    assert first == SkippedRow(line=367, reason="Sin modelo")
    line = stock_csv.read_text(encoding="utf-8").splitlines()[first.line - 1]
    assert line.split(",")[2] == ""
    assert len(report.examples) == 143

    done = [call[0] for call in calls]
    assert done == sorted(done) and len(set(done)) == len(done)
    assert calls[-1] == (46_405, 46_405)
    assert all(total == 46_405 for _, total in calls)
    assert len(calls) >= 46_405 // CHUNK_ROWS

    with stock_csv.open("rb") as source, pytest.raises(StockImportError) as refused:
        import_stock(engine, source, file_name="otra-vez.csv")
    assert "ya se importó" in refused.value.message
    assert "stock-autoscout24-de.csv" in refused.value.message
    assert count(engine, Vehicle) == 46_262
    assert count(engine, StockImport) == 1


def test_row_values_are_mapped(engine: Engine) -> None:
    report = run_import(
        engine,
        csv_bytes(
            GOLF,
            "10,Citroen,C-Elysée,Electric/Gasoline,Automatic,Pre-registered,"
            "15990,,2021",
            "0,Renault,Zoe,Electric,,New,31990.50,109,2021",
        ),
    )

    assert (report.imported, report.skipped) == (3, 0)
    golf, elysee, zoe = vehicles(engine)
    assert (golf.make, golf.model, golf.fuel, golf.gear) == (
        "Volkswagen",
        "Golf",
        "Gasolina",
        "Manual",
    )
    assert (golf.condition, golf.price_cents, golf.power_hp) == (
        Condition.USED,
        687_700,
        122,
    )
    assert (golf.year, golf.mileage_km, golf.availability) == (
        2011,
        92_800,
        Availability.IN_STOCK,
    )
    assert (elysee.model, elysee.fuel, elysee.gear) == (
        "C-Elysée",
        "Híbrido gasolina",
        "Automático",
    )
    assert (elysee.condition, elysee.power_hp) == (Condition.KM0, None)
    assert (zoe.gear, zoe.condition, zoe.price_cents) == ("", Condition.NEW, 3_199_050)
    assert golf.stock_import_id == report.stock_import_id


@pytest.mark.parametrize(
    ("offer_type", "condition"),
    [
        ("New", Condition.NEW),
        ("Pre-registered", Condition.KM0),
        ("Demonstration", Condition.DEMO),
        ("Used", Condition.USED),
        ("Employee's car", Condition.EMPLOYEE),
    ],
)
def test_offer_type_becomes_condition(
    engine: Engine, offer_type: str, condition: str
) -> None:
    run_import(
        engine, csv_bytes(f"1000,Kia,Ceed,Diesel,Manual,{offer_type},9000,,2019")
    )

    assert vehicles(engine)[0].condition == condition


@pytest.mark.parametrize(
    ("fuel", "label"),
    [
        ("Gasoline", "Gasolina"),
        ("Diesel", "Diésel"),
        ("Electric", "Eléctrico"),
        ("Electric/Gasoline", "Híbrido gasolina"),
        ("Electric/Diesel", "Híbrido diésel"),
        ("LPG", "GLP"),
        ("CNG", "GNC"),
        ("Ethanol", "Etanol"),
        ("Hydrogen", "Hidrógeno"),
        ("Others", ""),
        ("-/- (Fuel)", ""),
        ("", ""),
    ],
)
def test_fuel_becomes_spanish_label(engine: Engine, fuel: str, label: str) -> None:
    run_import(
        engine, csv_bytes(f"1000,Kia,Ceed,{fuel},Semi-automatic,Used,9000,,2019")
    )

    vehicle = vehicles(engine)[0]
    assert (vehicle.fuel, vehicle.gear) == (label, "Semiautomático")


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("1000,,Ceed,Diesel,Manual,Used,9000,100,2019", "Sin marca"),
        ("1000,Kia,,Diesel,Manual,Used,9000,100,2019", "Sin modelo"),
        (
            "1000,Kia,Ceed,Diesel,Manual,Leasing,9000,100,2019",
            "Tipo de oferta desconocido",
        ),
        ("1000,Kia,Ceed,Diesel,Manual,Used,nueve mil,100,2019", "Precio no válido"),
        ("1000,Kia,Ceed,Diesel,Manual,Used,0,100,2019", "Precio no válido"),
        ("1000,Kia,Ceed,Diesel,Manual,Used,9000,100,20x9", "Año no válido"),
        ("1000,Kia,Ceed,Diesel,Manual,Used,9000,100,1850", "Año no válido"),
        ("-5,Kia,Ceed,Diesel,Manual,Used,9000,100,2019", "Kilometraje no válido"),
        (",Kia,Ceed,Diesel,Manual,Used,9000,100,2019", "Kilometraje no válido"),
        ("1000,Kia,Ceed,Diesel,Manual,Used,9000,cien,2019", "Potencia no válida"),
        ("1000,Kia,Ceed,Diesel", "Número de columnas incorrecto"),
        (
            f"1000,Kia,{'X' * 121},Diesel,Manual,Used,9000,100,2019",
            "Modelo demasiado largo",
        ),
    ],
)
def test_bad_row_is_skipped_with_its_line_and_reason(
    engine: Engine, row: str, reason: str
) -> None:
    report = run_import(engine, csv_bytes(GOLF, row, GOLF))

    assert (report.imported, report.skipped) == (2, 1)
    assert report.skipped_by_reason == {reason: 1}
    assert report.examples == [SkippedRow(line=3, reason=reason)]
    assert count(engine, Vehicle) == 2


def test_semicolons_bom_and_column_order_from_excel(engine: Engine) -> None:
    content = csv_bytes(
        "Renault;Mégane;Diesel;Manual;Used;6950;110;2011;96200",
        header="make;model;fuel;gear;offerType;price;hp;year;mileage",
        encoding="utf-8-sig",
    )

    report = run_import(engine, content)

    assert report.imported == 1
    vehicle = vehicles(engine)[0]
    assert (vehicle.model, vehicle.fuel, vehicle.mileage_km) == (
        "Mégane",
        "Diésel",
        96_200,
    )


def test_windows_1252_file_keeps_accents(engine: Engine) -> None:
    content = csv_bytes(
        "10,Peugeot,Partner Tepee,Diesel,Manual,Used,9990,90,2015",
        "10,Citroen,C-Elysée,Diesel,Manual,Used,8990,92,2016",
        encoding="cp1252",
    )

    run_import(engine, content)

    assert [vehicle.model for vehicle in vehicles(engine)] == [
        "Partner Tepee",
        "C-Elysée",
    ]


def test_quoted_field_across_lines_keeps_line_numbers(engine: Engine) -> None:
    content = csv_bytes(
        '10,Kia,"Ceed\nSportswagon",Diesel,Manual,Used,9000,100,2019',
        "10,Kia,,Diesel,Manual,Used,9000,100,2019",
    )

    report = run_import(engine, content)

    assert report.imported == 1
    assert report.examples == [SkippedRow(line=4, reason="Sin modelo")]


def test_same_file_twice_is_refused_and_writes_nothing(engine: Engine) -> None:
    content = csv_bytes(GOLF)
    run_import(engine, content, file_name="lunes.csv")

    with pytest.raises(StockImportError) as refused:
        run_import(engine, content, file_name="martes.csv")

    assert "ya se importó el " in refused.value.message
    assert "«lunes.csv»" in refused.value.message
    assert count(engine, Vehicle) == 1
    assert count(engine, StockImport) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "vacío"),
        (b"   \n", "vacío"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "no es un CSV"),
        (csv_bytes(header="mileage,make,model,price,year"), "Faltan las columnas"),
        (b"name,email\nAna,ana@example.com\n", "Faltan las columnas"),
        (csv_bytes(), "ninguna fila"),
    ],
)
def test_file_that_is_not_a_stock_csv_is_refused(
    engine: Engine, content: bytes, message: str
) -> None:
    with pytest.raises(StockImportError) as refused:
        run_import(engine, content)

    assert message in refused.value.message
    assert count(engine, Vehicle) == 0
    assert count(engine, StockImport) == 0


def test_missing_columns_are_named(engine: Engine) -> None:
    with pytest.raises(StockImportError) as refused:
        run_import(engine, csv_bytes(header="mileage,make,model,fuel,gear,price,hp"))

    assert "Faltan las columnas: offerType, year." in refused.value.message


def test_failure_half_way_leaves_nothing_and_the_file_can_be_retried(
    engine: Engine,
) -> None:
    content = csv_bytes(*[GOLF] * (CHUNK_ROWS + 10))

    def interrupted(done: int, total: int) -> None:
        raise RuntimeError("page closed")

    with pytest.raises(RuntimeError):
        import_stock(
            engine, io.BytesIO(content), file_name="s.csv", progress=interrupted
        )

    assert count(engine, Vehicle) == 0
    assert count(engine, StockImport) == 0
    report = run_import(engine, content)
    assert report.imported == CHUNK_ROWS + 10
    assert count(engine, Vehicle) == CHUNK_ROWS + 10


def test_blank_lines_are_not_rows(engine: Engine) -> None:
    report = run_import(engine, csv_bytes(GOLF, "", GOLF, ",,,,,,,,"))

    assert (report.imported, report.skipped, report.rows) == (2, 0, 2)
