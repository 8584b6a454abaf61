"""The offer as a PDF, built with fpdf2 and DejaVu Sans embedded.

A TrueType font is embedded (the PDF core fonts cannot draw the euro sign), so
``€``, ``ñ`` and most customers' names print; a character the font lacks is
printed as U+FFFD, never dropped. The same offer built at the same ``now``
gives the same bytes: the creation date is pinned and fpdf2 derives the file
identifier from the content.

Speed: each TrueType file is parsed once per process, and each document gets
its own copy of fpdf2's font object, because fpdf2 subsets the font in place
when it writes the file. The font it subsets is not the whole DejaVu file but
a cached cut of it: the Latin characters an offer uses, plus whatever else
this document prints. Every build goes that same way, so the bytes do not
depend on what was built before.
"""

import copy
import dataclasses
import functools
import io
import logging
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fontTools import subset as font_subset
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, XPos, YPos
from fpdf.errors import FPDFException
from fpdf.fonts import SubsetMap, TTFFont

from lib.config import Settings
from lib.formatting import day, day_time, local, money, number, phone
from lib.models import Condition
from lib.pricing import PriceBreakdown, registration_rate
from lib.views import CustomerView, OfferView, VehicleView

logger = logging.getLogger(__name__)

FONTS_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FAMILY = "DejaVuSans"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
EMPTY = "—"
REPLACEMENT = "\ufffd"
NOT_APPLICABLE = "No aplica"
LABEL_WIDTH = 55
PAIR_LABEL_WIDTH = 40
COLUMN_GAP = 4
LINE_HEIGHT = 4.9
PRICE_LINE_HEIGHT = 6.5
LOGO_BOX = (40.0, 16.0)
GREY = (90, 90, 90)
RULE_GREY = (200, 200, 200)

# The characters of Spanish offers: printable ASCII, Latin-1, Latin
# Extended-A and the typography the document and its names use.
BASE_CHARACTERS = frozenset(
    [*range(0x20, 0x7F), *range(0xA0, 0x180)]
    + [ord(ch) for ch in "€–—‘’‚“”„…·•‰′″₂" + REPLACEMENT]
)

CONDITIONS_TEXT = (
    "Oferta sin compromiso, válida hasta la fecha indicada y sujeta a la "
    "disponibilidad del vehículo. Los precios incluyen el IVA y, cuando se "
    "indica, el impuesto de matriculación; no incluyen las tasas de tráfico ni "
    "los accesorios que no figuren en este documento. La reserva del vehículo "
    "solo es firme tras la firma del pedido y el pago de la señal acordada. Los "
    "plazos de entrega de las unidades pedidas a fábrica son orientativos."
)
DATA_PROTECTION_TEXT = (
    "Protección de datos: {name} (CIF {cif}) trata sus datos de contacto con el "
    "único fin de preparar y dar seguimiento a esta oferta, con base en su "
    "solicitud. No se cederán a terceros salvo obligación legal. Puede ejercer "
    "sus derechos de acceso, rectificación, supresión, oposición, limitación y "
    "portabilidad escribiendo a {address} o llamando al {phone}, y reclamar "
    "ante la Agencia Española de Protección de Datos (www.aepd.es)."
)


@dataclass(frozen=True)
class PriceLine:
    """One line of an offer's price table; ``cents`` None prints "No aplica"."""

    label: str
    cents: int | None
    total: bool = False

    @property
    def amount(self) -> str:
        """The amount as printed: Spanish euros, or "No aplica"."""
        return NOT_APPLICABLE if self.cents is None else money(self.cents)


def price_lines(prices: PriceBreakdown, vehicle: VehicleView) -> list[PriceLine]:
    """The price lines of an offer, as the page, the PDF and the email show them.

    Every amount is the stored one; nothing is recomputed here, so the lines
    add up to the cent wherever they are shown.
    """
    return [
        PriceLine("Precio del vehículo (IVA incluido)", prices.price_cents),
        PriceLine("Opciones y accesorios", prices.options_cents),
        PriceLine("Descuento", -prices.discount_cents),
        PriceLine("Transporte y preentrega", prices.transport_cents),
        PriceLine("Base imponible", prices.base_cents),
        PriceLine(f"IVA {number(float(prices.vat_rate) * 100)} %", prices.vat_cents),
        _registration_line(prices, vehicle),
        PriceLine("Total", prices.total_cents, total=True),
    ]


def _registration_line(prices: PriceBreakdown, vehicle: VehicleView) -> PriceLine:
    label = "Impuesto de matriculación"
    if vehicle.condition != Condition.NEW:
        # KM0, demo, used and employee's cars are registered already.
        return PriceLine(label, None)
    rate = registration_rate(vehicle.co2_gkm, vehicle.condition)
    if rate is None:
        return PriceLine(f"{label} (CO2 sin indicar)", prices.registration_tax_cents)
    return PriceLine(
        f"{label} ({number(float(rate) * 100, 2)} %)", prices.registration_tax_cents
    )


class OfferDocument(FPDF):
    """An A4 page with the dealership's header and a numbered footer."""

    def __init__(self, settings: Settings, offer_number: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.settings = settings
        self.offer_number = offer_number
        self.unprintable: set[str] = set()
        self.logo = _logo_path(settings)
        for style in FONT_FILES:
            fontkey = f"{FONT_FAMILY.lower()}{style}"
            self.fonts[fontkey] = _document_font(fontkey, len(self.fonts) + 1)
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
        """The logo, the dealership's name, tax id, address and phone, a rule."""
        top = self.get_y()
        width = self.epw
        if self.logo is not None:
            width -= LOGO_BOX[0] + 4
            try:
                self.image(
                    self.logo,
                    x=Align.R,
                    y=top,
                    w=LOGO_BOX[0],
                    h=LOGO_BOX[1],
                    keep_aspect_ratio=True,
                )
            except (OSError, ValueError, FPDFException):
                logger.warning("Logo %s cannot be drawn; printed without it", self.logo)
                self.logo = None
                width = self.epw
        self.set_font(FONT_FAMILY, "B", 14)
        _paragraph(self, self.settings.dealership_name, width, 6)
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
        _paragraph(self, details, width, 4.5)
        self.set_text_color(0)
        if self.logo is not None:
            self.set_y(max(self.get_y(), top + LOGO_BOX[1]))
        self.set_draw_color(*RULE_GREY)
        rule = self.get_y() + 2
        self.line(self.l_margin, rule, self.w - self.r_margin, rule)
        self.set_y(rule + 4)
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

    def finish(self) -> bytes:
        """The document's bytes, with each font cut down to what it prints."""
        for font in self.fonts.values():
            if isinstance(font, TTFFont):
                used = set(font.subset.get_all_glyph_names())
                extra = frozenset(used - _base_glyph_names(font.fontkey))
                # fpdf2 subsets this copy in place and closes it when done.
                # The cut's glyphs are copied as they are, without being
                # decoded again to recompute bounding boxes already right.
                font.ttfont = TTFont(
                    io.BytesIO(_font_cut(font.fontkey, extra)),
                    recalcBBoxes=False,
                    recalcTimestamp=False,
                    lazy=True,
                )
        return bytes(self.output())


def build_offer_pdf(offer: OfferView, settings: Settings, *, now: datetime) -> bytes:
    """The offer as PDF bytes; the same offer and ``now`` give the same bytes.

    ``now`` is the moment printed as the document's issue time and stored as
    its creation date; a naive ``now`` is taken as UTC.
    """
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    pdf = OfferDocument(settings, offer.number)
    if _has_right_to_left(offer, settings):
        _shape_text(pdf, offer.number)
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
    _write_remarks(pdf, offer.notes)
    _write_conditions(pdf, settings)

    document = pdf.finish()
    if pdf.unprintable:
        logger.warning(
            "Offer %s: %s characters the font cannot draw printed as U+FFFD",
            offer.number,
            len(pdf.unprintable),
        )
    logger.debug("Offer %s PDF built, %s bytes", offer.number, len(document))
    return document


def _has_right_to_left(offer: OfferView, settings: Settings) -> bool:
    """True when anything the offer prints is written right to left (Arabic...)."""
    texts = [offer.notes, *_texts(settings), *_texts(offer.vehicle)]
    texts += [*_texts(offer.salesperson), *_texts(offer.customer)]
    return any(
        unicodedata.bidirectional(ch) in {"R", "AL"} for text in texts for ch in text
    )


def _texts(view: object) -> list[str]:
    if view is None:
        return []
    values = (getattr(view, field.name) for field in dataclasses.fields(view))
    return [value for value in values if isinstance(value, str)]


def _shape_text(pdf: OfferDocument, number: str) -> None:
    # Arabic letters join and right-to-left words run the right way only
    # through HarfBuzz; shaping is slower, so only documents that need it
    # pay for it. Without uharfbuzz the letters still print, unjoined.
    try:
        pdf.set_text_shaping(True)
    except FPDFException:
        logger.warning("Offer %s: text shaping unavailable, printed unshaped", number)


def offer_pdf_filename(offer: OfferView) -> str:
    """The PDF's file name: its type and reference, ``Oferta_2026-000123.pdf``."""
    reference = "".join(
        ch if ch.isalnum() or ch in "-_" else "_" for ch in offer.number
    )
    return f"Oferta_{reference}.pdf"


def valid_until(offer: OfferView, settings: Settings) -> date:
    """The last day the offer holds.

    The offer's own date when it has one; otherwise its Madrid creation date
    plus the validity days of the settings.
    """
    if offer.valid_until is not None:
        return offer.valid_until
    return local(offer.created_at).date() + timedelta(days=settings.offer_validity_days)


def prepare_fonts() -> None:
    """Read and cut the fonts now, so that the first offer of the process is quick.

    The app calls it once at start, in the background; without it the first
    offer pays for it (about half a second).
    """
    for style in FONT_FILES:
        fontkey = f"{FONT_FAMILY.lower()}{style}"
        _font_template(fontkey)
        _font_cut(fontkey, frozenset())


@functools.cache
def _font_template(fontkey: str) -> TTFFont:
    # Reading a TrueType file (its character map and widths) is most of the
    # cost of a small document; it is done once per process and shared.
    style = fontkey.removeprefix(FONT_FAMILY.lower())
    loader = FPDF()
    loader.add_font(FONT_FAMILY, style, FONTS_DIR / FONT_FILES[style])
    return loader.fonts[fontkey]


def _document_font(fontkey: str, index: int) -> TTFFont:
    """A copy of the parsed font that one document may change freely."""
    template = _font_template(fontkey)
    font = copy.copy(template)
    font.i = index
    # fpdf2 writes into these while it lays out and outputs a document; the
    # character map and glyph ids are only read and stay shared.
    font.cw = template.cw.copy()
    font.missing_glyphs = []
    font.desc = copy.copy(template.desc)
    font.subset = SubsetMap(font)
    font.biggest_size_pt = 0
    return font


@functools.cache
def _base_glyph_names(fontkey: str) -> frozenset[str]:
    cmap = _font_template(fontkey).cmap
    return frozenset(cmap[code] for code in BASE_CHARACTERS if code in cmap) | {
        ".notdef"
    }


@functools.lru_cache(maxsize=64)
def _font_cut(fontkey: str, extra: frozenset[str]) -> bytes:
    """The font reduced to the base characters and the ``extra`` glyphs.

    Glyph names are kept, so fpdf2 finds the glyphs it picked in the full
    font; it then cuts this smaller font down to exactly what it prints.
    """
    style = fontkey.removeprefix(FONT_FAMILY.lower())
    font = TTFont(FONTS_DIR / FONT_FILES[style], recalcTimestamp=False)
    options = font_subset.Options(
        glyph_names=True, notdef_outline=True, recommended_glyphs=True
    )
    options.drop_tables += ["GPOS", "GSUB", "GDEF", "FFTM", "MATH", "hdmx"]
    subsetter = font_subset.Subsetter(options)
    subsetter.populate(unicodes=BASE_CHARACTERS, glyphs=extra)
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    font.close()
    return buffer.getvalue()


def _logo_path(settings: Settings) -> Path | None:
    if not settings.dealership_logo:
        return None
    path = Path(settings.dealership_logo)
    if not path.is_file():
        logger.warning("Logo %s not found; offers print without it", path)
        return None
    return path


def _one_line(text: str | None) -> str:
    """A value on one line: runs of spaces and line breaks become one space."""
    return " ".join((text or "").split())


def _write_title(
    pdf: OfferDocument, offer: OfferView, settings: Settings, now: datetime
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
    if offer.revision > 1:
        rows.append(("Revisión", str(offer.revision)))
    _key_values(pdf, rows)


def _write_customer(pdf: OfferDocument, customer: CustomerView | None) -> None:
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
    _key_values(pdf, rows)


def _write_vehicle(pdf: OfferDocument, vehicle: VehicleView) -> None:
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
    co2 = None if vehicle.co2_gkm is None else f"{number(vehicle.co2_gkm)} g/km (WLTP)"
    rows += [
        ("Potencia", power),
        ("Emisiones de CO2", co2),
        ("Bastidor", vehicle.vin),
        ("Número de pedido", vehicle.order_number),
        ("Número de comisión", vehicle.commission_number),
    ]
    _key_values(pdf, rows, columns=2)


def _write_prices(pdf: OfferDocument, offer: OfferView) -> None:
    _section_title(pdf, "Precio")
    amount_width = 45
    label_width = pdf.epw - amount_width
    pdf.set_draw_color(*RULE_GREY)
    for line in price_lines(offer.prices, offer.vehicle):
        pdf.set_font(FONT_FAMILY, "B" if line.total else "", 10)
        if pdf.will_page_break(PRICE_LINE_HEIGHT):
            pdf.add_page()
        pdf.cell(w=label_width, h=PRICE_LINE_HEIGHT, text=line.label)
        pdf.cell(
            w=amount_width,
            h=PRICE_LINE_HEIGHT,
            text=line.amount,
            align=Align.R,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        y = pdf.get_y()
        pdf.line(pdf.l_margin, y, pdf.w - pdf.r_margin, y)
    pdf.set_font(FONT_FAMILY, size=10)


def _write_remarks(pdf: OfferDocument, notes: str) -> None:
    if not notes.strip():
        return
    _section_title(pdf, "Observaciones")
    pdf.set_font(FONT_FAMILY, size=10)
    pdf.multi_cell(
        w=0, h=LINE_HEIGHT, text=notes.strip(), new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )


def _write_conditions(pdf: OfferDocument, settings: Settings) -> None:
    _section_title(pdf, "Condiciones")
    pdf.set_font(FONT_FAMILY, size=8.5)
    _paragraph(pdf, CONDITIONS_TEXT, pdf.epw, 4.2)
    pdf.ln(3)
    pdf.set_font(FONT_FAMILY, size=7.5)
    pdf.set_text_color(*GREY)
    note = DATA_PROTECTION_TEXT.format(
        name=settings.dealership_name,
        cif=settings.dealership_cif,
        address=settings.dealership_address,
        phone=settings.dealership_phone,
    )
    _paragraph(pdf, note, pdf.epw, 3.8)
    pdf.set_text_color(0)


# Lines of the fixed paragraphs (conditions, data protection, the header),
# by text, font and width: breaking a paragraph into lines is most of the
# layout time, and these paragraphs are the same in every offer.
_WRAPPED: dict[tuple[str, str, float, float], tuple[str, ...]] = {}
_WRAPPED_LIMIT = 256


def _paragraph(pdf: OfferDocument, text: str, width: float, height: float) -> None:
    """A fixed paragraph, left-aligned, its line breaks computed once."""
    key = (text, pdf.font_style, pdf.font_size_pt, width)
    lines = _WRAPPED.get(key)
    if lines is None:
        lines = tuple(
            pdf.multi_cell(
                w=width,
                h=height,
                text=text,
                dry_run=True,
                output=MethodReturnValue.LINES,
            )
        )
        if len(_WRAPPED) < _WRAPPED_LIMIT:
            _WRAPPED[key] = lines
    left = pdf.get_x()
    for line in lines:
        pdf.cell(w=width, h=height, text=line, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_x(left)


def _section_title(pdf: OfferDocument, title: str) -> None:
    pdf.ln(4)
    pdf.set_font(FONT_FAMILY, "B", 12)
    if pdf.will_page_break(12):
        pdf.add_page()
    pdf.cell(text=title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)


def _key_values(
    pdf: OfferDocument, rows: list[tuple[str, str | None]], columns: int = 1
) -> None:
    """Label and value rows, in one or two columns.

    A value too long for its space wraps, even in the middle of a word; the
    row is as tall as its tallest value and never splits across pages.
    """
    pdf.set_font(FONT_FAMILY, size=9.5)
    column_width = (pdf.epw - COLUMN_GAP * (columns - 1)) / columns
    label_width = LABEL_WIDTH if columns == 1 else PAIR_LABEL_WIDTH
    value_width = column_width - label_width
    for start in range(0, len(rows), columns):
        pairs = [
            (label, _one_line(value) or EMPTY)
            for label, value in rows[start : start + columns]
        ]
        lines = [_line_count(pdf, text, value_width) for _, text in pairs]
        height = max(lines) * LINE_HEIGHT
        if pdf.will_page_break(height):
            pdf.add_page()
        top = pdf.get_y()
        for position, ((label, text), count) in enumerate(
            zip(pairs, lines, strict=True)
        ):
            left = pdf.l_margin + position * (column_width + COLUMN_GAP)
            pdf.set_xy(left, top)
            pdf.set_text_color(*GREY)
            pdf.cell(w=label_width, h=LINE_HEIGHT, text=label)
            pdf.set_text_color(0)
            if count == 1:
                pdf.cell(w=value_width, h=LINE_HEIGHT, text=text)
            else:
                pdf.multi_cell(w=value_width, h=LINE_HEIGHT, text=text, align=Align.L)
        pdf.set_xy(pdf.l_margin, top + height)


def _line_count(pdf: OfferDocument, text: str, width: float) -> int:
    if pdf.get_string_width(text) <= width - 2 * pdf.c_margin:
        return 1
    lines = pdf.multi_cell(
        w=width, h=LINE_HEIGHT, text=text, dry_run=True, output=MethodReturnValue.LINES
    )
    return max(1, len(lines))
