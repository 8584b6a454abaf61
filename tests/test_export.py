import csv
import io
import uuid
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import event

from lib import export, offers
from lib.activities import add_activity
from lib.customers import create_customer
from lib.errors import InvalidInput
from lib.export import COLUMNS, export_csv, export_xlsx, formula_like
from lib.formatting import local
from lib.lost_reasons import list_lost_reasons
from lib.models import Role, utcnow
from lib.offers import (
    OfferFilter,
    count_offers,
    create_offer,
    mark_lost,
    mark_won,
)
from lib.users import create_user
from lib.vehicles import create_factory_order
from lib.views import Viewer


def new_offer(engine, salesperson_id, customer_id=None, temperature=0.8, now=None):
    vehicle = create_factory_order(
        engine,
        make="SEAT",
        model="León",
        version="FR",
        colour="",
        price_cents=2345000,
        co2_gkm=118,
    )
    return create_offer(
        engine,
        request_token=uuid.uuid4().hex,
        vehicle_id=vehicle.id,
        salesperson_id=salesperson_id,
        price_cents=2345000,
        discount_cents=45050,
        temperature=temperature,
        customer_id=customer_id,
        now=now,
    )


def make_offers(engine, salesperson):
    customer = create_customer(
        engine, first_name="=HYPERLINK(1)", last_name="Peñalver", phone="612345678"
    )
    other = create_user(engine, username="jordi", full_name="Jordi Puig")
    mine = new_offer(engine, salesperson.id, customer.id)
    new_offer(engine, other.id, temperature=0.2)
    return mine


def csv_rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == COLUMNS
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]]


def xlsx_rows(data: bytes) -> list[dict[str, object]]:
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows())
    assert [cell.value for cell in rows[0]] == COLUMNS
    return [dict(zip(COLUMNS, row, strict=False)) for row in rows[1:]]


def test_csv_opens_in_spanish_excel(engine, salesperson):
    mine = make_offers(engine, salesperson)
    today = local(utcnow()).date()

    rows = csv_rows(
        export_csv(
            engine, viewer=Viewer(salesperson.id, Role.SALES), filters=OfferFilter()
        )
    )

    assert len(rows) == 1
    row = rows[0]
    assert row["Número"] == mine.number
    assert row["Estado"] == "en Seguimiento"
    assert row["Creada"] == today.strftime("%d/%m/%Y")
    assert row["Válida hasta"] == (today + timedelta(days=15)).strftime("%d/%m/%Y")
    assert row["Precio"] == "23450,00"
    assert row["Descuento"] == "450,50"
    assert row["Total"] == "22999,50"
    assert row["Temperatura (%)"] == "80"
    assert row["Teléfono"] == "612 34 56 78"
    assert row["Comercial"] == "Lucía Fernández Ibáñez"
    assert row["Fecha de venta o cierre"] == ""
    assert row["Cliente"] == "'=HYPERLINK(1) Peñalver"


def test_xlsx_has_dates_amounts_and_percentages_with_spanish_formats(
    engine, salesperson
):
    make_offers(engine, salesperson)
    today = local(utcnow()).date()

    row = xlsx_rows(
        export_xlsx(
            engine, viewer=Viewer(salesperson.id, Role.SALES), filters=OfferFilter()
        )
    )[0]

    assert row["Creada"].value.date() == today
    assert row["Creada"].number_format == "dd/mm/yyyy"
    assert row["Válida hasta"].value.date() == today + timedelta(days=15)
    assert row["Válida hasta"].number_format == "dd/mm/yyyy"
    assert row["Total"].value == 22999.5
    assert row["Total"].number_format == '#,##0.00 "€"'
    assert row["Descuento"].value == 450.5
    assert row["Impuesto de matriculación"].number_format == '#,##0.00 "€"'
    assert row["Temperatura (%)"].value == 0.8
    assert row["Temperatura (%)"].number_format == "0 %"
    assert row["Entregas"].value == 0
    assert row["Comercial"].value == "Lucía Fernández Ibáñez"


def test_xlsx_holds_only_the_viewers_rows(engine, salesperson):
    make_offers(engine, salesperson)
    manager = Viewer(
        create_user(engine, username="marta", full_name="Marta", role=Role.MANAGER).id,
        Role.MANAGER,
    )

    mine = xlsx_rows(
        export_xlsx(
            engine, viewer=Viewer(salesperson.id, Role.SALES), filters=OfferFilter()
        )
    )
    everything = xlsx_rows(export_xlsx(engine, viewer=manager, filters=OfferFilter()))

    assert [row["Comercial"].value for row in mine] == ["Lucía Fernández Ibáñez"]
    assert sorted(row["Comercial"].value for row in everything) == [
        "Jordi Puig",
        "Lucía Fernández Ibáñez",
    ]


def test_exports_show_the_outcome_a_manager_reads(engine, salesperson):
    viewer = Viewer(salesperson.id, Role.SALES)
    # Made a week ago and sold two days ago.
    won = new_offer(engine, salesperson.id, now=utcnow() - timedelta(days=7))
    lost = new_offer(engine, salesperson.id)
    open_offer = new_offer(engine, salesperson.id)
    sold_on = local(utcnow()).date() - timedelta(days=2)
    next_call = local(utcnow()).date() + timedelta(days=3)
    reason = list_lost_reasons(engine)[0]
    mark_won(engine, won.id, viewer=viewer, sold_on=sold_on)
    mark_lost(
        engine,
        lost.id,
        viewer=viewer,
        reason_id=reason.id,
        competitor_make="Renault",
        competitor_model="Clio",
    )
    add_activity(
        engine, open_offer.id, viewer=viewer, kind="CALL", next_contact_on=next_call
    )

    by_number = {
        row["Número"]: row
        for row in csv_rows(export_csv(engine, viewer=viewer, filters=OfferFilter()))
    }
    cells = {
        row["Número"].value: row
        for row in xlsx_rows(export_xlsx(engine, viewer=viewer, filters=OfferFilter()))
    }

    assert by_number[won.number]["Estado"] == "Éxito"
    assert by_number[won.number]["Fecha de venta o cierre"] == sold_on.strftime(
        "%d/%m/%Y"
    )
    assert by_number[lost.number]["Motivo de fracaso"] == reason.label
    assert by_number[lost.number]["Competidor"] == "Renault Clio"
    assert by_number[lost.number]["Fecha de venta o cierre"] == local(
        utcnow()
    ).strftime("%d/%m/%Y")
    assert by_number[open_offer.number]["Próximo contacto"] == next_call.strftime(
        "%d/%m/%Y"
    )
    assert cells[won.number]["Fecha de venta o cierre"].value.date() == sold_on
    assert cells[won.number]["Fecha de venta o cierre"].number_format == "dd/mm/yyyy"
    assert cells[lost.number]["Competidor"].value == "Renault Clio"
    assert cells[lost.number]["Motivo de fracaso"].value == reason.label
    assert cells[open_offer.number]["Próximo contacto"].value.date() == next_call


def test_phones_abroad_show_no_apostrophe_and_formulas_stay_inert(engine, salesperson):
    viewer = Viewer(salesperson.id, Role.SALES)
    british = create_customer(
        engine, first_name="Oliver", last_name="Smith", phone="+44 20 7946 0000"
    )
    american = create_customer(
        engine, first_name="@SUM(A1)", last_name="Doe", phone="+1 650 253 0000"
    )
    formula = create_customer(
        engine, first_name="=HYPERLINK(1)", last_name="Peñalver", phone="612345678"
    )
    uk, us, eq = (
        new_offer(engine, salesperson.id, customer.id).number
        for customer in (british, american, formula)
    )

    text = {
        row["Número"]: row
        for row in csv_rows(export_csv(engine, viewer=viewer, filters=OfferFilter()))
    }
    cells = {
        row["Número"].value: row
        for row in xlsx_rows(export_xlsx(engine, viewer=viewer, filters=OfferFilter()))
    }

    assert text[uk]["Teléfono"] == "+44 20 7946 0000"
    assert text[us]["Teléfono"] == "+1 650 253 0000"
    assert text[us]["Cliente"] == "'@SUM(A1) Doe"
    assert text[eq]["Cliente"] == "'=HYPERLINK(1) Peñalver"
    assert cells[uk]["Teléfono"].value == "+44 20 7946 0000"
    assert cells[uk]["Teléfono"].data_type == "s"
    assert not cells[uk]["Teléfono"].quotePrefix
    # In xlsx the text is kept as typed, as a string with Excel's hidden
    # apostrophe: never a formula, and no apostrophe to see.
    assert cells[eq]["Cliente"].value == "=HYPERLINK(1) Peñalver"
    assert cells[eq]["Cliente"].data_type == "s"
    assert cells[eq]["Cliente"].quotePrefix
    assert cells[us]["Cliente"].value == "@SUM(A1) Doe"
    assert cells[us]["Cliente"].quotePrefix


@pytest.mark.parametrize(
    ("text", "protected"),
    [
        ("+44 20 7946 0000", False),
        ("+1 201 555 0123", False),
        ("Peñalver", False),
        ("612 34 56 78", False),
        ("+34612345678", True),
        ("+44 20 7946+1", True),
        ("+1-201-555", True),
        ("+HYPERLINK(1)", True),
        ("+44 20 =1", True),
        ("=1+1", True),
        ("-2+3", True),
        ("@SUM(A1)", True),
        ("\tcmd", True),
    ],
)
def test_formula_like_spares_only_phones_written_abroad(text, protected):
    assert formula_like(text) is protected


def test_xlsx_drops_characters_a_sheet_cannot_hold(engine, salesperson):
    customer = create_customer(
        engine, first_name="Ana\x07", last_name="Ruiz", phone="612345679"
    )
    new_offer(engine, salesperson.id, customer.id)

    row = xlsx_rows(
        export_xlsx(
            engine, viewer=Viewer(salesperson.id, Role.SALES), filters=OfferFilter()
        )
    )[0]

    assert row["Cliente"].value == "Ana Ruiz"


@pytest.mark.parametrize("builder", [export_csv, export_xlsx], ids=["csv", "xlsx"])
@pytest.mark.parametrize(
    "filters",
    [OfferFilter(), OfferFilter(created_from=date(2020, 1, 1))],
    ids=["summary", "counted"],
)
def test_progress_has_the_exact_total_and_moves_with_rows(
    engine, salesperson, monkeypatch, builder, filters
):
    for _ in range(5):
        new_offer(engine, salesperson.id)
    monkeypatch.setattr(offers, "EXACT_COUNT_LIMIT", 2)
    monkeypatch.setattr(export, "PROGRESS_EVERY", 2)
    progress = []

    builder(
        engine,
        viewer=None,
        filters=filters,
        progress=lambda done, total: progress.append((done, total)),
    )

    assert count_offers(engine, None, OfferFilter(created_from=date(2020, 1, 1))) == (
        2,
        False,
    )
    assert progress == [(0, 5), (2, 5), (4, 5), (5, 5)]


@pytest.mark.parametrize("builder", [export_csv, export_xlsx], ids=["csv", "xlsx"])
def test_export_reads_in_one_pass_and_leaves_no_cache(
    engine, salesperson, monkeypatch, builder
):
    for _ in range(7):
        new_offer(engine, salesperson.id)
    monkeypatch.setattr(export, "BATCH", 2)
    offers._cache.entries.clear()
    selects = []

    def seen(connection, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        data = builder(engine, viewer=None, filters=OfferFilter())
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    rows = csv_rows(data) if builder is export_csv else xlsx_rows(data)
    assert len(rows) == 7
    # The count, the reasons' labels and one query for every row.
    assert len(selects) == 3
    assert len(offers._cache.entries) == 0


@pytest.mark.parametrize("builder", [export_csv, export_xlsx], ids=["csv", "xlsx"])
def test_an_offer_stored_during_an_export_waits_for_the_next(
    engine, salesperson, builder
):
    numbers = [new_offer(engine, salesperson.id).number for _ in range(3)]
    progress = []

    def store_one_more(done, total):
        if not progress:
            numbers.append(new_offer(engine, salesperson.id).number)
        progress.append((done, total))

    data = builder(engine, viewer=None, filters=OfferFilter(), progress=store_one_more)

    rows = csv_rows(data) if builder is export_csv else xlsx_rows(data)
    exported = [row["Número"] for row in rows]
    if builder is export_xlsx:
        exported = [cell.value for cell in exported]
    assert sorted(exported) == sorted(numbers[:3])
    assert progress == [(0, 3), (3, 3)]


@pytest.mark.parametrize("builder", [export_csv, export_xlsx], ids=["csv", "xlsx"])
def test_export_follows_the_lists_order(engine, salesperson, builder):
    warm = new_offer(engine, salesperson.id, temperature=0.5)
    cold = new_offer(engine, salesperson.id, temperature=0.1)
    hot = new_offer(engine, salesperson.id, temperature=0.9)

    data = builder(engine, viewer=None, filters=OfferFilter(order="temperature_desc"))

    rows = csv_rows(data) if builder is export_csv else xlsx_rows(data)
    exported = [row["Número"] for row in rows]
    if builder is export_xlsx:
        exported = [cell.value for cell in exported]
    assert exported == [hot.number, warm.number, cold.number]


def test_xlsx_refuses_more_offers_than_a_sheet_holds(engine, salesperson, monkeypatch):
    for _ in range(3):
        new_offer(engine, salesperson.id)
    monkeypatch.setattr(export, "XLSX_MAX_OFFERS", 2)
    progress = []

    with pytest.raises(InvalidInput) as refused:
        export_xlsx(
            engine,
            viewer=None,
            filters=OfferFilter(),
            progress=lambda done, total: progress.append((done, total)),
        )

    assert refused.value.message == (
        "El filtro tiene 3 ofertas y una hoja de Excel admite 2: acote el filtro "
        "o exporte en CSV."
    )
    assert progress == []
