"""The offer PDF, read back with pypdf."""

import io
import logging
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from lib.config import Settings
from lib.documents import build_offer_pdf, offer_pdf_filename, valid_until
from lib.formatting import money
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


def test_validity_follows_settings() -> None:
    settings = Settings(offer_validity_days=30)
    text = pdf_text(build_offer_pdf(make_offer(), settings, now=NOW))

    assert valid_until(make_offer(), settings).isoformat() == "2027-01-02"
    assert "Válida hasta 02/01/2027" in text


def test_validity_counts_from_the_madrid_date() -> None:
    late_evening_utc = datetime(2026, 12, 3, 23, 30, tzinfo=UTC)
    offer = make_offer(created_at=late_evening_utc)

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
