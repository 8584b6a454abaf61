"""The offer as a PDF, built with fpdf2 and DejaVu Sans embedded.

A TrueType font is embedded (the PDF core fonts cannot draw the euro sign), so
``€``, ``ñ`` and most customers' names print. The same offer built at the same
``now`` gives the same bytes: the creation date is pinned and fpdf2 derives the
file identifier from the content.
"""

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from lib.config import Settings
from lib.formatting import day, day_time, local, money, number, percent, phone
from lib.models import Condition
from lib.views import CustomerView, OfferView, VehicleView

logger = logging.getLogger(__name__)

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FAMILY = "DejaVuSans"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
EMPTY = "—"
REPLACEMENT = "\ufffd"
LABEL_WIDTH = 55
GREY = (90, 90, 90)
RULE_GREY = (200, 200, 200)

CONDITIONS_TEXT = (
    "Oferta sin compromiso, válida hasta la fecha indicada y sujeta a la "
    "disponibilidad del vehículo. Los precios incluyen el IVA; no incluyen el "
    "impuesto de matriculación, las tasas de tráfico ni los accesorios que no "
    "figuren en este documento, salvo que se indique lo contrario. La reserva "
    "del vehículo solo es firme tras la firma del pedido y el pago de la señal "
    "acordada. Los plazos de entrega de las unidades pedidas a fábrica son "
    "orientativos."
)
DATA_PROTECTION_TEXT = (
    "Protección de datos: {name} (CIF {cif}) trata sus datos de contacto con el "
    "único fin de preparar y dar seguimiento a esta oferta, con base en su "
    "solicitud. No se cederán a terceros salvo obligación legal. Puede ejercer "
    "sus derechos de acceso, rectificación, supresión, oposición, limitación y "
    "portabilidad escribiendo a {address} o llamando al {phone}, y reclamar "
    "ante la Agencia Española de Protección de Datos (www.aepd.es)."
)


class OfferDocument(FPDF):
    """An A4 page with the dealership's header and a numbered footer."""

    def __init__(self, settings: Settings, offer_number: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.settings = settings
        self.offer_number = offer_number
        self.unprintable: set[str] = set()
        for style, file_name in FONT_FILES.items():
            self.add_font(FONT_FAMILY, style, FONTS_DIR / file_name)
        self.set_margins(18, 15, 18)
        self.set_auto_page_break(auto=True, margin=20)
        self.set_font(FONT_FAMILY, size=10)

    def normalize_text(self, text: str) -> str:
        """The text with each character the current font lacks shown as U+FFFD."""
        # fpdf2 silently drops characters missing from the font (DejaVu has
        # no Chinese, for one); a visible mark tells the reader a name is
        # incomplete instead of printing a different name.
        cmap = getattr(self.current_font, "cmap", None) or {}
        missing = {ch for ch in text if ord(ch) not in cmap and ch not in "\n\r\t"}
        if cmap and missing:
            self.unprintable |= missing
            text = "".join(REPLACEMENT if ch in missing else ch for ch in text)
        return super().normalize_text(text)

    def header(self) -> None:
        """The dealership's name, tax id, address and phone, then a rule."""
        self.set_font(FONT_FAMILY, "B", 14)
        self.cell(
            text=self.settings.dealership_name, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.set_font(FONT_FAMILY, size=8.5)
        self.set_text_color(*GREY)
        details = " · ".join(
            part
            for part in (
                f"CIF {self.settings.dealership_cif}",
                self.settings.dealership_address,
                f"Tel. {self.settings.dealership_phone}",
            )
            if part
        )
        self.multi_cell(w=0, h=4.5, text=details, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0)
        self.set_draw_color(*RULE_GREY)
        self.line(
            self.l_margin, self.get_y() + 2, self.w - self.r_margin, self.get_y() + 2
        )
        self.set_y(self.get_y() + 6)
        self.set_font(FONT_FAMILY, size=10)

    def footer(self) -> None:
        """The offer number and "Página n de m"."""
        self.set_y(-14)
        self.set_font(FONT_FAMILY, size=8)
        self.set_text_color(*GREY)
        self.cell(w=0, text=f"Oferta {self.offer_number}", align=Align.L)
        self.set_x(self.l_margin)
        self.cell(w=0, text=f"Página {self.page_no()} de {{nb}}", align=Align.R)
        self.set_text_color(0)


def build_offer_pdf(offer: OfferView, settings: Settings, *, now: datetime) -> bytes:
    """The offer as PDF bytes; the same offer and ``now`` give the same bytes.

    ``now`` is the moment printed as the document's issue time and stored as
    its creation date; a naive ``now`` is taken as UTC.
    """
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    pdf = OfferDocument(settings, offer.number)
    pdf.set_creation_date(now)
    pdf.set_title(f"Oferta {offer.number}")
    pdf.set_author(settings.dealership_name)
    pdf.set_creator(settings.dealership_name)
    pdf.set_lang("es-ES")
    pdf.add_page()

    _write_title(pdf, offer, settings, now)
    _write_customer(pdf, offer.customer)
    _write_vehicle(pdf, offer.vehicle)
    _write_prices(pdf, offer)
    _write_notes(pdf, settings)

    document = bytes(pdf.output())
    if pdf.unprintable:
        logger.warning(
            "Offer %s: %s characters the font cannot draw printed as U+FFFD",
            offer.number,
            len(pdf.unprintable),
        )
    logger.debug("Offer %s PDF built, %s bytes", offer.number, len(document))
    return document


def offer_pdf_filename(offer: OfferView) -> str:
    """The PDF's file name: its type and reference, ``Oferta_2026-000123.pdf``."""
    reference = "".join(
        ch if ch.isalnum() or ch in "-_" else "_" for ch in offer.number
    )
    return f"Oferta_{reference}.pdf"


def valid_until(offer: OfferView, settings: Settings) -> date:
    """The last day the offer holds: its Madrid date plus the validity days."""
    return local(offer.created_at).date() + timedelta(days=settings.offer_validity_days)


def _write_title(
    pdf: FPDF, offer: OfferView, settings: Settings, now: datetime
) -> None:
    pdf.set_font(FONT_FAMILY, "B", 18)
    pdf.cell(text=f"Oferta {offer.number}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    salesperson = offer.salesperson
    contact = " · ".join(
        part for part in (salesperson.email, phone(salesperson.phone)) if part
    )
    rows = [
        ("Fecha de la oferta", day(offer.created_at)),
        ("Válida hasta", day(valid_until(offer, settings))),
        ("Comercial", salesperson.full_name),
        ("Contacto del comercial", contact),
        ("Documento emitido", day_time(now)),
    ]
    _key_value_table(pdf, rows)


def _write_customer(pdf: FPDF, customer: CustomerView | None) -> None:
    _section_title(pdf, "Cliente")
    if customer is None:
        pdf.set_font(FONT_FAMILY, size=10)
        pdf.cell(text="Sin cliente asignado", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    rows = [
        ("Nombre", customer.full_name),
        ("Teléfono", phone(customer.phone)),
        ("Correo electrónico", customer.email),
        ("DNI/NIE/CIF", customer.tax_id),
    ]
    _key_value_table(pdf, rows)


def _write_vehicle(pdf: FPDF, vehicle: VehicleView) -> None:
    _section_title(pdf, "Vehículo")
    rows: list[tuple[str, str | None]] = [
        ("Marca", vehicle.make),
        ("Modelo", vehicle.model),
        ("Versión", vehicle.version),
        ("Color", vehicle.colour),
        ("Estado", Condition.LABELS.get(vehicle.condition, vehicle.condition)),
        ("Combustible", vehicle.fuel),
        ("Año", str(vehicle.year) if vehicle.year else None),
    ]
    if vehicle.condition != Condition.NEW:
        mileage = (
            None if vehicle.mileage_km is None else f"{number(vehicle.mileage_km)} km"
        )
        rows.append(("Kilometraje", mileage))
    power = f"{number(vehicle.power_hp)} CV" if vehicle.power_hp else None
    rows += [
        ("Potencia", power),
        ("Bastidor", vehicle.vin),
        ("Número de pedido", vehicle.order_number),
        ("Número de comisión", vehicle.commission_number),
    ]
    _key_value_table(pdf, rows)


def _write_prices(pdf: FPDF, offer: OfferView) -> None:
    _section_title(pdf, "Precio")
    prices = offer.prices
    discount = money(-prices.discount_cents) if prices.discount_cents else money(0)
    rows = [
        ("Precio del vehículo (IVA incluido)", money(prices.price_cents)),
        ("Descuento", discount),
        ("Base imponible", money(prices.base_cents)),
        (f"IVA {percent(float(prices.vat_rate))}", money(prices.vat_cents)),
    ]
    bold = FontFace(emphasis="BOLD")
    with pdf.table(
        col_widths=(3, 1),
        first_row_as_headings=False,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        line_height=6.5,
        padding=(0.5, 1.5),
    ) as table:
        for label, amount in rows:
            row = table.row()
            row.cell(label)
            row.cell(amount, align=Align.R)
        row = table.row(style=bold)
        row.cell("Total")
        row.cell(money(prices.total_cents), align=Align.R)


def _write_notes(pdf: FPDF, settings: Settings) -> None:
    _section_title(pdf, "Condiciones")
    pdf.set_font(FONT_FAMILY, size=8.5)
    pdf.multi_cell(
        w=0, h=4.2, text=CONDITIONS_TEXT, new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.ln(3)
    pdf.set_font(FONT_FAMILY, size=7.5)
    pdf.set_text_color(*GREY)
    note = DATA_PROTECTION_TEXT.format(
        name=settings.dealership_name,
        cif=settings.dealership_cif,
        address=settings.dealership_address,
        phone=settings.dealership_phone,
    )
    pdf.multi_cell(w=0, h=3.8, text=note, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0)


def _section_title(pdf: FPDF, title: str) -> None:
    pdf.ln(4)
    pdf.set_font(FONT_FAMILY, "B", 12)
    pdf.cell(text=title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)


def _key_value_table(pdf: FPDF, rows: list[tuple[str, str | None]]) -> None:
    pdf.set_font(FONT_FAMILY, size=10)
    label_style = FontFace(color=GREY)
    with pdf.table(
        col_widths=(LABEL_WIDTH, pdf.epw - LABEL_WIDTH),
        first_row_as_headings=False,
        borders_layout=TableBordersLayout.NONE,
        line_height=5.2,
        text_align=(Align.L, Align.L),
    ) as table:
        for label, value in rows:
            row = table.row()
            row.cell(label, style=label_style)
            row.cell(value.strip() if value and value.strip() else EMPTY)
