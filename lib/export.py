"""The Ofertas list exported: CSV that Excel in Spain opens right, and xlsx.

CSV is UTF-8 with a byte-order mark, ``;`` between fields and a decimal comma,
which is what Excel set to Spanish expects; dates read ``03/12/2026`` and
amounts are plain numbers (no thousands dot, no €) so they stay numbers. The
xlsx file carries real dates shown ``dd/mm/yyyy``, amounts as numbers in euros
(Excel draws the separators of its own locale) and the temperature as a
percentage.

The offers are read in one pass, in batches from one query in one read
transaction: the count the progress shows and the rows written are the same
offers, nothing is left in the list's cache, and reading takes a few megabytes
whatever the number of offers. The finished file is returned whole, as
bytes, because the download button needs it so: a CSV of a million offers is
about 250 MB. The price of the single transaction is that, for the minutes a
very large export takes, PostgreSQL cannot vacuum past it and SQLite cannot
fold its write-ahead log past it; writers are never blocked.
"""

import csv
import io
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import Engine, select

from lib import formatting
from lib.db import reading
from lib.errors import InvalidInput
from lib.models import Availability, LostReason, OfferStatus
from lib.offers import OfferFilter, export_queries, offer_view
from lib.views import OfferView, Viewer

logger = logging.getLogger(__name__)

BATCH = 500
PROGRESS_EVERY = 500
# A sheet holds 1,048,576 rows, the header included.
XLSX_MAX_OFFERS = 1_048_575
DATE_FORMAT = "dd/mm/yyyy"
MONEY_FORMAT = '#,##0.00 "€"'
PERCENT_FORMAT = "0 %"

COLUMNS = [
    "Número",
    "Estado",
    "Creada",
    "Última entrega",
    "Fecha de venta o cierre",
    "Entregas",
    "Cliente",
    "Teléfono",
    "Correo",
    "Temperatura (%)",
    "Indicador",
    "Marca",
    "Modelo",
    "Versión",
    "Bastidor",
    "Nº pedido",
    "Nº comisión",
    "Precio",
    "Opciones y accesorios",
    "Descuento",
    "Transporte y preentrega",
    "Base imponible",
    "IVA",
    "Impuesto de matriculación",
    "Total",
    "Comercial",
    "Válida hasta",
    "Próximo contacto",
    "Motivo de fracaso",
    "Competidor",
]
TEMPERATURE = COLUMNS.index("Temperatura (%)")
FORMATS = {
    DATE_FORMAT: [
        "Creada",
        "Última entrega",
        "Fecha de venta o cierre",
        "Válida hasta",
        "Próximo contacto",
    ],
    MONEY_FORMAT: COLUMNS[COLUMNS.index("Precio") : COLUMNS.index("Total") + 1],
    PERCENT_FORMAT: ["Temperatura (%)"],
}
# Plus, digit groups and single spaces: a phone as it is written abroad. Excel
# reads no formula and no number in it, so it needs no protecting apostrophe.
PHONE_ABROAD = re.compile(r"\+\d+(?: \d+)+")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Progress = Callable[[int, int], None]


@contextmanager
def _streamed(
    engine: Engine, viewer: Viewer | None, filters: OfferFilter
) -> Iterator[tuple[int, Iterator[OfferView]]]:
    """The exact number of offers of a filter and the offers, read in batches."""
    counting, rows = export_queries(engine, viewer, filters)
    # SQLite's read transaction sees one snapshot from its first read on;
    # PostgreSQL needs REPEATABLE READ for the count and the rows to agree.
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="REPEATABLE READ")

    with reading(engine) as session:
        total = int(session.scalar(counting) or 0)
        reasons = dict(session.execute(select(LostReason.id, LostReason.label)).all())
        found = session.scalars(rows.execution_options(yield_per=BATCH))
        views = (offer_view(row, reasons.get(row.lost_reason_id, "")) for row in found)
        yield total, views


def _day(moment: datetime | None) -> date | None:
    return formatting.local(moment).date() if moment else None


def _phone(stored: str | None) -> str:
    # Some countries write groups with hyphens (+1 201-555-0123); spaces keep
    # the number out of reach of Excel's arithmetic.
    return formatting.phone(stored).replace("-", " ")


def _values(offer: OfferView) -> list[object]:
    customer, vehicle, prices = offer.customer, offer.vehicle, offer.prices
    return [
        offer.number,
        OfferStatus.LABELS[offer.status],
        _day(offer.created_at),
        _day(offer.last_delivered_at),
        _day(offer.closed_at),
        offer.delivery_count,
        customer.full_name if customer else "",
        _phone(customer.phone) if customer else "",
        (customer.email or "") if customer else "",
        offer.temperature,
        Availability.LABELS[vehicle.availability],
        vehicle.make,
        vehicle.model,
        vehicle.version,
        vehicle.vin or "",
        vehicle.order_number or "",
        vehicle.commission_number or "",
        formatting.cents_to_decimal(prices.price_cents),
        formatting.cents_to_decimal(prices.options_cents),
        formatting.cents_to_decimal(prices.discount_cents),
        formatting.cents_to_decimal(prices.transport_cents),
        formatting.cents_to_decimal(prices.base_cents),
        formatting.cents_to_decimal(prices.vat_cents),
        formatting.cents_to_decimal(prices.registration_tax_cents),
        formatting.cents_to_decimal(prices.total_cents),
        offer.salesperson.full_name,
        offer.valid_until,
        offer.next_contact_on,
        offer.lost_reason,
        offer.competitor,
    ]


def formula_like(text: str) -> bool:
    """True when a spreadsheet could take the text for a formula."""
    return text.startswith(FORMULA_START) and not PHONE_ABROAD.fullmatch(text)


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return formatting.day(value)
    if isinstance(value, Decimal):
        return str(value).replace(".", ",")
    if isinstance(value, int):
        return str(value)
    text = str(value)
    return "'" + text if formula_like(text) else text


def _csv_row(offer: OfferView) -> list[str]:
    values = _values(offer)
    values[TEMPERATURE] = round(offer.temperature * 100)
    return [_csv_cell(value) for value in values]


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, max(total, done))


def export_csv(
    engine: Engine,
    *,
    viewer: Viewer | None,
    filters: OfferFilter,
    progress: Progress | None = None,
) -> bytes:
    """The offers of a filter as CSV for Excel in Spain.

    ``progress(done, total)`` is called with the exact total before the first
    row, every few hundred rows and after the last.
    """
    buffer = io.BytesIO()
    text = io.TextIOWrapper(buffer, encoding="utf-8", newline="")
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    text.write("\ufeff")
    writer.writerow(COLUMNS)

    done = 0
    with _streamed(engine, viewer, filters) as (total, offers):
        _report(progress, 0, total)
        for done, offer in enumerate(offers, 1):
            writer.writerow(_csv_row(offer))
            if done % PROGRESS_EVERY == 0:
                _report(progress, done, total)
    if done % PROGRESS_EVERY:
        _report(progress, done, total)
    text.detach()

    logger.info(
        "Exported %s offers as CSV for %s", done, viewer.user_id if viewer else None
    )
    return buffer.getvalue()


def _styled_cells(sheet: WriteOnlyWorksheet) -> list[Cell | None]:
    """One formatted cell per date, amount or percentage column.

    A write-only sheet writes a row out as it is appended, so each of these
    cells is filled again for the next row instead of making a new one.
    """
    cells: list[Cell | None] = [None] * len(COLUMNS)
    for number_format, headers in FORMATS.items():
        for header in headers:
            cell = WriteOnlyCell(sheet)
            cell.number_format = number_format
            cells[COLUMNS.index(header)] = cell
    return cells


def _xlsx_text(sheet: WriteOnlyWorksheet, text: str) -> object:
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    if not formula_like(text):
        return text
    # Stored as text with Excel's own hidden apostrophe: shown as typed, and
    # still text when someone edits the cell.
    cell = WriteOnlyCell(sheet, text)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def _xlsx_row(
    sheet: WriteOnlyWorksheet, styled: list[Cell | None], offer: OfferView
) -> list[object]:
    row: list[object] = []
    for value, cell in zip(_values(offer), styled, strict=True):
        if value is None:
            row.append(None)
        elif cell is not None:
            cell.value = float(value) if isinstance(value, Decimal) else value
            row.append(cell)
        elif isinstance(value, str):
            row.append(_xlsx_text(sheet, value))
        else:
            row.append(value)
    return row


def export_xlsx(
    engine: Engine,
    *,
    viewer: Viewer | None,
    filters: OfferFilter,
    progress: Progress | None = None,
) -> bytes:
    """The offers of a filter as an Excel workbook with real numbers and dates.

    A filter with more offers than a sheet has rows is refused before any work.
    """
    done = 0
    with _streamed(engine, viewer, filters) as (total, offers):
        if total > XLSX_MAX_OFFERS:
            raise InvalidInput(
                f"El filtro tiene {formatting.number(total)} ofertas y una hoja de "
                f"Excel admite {formatting.number(XLSX_MAX_OFFERS)}: acote el "
                "filtro o exporte en CSV."
            )
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Ofertas")
        sheet.append(COLUMNS)
        styled = _styled_cells(sheet)
        _report(progress, 0, total)
        for done, offer in enumerate(offers, 1):
            sheet.append(_xlsx_row(sheet, styled, offer))
            if done % PROGRESS_EVERY == 0:
                _report(progress, done, total)
    if done % PROGRESS_EVERY:
        _report(progress, done, total)
    buffer = io.BytesIO()
    workbook.save(buffer)

    logger.info(
        "Exported %s offers as xlsx for %s", done, viewer.user_id if viewer else None
    )
    return buffer.getvalue()
