from datetime import UTC, date, datetime

import pytest

from lib import formatting
from lib.errors import InvalidInput


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (2345000, "23.450,00\xa0€"),
        (150000, "1.500,00\xa0€"),
        (99, "0,99\xa0€"),
        (119990000, "1.199.900,00\xa0€"),
        (-95000, "-950,00\xa0€"),
    ],
)
def test_money_reads_spanish(cents, text):
    assert formatting.money(cents) == text


@pytest.mark.parametrize(
    ("typed", "cents"),
    [
        ("1.500,50", 150050),
        ("1500", 150000),
        ("950,5", 95050),
        ("", 0),
        ("1.500 €", 150000),
        ("1 500", 150000),
        ("12 345,67", 1234567),
        ("1\u202f500,5", 150050),
    ],
)
def test_parse_money_takes_spanish_amounts(typed, cents):
    assert formatting.parse_money(typed) == cents


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("abc", "no es un importe válido"),
        ("-5", "no puede ser negativo"),
        ("1e3", "no es un importe válido"),
        ("nan", "no es un importe válido"),
        ("inf", "no es un importe válido"),
        ("1_000", "no es un importe válido"),
        ("１２３", "no es un importe válido"),
        ("1,234,5", "no es un importe válido"),
        ("100000000", "demasiado grande"),
        ("1,505", "más de dos decimales"),
        ("15 00", "no es un importe válido"),
        ("1 5", "no es un importe válido"),
    ],
)
def test_parse_money_rejects_with_spanish_message(typed, message):
    with pytest.raises(InvalidInput, match=message):
        formatting.parse_money(typed, label="El descuento")


def test_day_uses_madrid_time():
    assert formatting.day(datetime(2026, 12, 3, 23, 30, tzinfo=UTC)) == "04/12/2026"
    assert formatting.day(date(2026, 12, 3)) == "03/12/2026"
    assert formatting.day(None) == ""
    assert (
        formatting.day_time(datetime(2026, 7, 1, 8, 5, tzinfo=UTC))
        == "01/07/2026 10:05"
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.1, "🧊 10\xa0%"), (0.4, "🌤️ 40\xa0%"), (0.5, "☀️ 50\xa0%"), (1.0, "🔥 100\xa0%")],
)
def test_temperature_shows_band_icon_and_percentage(value, shown):
    assert formatting.temperature(value) == shown


def test_phone_reads_national_for_spain_and_international_abroad():
    assert formatting.phone("+34612345678") == "612 34 56 78"
    assert formatting.phone("+33612345678") == "+33 6 12 34 56 78"
    assert formatting.phone(None) == ""
