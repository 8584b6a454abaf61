"""The offer PDF, read back with pypdf."""

import io
import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pypdf import PdfReader

from lib.config import Settings
from lib.documents import build_offer_pdf, offer_pdf_filename, price_lines, valid_until
from lib.formatting import money
from lib.pricing import break_down
from lib.views import OfferView
from tests.factories import make_customer, make_offer, make_vehicle

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def pdf_text(document: bytes) -> str:
    """All the text of a PDF, with non-breaking spaces read as spaces."""
    reader = PdfReader(io.BytesIO(document))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text.replace("\xa0", " ")


@pytest.fixture(scope="module")
def offer_text() -> str:
    return pdf_text(build_offer_pdf(make_offer(), Settings(), now=NOW))


def test_pdf_starts_with_pdf_header() -> None:
    document = build_offer_pdf(make_offer(), Settings(), now=NOW)

    assert document.startswith(b"%PDF-")
    assert isinstance(document, bytes)


def test_pdf_shows_offer_number_and_dealership(offer_text: str) -> None:
    settings = Settings()

    assert "Oferta 2026-000123" in offer_text
    assert settings.dealership_name in offer_text
    assert f"CIF {settings.dealership_cif}" in offer_text
    assert settings.dealership_phone in offer_text


def test_pdf_shows_prices_in_spanish_euros(offer_text: str) -> None:
    assert "Precio del vehículo (IVA incluido) 24.500,00 €" in offer_text
    assert "Descuento -1.050,00 €" in offer_text
    assert "Base imponible 19.380,17 €" in offer_text
    assert "IVA 21 % 4.069,83 €" in offer_text
    assert "Total 23.450,00 €" in offer_text


def test_pdf_prices_match_the_breakdown(offer_text: str) -> None:
    prices = make_offer().prices

    for cents in (prices.base_cents, prices.vat_cents, prices.total_cents):
        assert money(cents).replace("\xa0", " ") in offer_text


def test_pdf_shows_accented_customer_name(offer_text: str) -> None:
    assert "Íñigo Muñoz Peñalver" in offer_text
    assert "inigo.munoz@example.com" in offer_text
    assert "Teléfono 612 34 56 78" in offer_text
    assert "12345678Z" in offer_text


def test_pdf_shows_vin_order_and_commission_numbers(offer_text: str) -> None:
    assert "Bastidor WVWZZZCDZRW123456" in offer_text
    assert "Número de pedido PED-778812" in offer_text
    assert "Número de comisión C-40917" in offer_text


def test_pdf_shows_dates_and_validity(offer_text: str) -> None:
    assert "Fecha de la oferta 03/12/2026" in offer_text
    assert "Válida hasta 18/12/2026" in offer_text


def test_pdf_shows_salesperson(offer_text: str) -> None:
    assert "Lucía Fernández Ibáñez" in offer_text
    assert "lucia.fernandez@concesionario.example · 910 00 00 01" in offer_text


def test_pdf_shows_page_numbers(offer_text: str) -> None:
    assert "Página 1 de 1" in offer_text


def test_pdf_shows_condition_label_and_mileage_of_used_car(offer_text: str) -> None:
    assert "Estado Seminuevo" in offer_text
    assert "Kilometraje 12.345 km" in offer_text
    assert "Potencia 150 CV" in offer_text


def test_pdf_of_new_car_has_no_mileage_row() -> None:
    vehicle = make_vehicle(condition="NEW", mileage_km=0)
    text = pdf_text(build_offer_pdf(make_offer(vehicle=vehicle), Settings(), now=NOW))

    assert "Estado Nuevo" in text
    assert "Kilometraje" not in text


def test_pdf_shows_dash_for_missing_vehicle_numbers() -> None:
    vehicle = make_vehicle(vin=None, order_number="", commission_number="  ")
    text = pdf_text(build_offer_pdf(make_offer(vehicle=vehicle), Settings(), now=NOW))

    assert "Bastidor —" in text
    assert "Número de pedido —" in text
    assert "Número de comisión —" in text


def test_pdf_without_customer_says_sin_cliente_asignado() -> None:
    text = pdf_text(build_offer_pdf(make_offer(customer=None), Settings(), now=NOW))

    assert "Sin cliente asignado" in text
    assert "Íñigo" not in text


def test_stored_validity_wins_over_settings() -> None:
    offer = make_offer(valid_until=date(2026, 12, 31))
    text = pdf_text(build_offer_pdf(offer, Settings(offer_validity_days=30), now=NOW))

    assert valid_until(offer, Settings(offer_validity_days=30)) == date(2026, 12, 31)
    assert "Válida hasta 31/12/2026" in text


def test_validity_without_stored_date_follows_settings() -> None:
    settings = Settings(offer_validity_days=30)
    offer = make_offer(valid_until=None)
    text = pdf_text(build_offer_pdf(offer, settings, now=NOW))

    assert valid_until(offer, settings).isoformat() == "2027-01-02"
    assert "Válida hasta 02/01/2027" in text


def test_validity_counts_from_the_madrid_date() -> None:
    late_evening_utc = datetime(2026, 12, 3, 23, 30, tzinfo=UTC)
    offer = make_offer(created_at=late_evening_utc, valid_until=None)

    assert valid_until(offer, Settings()).isoformat() == "2026-12-19"


def test_same_offer_and_time_give_identical_bytes() -> None:
    first = build_offer_pdf(make_offer(), Settings(), now=NOW)
    second = build_offer_pdf(make_offer(), Settings(), now=NOW)

    assert first == second


def test_other_time_gives_other_bytes() -> None:
    first = build_offer_pdf(make_offer(), Settings(), now=NOW)
    later = build_offer_pdf(
        make_offer(), Settings(), now=datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    )

    assert first != later


def test_pdf_creation_date_is_now() -> None:
    document = build_offer_pdf(make_offer(), Settings(), now=NOW)
    metadata = PdfReader(io.BytesIO(document)).metadata

    assert metadata.creation_date == NOW
    assert metadata.title == "Oferta 2026-000123"


@pytest.mark.parametrize(
    "first_name",
    ["张伟", "Zoë 😀", "Ολυμπία", "Алёна", "\x07Ana\u200d"],
)
def test_name_the_font_cannot_draw_still_builds(first_name: str) -> None:
    customer = make_customer(first_name=first_name, last_name="Pérez")
    document = build_offer_pdf(make_offer(customer=customer), Settings(), now=NOW)

    text = pdf_text(document)
    assert "Pérez" in text
    assert "Oferta 2026-000123" in text


def test_characters_missing_from_font_print_as_replacement(
    caplog: pytest.LogCaptureFixture,
) -> None:
    customer = make_customer(first_name="张伟", last_name="Muñoz")
    with caplog.at_level(logging.WARNING, logger="lib.documents"):
        text = pdf_text(
            build_offer_pdf(make_offer(customer=customer), Settings(), now=NOW)
        )

    assert "\ufffd\ufffd Muñoz" in text
    assert "2 characters the font cannot draw" in caplog.text
    assert "张" not in caplog.text


def test_greek_and_cyrillic_names_print_as_written() -> None:
    customer = make_customer(first_name="Алёна", last_name="Παπαδοπούλου")
    text = pdf_text(build_offer_pdf(make_offer(customer=customer), Settings(), now=NOW))

    assert "Алёна Παπαδοπούλου" in text


def test_filename_is_type_and_reference() -> None:
    assert offer_pdf_filename(make_offer()) == "Oferta_2026-000123.pdf"


def test_filename_replaces_path_characters() -> None:
    assert offer_pdf_filename(make_offer(number="2026/7 x")) == "Oferta_2026_7_x.pdf"


def test_pdf_has_conditions_and_data_protection_note(offer_text: str) -> None:
    # Justified lines come back from pypdf with runs of spaces.
    words = " ".join(offer_text.split())

    assert "Condiciones Oferta sin compromiso" in words
    assert "Protección de datos: Concesionario Demo, S.L." in words
    assert "Agencia Española de Protección de Datos (www.aepd.es)" in words


NEW_CAR_PRICES = break_down(
    3_000_000,
    150_000,
    options_cents=120_000,
    transport_cents=65_000,
    registration_tax_cents=116_591,
)


def new_car_offer(**changes: object) -> OfferView:
    vehicle = make_vehicle(condition="NEW", mileage_km=0, co2_gkm=140)
    return make_offer(vehicle=vehicle, prices=NEW_CAR_PRICES, **changes)


def test_pdf_prints_every_price_line_of_a_new_car() -> None:
    text = pdf_text(build_offer_pdf(new_car_offer(), Settings(), now=NOW))

    assert "Precio del vehículo (IVA incluido) 30.000,00 €" in text
    assert "Opciones y accesorios 1.200,00 €" in text
    assert "Descuento -1.500,00 €" in text
    assert "Transporte y preentrega 650,00 €" in text
    assert "Base imponible 25.082,64 €" in text
    assert "IVA 21 % 5.267,36 €" in text
    assert "Impuesto de matriculación (4,75 %) 1.165,91 €" in text
    assert "Total 31.515,91 €" in text
    assert "Emisiones de CO2 140 g/km (WLTP)" in text


def test_registration_tax_does_not_apply_to_a_registered_car(offer_text: str) -> None:
    assert "Impuesto de matriculación No aplica" in offer_text


@pytest.mark.parametrize(
    ("co2", "label"),
    [
        (95, "Impuesto de matriculación (0,00 %)"),
        (159, "Impuesto de matriculación (4,75 %)"),
        (160, "Impuesto de matriculación (9,75 %)"),
        (250, "Impuesto de matriculación (14,75 %)"),
        (None, "Impuesto de matriculación (CO2 sin indicar)"),
    ],
)
def test_registration_line_names_the_band_rate(co2: int | None, label: str) -> None:
    vehicle = make_vehicle(condition="NEW", co2_gkm=co2)

    lines = price_lines(NEW_CAR_PRICES, vehicle)

    assert lines[6].label == label
    assert lines[6].amount.replace("\xa0", " ") == "1.165,91 €"


def test_price_lines_add_up_to_the_total() -> None:
    lines = {
        line.label: line.cents
        for line in price_lines(
            NEW_CAR_PRICES, make_vehicle(condition="NEW", co2_gkm=140)
        )
    }

    lines_with_vat = (
        lines["Precio del vehículo (IVA incluido)"]
        + lines["Opciones y accesorios"]
        + lines["Descuento"]
        + lines["Transporte y preentrega"]
    )
    assert lines_with_vat == lines["Base imponible"] + lines["IVA 21 %"]
    assert (
        lines_with_vat + lines["Impuesto de matriculación (4,75 %)"] == lines["Total"]
    )


def test_revision_is_printed_after_the_first() -> None:
    first = pdf_text(build_offer_pdf(make_offer(), Settings(), now=NOW))
    third = pdf_text(build_offer_pdf(make_offer(revision=3), Settings(), now=NOW))

    assert "Revisión" not in first
    assert "Revisión 3" in third


def test_notes_print_as_observaciones() -> None:
    offer = make_offer(notes="Incluye alfombrillas y la revisión de los 1.000 km.")

    text = pdf_text(build_offer_pdf(offer, Settings(), now=NOW))

    assert "Observaciones" in text
    assert "Incluye alfombrillas y la revisión de los 1.000 km." in text


def test_offer_without_notes_has_no_observaciones(offer_text: str) -> None:
    assert "Observaciones" not in offer_text


def test_long_notes_continue_on_a_numbered_second_page() -> None:
    notes = "\n".join(f"Línea {n} de las observaciones." for n in range(1, 41))

    document = build_offer_pdf(make_offer(notes=notes), Settings(), now=NOW)

    reader = PdfReader(io.BytesIO(document))
    assert len(reader.pages) == 2
    assert "Página 1 de 2" in reader.pages[0].extract_text()
    assert "Página 2 de 2" in reader.pages[1].extract_text()
    assert "Línea 40 de las observaciones." in pdf_text(document)


def write_logo(path: Path) -> Path:
    Image.new("RGB", (120, 40), (200, 30, 30)).save(path)
    return path


def test_logo_is_drawn_when_configured(tmp_path: Path) -> None:
    settings = Settings(dealership_logo=str(write_logo(tmp_path / "logo.png")))

    document = build_offer_pdf(make_offer(), settings, now=NOW)

    page = PdfReader(io.BytesIO(document)).pages[0]
    assert len(page.images) == 1
    assert page.images[0].image.size == (120, 40)
    assert settings.dealership_name in page.extract_text()


def test_missing_logo_prints_without_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(dealership_logo=str(tmp_path / "no-such-logo.png"))

    with caplog.at_level(logging.WARNING, logger="lib.documents"):
        document = build_offer_pdf(make_offer(), settings, now=NOW)

    assert len(PdfReader(io.BytesIO(document)).pages[0].images) == 0
    assert "not found" in caplog.text


def test_unreadable_logo_prints_without_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "logo.png"
    broken.write_bytes(b"not an image")
    settings = Settings(dealership_logo=str(broken))

    with caplog.at_level(logging.WARNING, logger="lib.documents"):
        document = build_offer_pdf(make_offer(), settings, now=NOW)

    assert len(PdfReader(io.BytesIO(document)).pages[0].images) == 0
    assert "cannot be drawn" in caplog.text


def squeezed(text: str) -> str:
    """Text without any whitespace: wrapped lines read back as one."""
    return "".join(text.split())


def test_a_200_character_word_wraps_in_the_address() -> None:
    word = "Calle" + "x" * 195
    customer = make_customer(last_name=word)
    settings = Settings(dealership_address=f"{word} 12, 28108 Alcobendas")

    text = pdf_text(build_offer_pdf(make_offer(customer=customer), settings, now=NOW))

    assert squeezed(text).count(word) >= 3  # header, customer, data protection
    assert word not in text  # it does not fit on one line: it wrapped


@pytest.mark.parametrize(
    ("first_name", "printed"),
    [
        ("José María 🚗", "José María \ufffd"),
        ("王小明", "\ufffd\ufffd\ufffd"),
        ("Ζωή €", "Ζωή €"),
    ],
)
def test_any_script_prints_or_shows_a_replacement_mark(
    first_name: str, printed: str
) -> None:
    customer = make_customer(first_name=first_name, last_name="Pérez")

    text = pdf_text(build_offer_pdf(make_offer(customer=customer), Settings(), now=NOW))

    assert f"{printed} Pérez" in text


def embedded_font_codes(document: bytes) -> set[int]:
    """The characters the embedded fonts map, read from their own cmap tables."""
    codes: set[int] = set()
    fonts = PdfReader(io.BytesIO(document)).pages[0]["/Resources"]["/Font"]
    for font in fonts.values():
        descendant = font.get_object()["/DescendantFonts"][0].get_object()
        stream = descendant["/FontDescriptor"].get_object()["/FontFile2"]
        codes |= set(TTFont(io.BytesIO(stream.get_object().get_data())).getBestCmap())
    return codes


def test_arabic_is_shaped_into_joined_letters() -> None:
    customer = make_customer(first_name="محمد", last_name="Pérez")

    document = build_offer_pdf(make_offer(customer=customer), Settings(), now=NOW)

    text = pdf_text(document)
    assert all(letter in text for letter in "محمد")
    assert "\ufffd" not in text
    # Joined forms: initial and medial meem, final dal (U+FEE3, U+FEE4, U+FEAA).
    assert {0xFEE3, 0xFEE4, 0xFEAA} <= embedded_font_codes(document)


def test_latin_offer_is_not_shaped() -> None:
    document = build_offer_pdf(make_offer(), Settings(), now=NOW)

    assert not any(0xFB00 <= code <= 0xFEFF for code in embedded_font_codes(document))


def test_bytes_do_not_depend_on_documents_built_before() -> None:
    first = build_offer_pdf(make_offer(), Settings(), now=NOW)
    greek = make_customer(first_name="Ζωή", last_name="Παπαδοπούλου")
    build_offer_pdf(make_offer(customer=greek), Settings(), now=NOW)
    build_offer_pdf(new_car_offer(notes="王小明 😀"), Settings(), now=NOW)

    again = build_offer_pdf(make_offer(), Settings(), now=NOW)

    assert again == first


def test_embedded_font_is_cut_to_the_characters_printed() -> None:
    document = build_offer_pdf(make_offer(), Settings(), now=NOW)

    assert len(document) < 60_000  # the whole DejaVu Sans is 740 KB


LATIN = st.characters(
    min_codepoint=0x20,
    max_codepoint=0x17F,
    blacklist_categories=("Cc", "Zs", "Cf"),
)


@settings(max_examples=40, deadline=None)
@given(first_name=st.text(LATIN, min_size=1, max_size=60))
def test_latin_names_read_back_exactly(first_name: str) -> None:
    customer = make_customer(first_name=first_name, last_name="")

    text = pdf_text(build_offer_pdf(make_offer(customer=customer), Settings(), now=NOW))

    assert squeezed(first_name) in squeezed(text)


@settings(max_examples=40, deadline=None)
@given(
    first_name=st.text(max_size=80),
    last_name=st.text(max_size=80),
    notes=st.text(max_size=400),
    address=st.text(max_size=120),
)
def test_any_unicode_builds_a_pdf(
    first_name: str, last_name: str, notes: str, address: str
) -> None:
    customer = make_customer(first_name=first_name, last_name=last_name)
    offer = make_offer(customer=customer, notes=notes)

    document = build_offer_pdf(offer, Settings(dealership_address=address), now=NOW)

    text = pdf_text(document)
    assert "Oferta 2026-000123" in text
    assert "Total 23.450,00 €" in text
