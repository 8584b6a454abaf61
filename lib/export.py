"""The Ofertas list exported: CSV that Excel in Spain opens right, and xlsx.

CSV is UTF-8 with a byte-order mark, ``;`` between fields and a decimal comma,
which is what Excel set to Spanish expects; amounts are plain numbers (no
thousands dot, no €) so they stay numbers. The xlsx file carries real numbers
and dates with Spanish formats. Both are read page by page, by key, so a
large export never holds the whole table in memory as objects.
"""

import csv
import io
import logging
from collections.abc import Callable, Iterator
from datetime import date

from openpyxl import Workbook
from sqlalchemy import Engine

from lib import formatting
from lib.models import Availability, OfferStatus
from lib.offers import OfferFilter, count_offers, list_offers
from lib.views import OfferView, Viewer

logger = logging.getLogger(__name__)

CHUNK = 2000
COLUMNS = [
    "Número",
    "Estado",
    "Creada",
    "Última entrega",
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
]

Progress = Callable[[int, int], None]


def _offers(
    engine: Engine,
    viewer: Viewer | None,
    filters: OfferFilter,
    progress: Progress | None,
) -> Iterator[OfferView]:
    total, _exact = count_offers(engine, viewer, filters)
    done, cursor = 0, None
    while True:
        page = list_offers(
            engine, viewer=viewer, filters=filters, cursor=cursor, page_size=CHUNK
        )
        yield from page.offers
        done += len(page.offers)
        if progress:
            progress(done, max(total, done))
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _values(offer: OfferView) -> list[object]:
    customer, vehicle, prices = offer.customer, offer.vehicle, offer.prices
    return [
        offer.number,
        OfferStatus.LABELS[offer.status],
        formatting.local(offer.created_at).date(),
        formatting.local(offer.last_delivered_at).date()
        if offer.last_delivered_at
        else None,
        offer.delivery_count,
        customer.full_name if customer else "",
        formatting.phone(customer.phone) if customer else "",
        (customer.email or "") if customer else "",
        round(offer.temperature * 100),
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
    ]


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return formatting.day(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    if hasattr(value, "quantize"):
        return text.replace(".", ",")
    return _inert(text)


def _inert(text: str) -> str:
    """Text that starts like a formula, made plain text for spreadsheets."""
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def export_csv(
    engine: Engine,
    *,
    viewer: Viewer | None,
    filters: OfferFilter,
    progress: Progress | None = None,
) -> bytes:
    """The offers of a filter as CSV for Excel in Spain."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    rows = 0
    for offer in _offers(engine, viewer, filters, progress):
        writer.writerow([_csv_cell(value) for value in _values(offer)])
        rows += 1
    logger.info(
        "Exported %s offers as CSV for %s", rows, viewer.user_id if viewer else None
    )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export_xlsx(
    engine: Engine,
    *,
    viewer: Viewer | None,
    filters: OfferFilter,
    progress: Progress | None = None,
) -> bytes:
    """The offers of a filter as an Excel workbook with real numbers and dates."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Ofertas")
    sheet.append(COLUMNS)
    rows = 0
    for offer in _offers(engine, viewer, filters, progress):
        values = [
            float(v)
            if hasattr(v, "quantize")
            else _inert(v)
            if isinstance(v, str)
            else v
            for v in _values(offer)
        ]
        sheet.append(values)
        rows += 1
    buffer = io.BytesIO()
    workbook.save(buffer)
    logger.info(
        "Exported %s offers as xlsx for %s", rows, viewer.user_id if viewer else None
    )
    return buffer.getvalue()
