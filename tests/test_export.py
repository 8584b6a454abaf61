import csv
import io
import uuid

from openpyxl import load_workbook

from lib.customers import create_customer
from lib.export import COLUMNS, export_csv, export_xlsx
from lib.models import Role
from lib.offers import OfferFilter, create_offer
from lib.users import create_user
from lib.vehicles import create_factory_order
from lib.views import Viewer


def make_offers(engine, salesperson):
    vehicle = create_factory_order(
        engine,
        make="SEAT",
        model="León",
        version="FR",
        colour="",
        price_cents=2345000,
        co2_gkm=118,
    )
    customer = create_customer(
        engine, first_name="=HYPERLINK(1)", last_name="Peñalver", phone="612345678"
    )
    other = create_user(engine, username="jordi", full_name="Jordi Puig")
    mine = create_offer(
        engine,
        request_token=uuid.uuid4().hex,
        vehicle_id=vehicle.id,
        salesperson_id=salesperson.id,
        price_cents=2345000,
        discount_cents=45050,
        temperature=0.8,
        customer_id=customer.id,
    )
    create_offer(
        engine,
        request_token=uuid.uuid4().hex,
        vehicle_id=vehicle.id,
        salesperson_id=other.id,
        price_cents=2345000,
        temperature=0.2,
    )
    return mine


def test_csv_opens_in_spanish_excel(engine, salesperson):
    mine = make_offers(engine, salesperson)
    progress = []

    data = export_csv(
        engine,
        viewer=Viewer(salesperson.id, Role.SALES),
        filters=OfferFilter(),
        progress=lambda done, total: progress.append((done, total)),
    )

    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == COLUMNS
    assert len(rows) == 2
    row = dict(zip(COLUMNS, rows[1], strict=True))
    assert row["Número"] == mine.number
    assert row["Descuento"] == "450,50"
    assert row["Total"] == "22999,50"
    assert row["Temperatura (%)"] == "80"
    assert row["Cliente"] == "'=HYPERLINK(1) Peñalver"
    assert progress == [(1, 1)]


def test_xlsx_has_numbers_and_only_the_viewers_rows(engine, salesperson):
    make_offers(engine, salesperson)
    manager = Viewer(
        create_user(engine, username="marta", full_name="Marta", role=Role.MANAGER).id,
        Role.MANAGER,
    )

    mine = load_workbook(
        io.BytesIO(
            export_xlsx(
                engine, viewer=Viewer(salesperson.id, Role.SALES), filters=OfferFilter()
            )
        )
    ).active
    everything = load_workbook(
        io.BytesIO(export_xlsx(engine, viewer=manager, filters=OfferFilter()))
    ).active

    header = [cell.value for cell in next(mine.iter_rows(max_row=1))]
    assert header == COLUMNS
    assert mine.max_row == 2
    assert everything.max_row == 3
    values = dict(
        zip(COLUMNS, [c.value for c in next(mine.iter_rows(min_row=2))], strict=True)
    )
    assert values["Total"] == 22999.5
    assert values["Comercial"] == "Lucía Fernández Ibáñez"


def test_exports_never_carry_a_live_formula_and_show_every_price_line(
    engine, salesperson
):
    make_offers(engine, salesperson)
    viewer = Viewer(salesperson.id, Role.SALES)

    sheet = load_workbook(
        io.BytesIO(export_xlsx(engine, viewer=viewer, filters=OfferFilter()))
    ).active
    row = dict(zip(COLUMNS, [c for c in next(sheet.iter_rows(min_row=2))], strict=True))

    assert row["Cliente"].value == "'=HYPERLINK(1) Peñalver"
    assert row["Cliente"].data_type == "s"
    assert "Opciones y accesorios" in COLUMNS
    assert "Transporte y preentrega" in COLUMNS
