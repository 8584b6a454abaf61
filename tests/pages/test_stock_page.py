"""The Stock page: import, the paged list, search and the identifiers form."""

import io

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from lib.db import reading
from lib.models import Availability, StockImport, Vehicle
from lib.stock import import_stock

from .conftest import open_app

STOCK = """\
mileage,make,model,fuel,gear,offerType,price,hp,year
92800,Volkswagen,Golf,Gasoline,Manual,Used,6877,122,2011
10,Citroen,C-Elysée,Diesel,Automatic,Pre-registered,12990,,2021
3500,Others,,Electric,Manual,Used,5500,38,2018
"""


def import_csv(engine: Engine, content: str, file_name: str = "stock.csv") -> None:
    import_stock(engine, io.BytesIO(content.encode("utf-8")), file_name=file_name)


@pytest.fixture(autouse=True)
def stock_keeper(seller) -> None:
    """Every Stock page test runs with Lucía logged in."""


def stock_page(app_db: Engine) -> AppTest:
    at = open_app("lucia")
    at.switch_page("pages/stock.py")
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Stock"
    return at


def vehicle_table(at: AppTest) -> pd.DataFrame:
    (table,) = [
        frame.value for frame in at.dataframe if "Precio" in frame.value.columns
    ]
    return table


def stored_identifiers(engine: Engine, vehicle_id: int) -> tuple:
    with reading(engine) as session:
        vehicle = session.get(Vehicle, vehicle_id)
        return vehicle.vin, vehicle.order_number, vehicle.availability


def golf_id(engine: Engine) -> int:
    with reading(engine) as session:
        return session.scalar(select(Vehicle.id).where(Vehicle.model == "Golf"))


def test_empty_stock_says_so(app_db: Engine) -> None:
    at = stock_page(app_db)

    assert at.info[0].value == "Aún no hay vehículos: importe un fichero de stock."
    assert at.button(key="stock_import").disabled


def test_list_shows_formatted_vehicles_and_counts(app_db: Engine) -> None:
    import_csv(app_db, STOCK)

    at = stock_page(app_db)

    table = vehicle_table(at)
    assert table["Modelo"].tolist() == ["C-Elysée", "Golf"]
    golf = table.iloc[1]
    assert golf["Indicador"] == "🟢 En stock"
    assert (golf["Marca"], golf["Estado"], golf["Combustible"]) == (
        "Volkswagen",
        "Seminuevo",
        "Gasolina",
    )
    assert (golf["Año"], golf["Km"], golf["Precio"]) == (
        "2011",
        "92.800",
        "6.877,00\xa0€",
    )
    assert (golf["Bastidor"], golf["Nº pedido"], golf["Nº comisión"]) == ("", "", "")
    assert table.iloc[0]["Estado"] == "KM0"
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["🟢 En stock"] == "2"
    assert at.caption[0].value == "2 vehículos · página 1 de 1"


def test_upload_and_import_shows_the_report(app_db: Engine) -> None:
    at = stock_page(app_db)

    at.file_uploader(key="stock_file").set_value(
        ("stock-marzo.csv", STOCK.encode("utf-8"), "text/csv")
    )
    at.run()
    at.button(key="stock_import").click().run()

    assert not at.exception, at.exception
    assert at.success[0].value.startswith(
        "«stock-marzo.csv»: 2 vehículos importados de 3 filas en "
    )
    assert at.warning[0].value == "1 fila descartada."
    reasons, examples = (frame.value for frame in at.dataframe[:2])
    assert reasons.to_dict("records") == [{"Motivo": "Sin modelo", "Filas": "1"}]
    assert examples.to_dict("records") == [{"Línea": "4", "Motivo": "Sin modelo"}]
    assert vehicle_table(at)["Modelo"].tolist() == ["C-Elysée", "Golf"]
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["🟢 En stock"] == "2"
    with reading(app_db) as session:
        assert session.scalars(select(StockImport.file_name)).all() == [
            "stock-marzo.csv"
        ]


def test_importing_the_same_file_again_shows_the_spanish_error(app_db: Engine) -> None:
    import_csv(app_db, STOCK, file_name="lunes.csv")
    at = stock_page(app_db)

    at.file_uploader(key="stock_file").set_value(
        ("martes.csv", STOCK.encode("utf-8"), "text/csv")
    )
    at.run()
    at.button(key="stock_import").click().run()

    assert not at.exception, at.exception
    assert at.error[0].value.startswith("Este fichero ya se importó el ")
    assert "«lunes.csv», 2 vehículos" in at.error[0].value
    assert len(vehicle_table(at)) == 2


def test_file_that_is_not_stock_shows_the_spanish_error(app_db: Engine) -> None:
    at = stock_page(app_db)

    at.file_uploader(key="stock_file").set_value(
        ("clientes.csv", b"nombre,email\nAna,ana@example.com\n", "text/csv")
    )
    at.run()
    at.button(key="stock_import").click().run()

    assert "Faltan las columnas" in at.error[0].value
    assert at.info[0].value == "Aún no hay vehículos: importe un fichero de stock."


def test_search_filters_the_list(app_db: Engine) -> None:
    import_csv(app_db, STOCK)
    at = stock_page(app_db)

    at.text_input(key="stock_query").input("volkswagen golf").run()

    assert vehicle_table(at)["Modelo"].tolist() == ["Golf"]
    at.text_input(key="stock_query").input("tesla").run()
    assert at.info[0].value == "Ningún vehículo coincide con la búsqueda."


def test_list_is_paged_fifty_at_a_time(app_db: Engine) -> None:
    rows = [
        f"1000,Kia,Ceed {number:03d},Diesel,Manual,Used,9000,,2019"
        for number in range(120)
    ]
    import_csv(
        app_db,
        "mileage,make,model,fuel,gear,offerType,price,hp,year\n" + "\n".join(rows),
    )
    at = stock_page(app_db)

    assert len(vehicle_table(at)) == 50
    at.pagination[0].set_value(3).run()

    table = vehicle_table(at)
    assert table["Modelo"].tolist() == [
        f"Ceed {number:03d}" for number in range(100, 120)
    ]
    assert at.caption[0].value == "120 vehículos · página 3 de 3"
    at.text_input(key="stock_query").input("ceed 11").run()
    assert at.caption[0].value == "11 vehículos · página 1 de 1"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("WVWZZZ1JZXW00000I", "sin I, O ni Q"),
        ("WVWZZZ1JZXW0000", "El bastidor debe tener 17 caracteres"),
    ],
)
def test_invalid_vin_shows_the_error_and_stores_nothing(
    app_db: Engine, typed: str, message: str
) -> None:
    import_csv(app_db, STOCK)
    vehicle_id = golf_id(app_db)
    at = stock_page(app_db)

    at.selectbox(key="stock_vehicle").set_value(vehicle_id).run()
    at.text_input(key=f"stock_vin_{vehicle_id}").input(typed)
    at.text_input(key=f"stock_order_{vehicle_id}").input("PED-1")
    at.button(key=f"FormSubmitter:stock_edit_{vehicle_id}-Guardar").click().run()

    assert not at.exception, at.exception
    assert message in at.error[0].value
    assert stored_identifiers(app_db, vehicle_id) == (None, None, Availability.IN_STOCK)


def test_valid_identifiers_are_saved_and_listed(app_db: Engine) -> None:
    import_csv(app_db, STOCK)
    vehicle_id = golf_id(app_db)
    at = stock_page(app_db)

    at.selectbox(key="stock_vehicle").set_value(vehicle_id).run()
    at.text_input(key=f"stock_vin_{vehicle_id}").input("wvwzzz1kzaw000123")
    at.text_input(key=f"stock_order_{vehicle_id}").input("PED-778812")
    at.selectbox(key=f"stock_availability_{vehicle_id}").set_value(
        Availability.RESERVED
    )
    at.button(key=f"FormSubmitter:stock_edit_{vehicle_id}-Guardar").click().run()

    assert not at.exception, at.exception
    assert not at.error
    assert at.success[0].value.startswith("Guardado: 🟡 Volkswagen Golf")
    assert stored_identifiers(app_db, vehicle_id) == (
        "WVWZZZ1KZAW000123",
        "PED-778812",
        Availability.RESERVED,
    )
    golf = vehicle_table(at).iloc[1]
    assert (golf["Indicador"], golf["Bastidor"], golf["Nº pedido"]) == (
        "🟡 Reservado",
        "WVWZZZ1KZAW000123",
        "PED-778812",
    )
