"""How numbers, money and dates read in Spain (Babel, es_ES)."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers
from babel.dates import format_date, format_datetime
from babel.numbers import (
    NumberFormatError,
    format_currency,
    format_decimal,
    format_percent,
    parse_decimal,
)

from lib.errors import InvalidInput

LOCALE = "es_ES"
# Formatting through Babel and phonenumbers costs tens of microseconds a call
# and a page formats the same few hundred values on every rerun: the pure
# functions below remember their last answers.
REMEMBERED = 4096
AMOUNT_CHARACTERS = re.compile(r"[0-9]+(\.[0-9]{3})*(,[0-9]*)?|[0-9]+(,[0-9]*)?")
MAX_AMOUNT = Decimal("100000000")
SPACED_THOUSANDS = re.compile(r"[0-9]{1,3}(?:[ \u202f][0-9]{3})+(?:,[0-9]*)?")
TIMEZONE = ZoneInfo("Europe/Madrid")

TEMPERATURE_BANDS = (
    (0.25, "🧊", "Fría"),
    (0.50, "🌤️", "Templada"),
    (0.75, "☀️", "Caliente"),
    (1.01, "🔥", "Muy caliente"),
)


def cents_to_decimal(cents: int) -> Decimal:
    """Integer cents as an exact Decimal of euros."""
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


@lru_cache(maxsize=REMEMBERED)
def money(cents: int) -> str:
    """Cents as Spanish euros: ``23.450,00 €``."""
    # Babel follows CLDR, which drops the thousands dot in four-digit numbers
    # for Spanish; dealers and their customers expect 1.500,00 €.
    text = format_currency(
        cents_to_decimal(cents), "EUR", locale=LOCALE, group_separator=True
    )
    return _group_four_digits(text)


def amount(cents: int) -> str:
    """Cents as an amount to edit, without the currency: ``1.500,00``."""
    return number(cents / 100, decimals=2)


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@lru_cache(maxsize=REMEMBERED)
def number(value: int | float, decimals: int = 0) -> str:
    """A number with Spanish separators: ``123.456``."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return _group_four_digits(format_decimal(value, format=pattern, locale=LOCALE))


def _group_four_digits(text: str) -> str:
    head, sep, tail = text.partition(",")
    digits = head.lstrip("-").replace("\xa0", "").replace(" ", "")
    if digits.isdigit() and len(digits) == 4:
        sign = "-" if head.startswith("-") else ""
        head = f"{sign}{digits[0]}.{digits[1:]}"
    return head + sep + tail


@lru_cache(maxsize=REMEMBERED)
def percent(value: float) -> str:
    """A probability as a Spanish percentage: ``75 %``."""
    return format_percent(value, locale=LOCALE)


def local(moment: datetime) -> datetime:
    """A UTC time in Madrid's time."""
    return moment.astimezone(TIMEZONE)


def day(moment: datetime | date | None) -> str:
    """A date as ``03/12/2026``; empty for none."""
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        moment = local(moment).date()
    return _date_text(moment)


@lru_cache(maxsize=REMEMBERED)
def _date_text(moment: date) -> str:
    return format_date(moment, "dd/MM/yyyy", locale=LOCALE)


def day_time(moment: datetime | None) -> str:
    """A time as ``03/12/2026 18:05``; empty for none."""
    if moment is None:
        return ""
    return format_datetime(local(moment), "dd/MM/yyyy HH:mm", locale=LOCALE)


def temperature_band(value: float) -> tuple[str, str]:
    """The icon and the name of a temperature's band."""
    for upper, icon, label in TEMPERATURE_BANDS:
        if value < upper:
            return icon, label
    return TEMPERATURE_BANDS[-1][1], TEMPERATURE_BANDS[-1][2]


def temperature(value: float) -> str:
    """A temperature as its icon and percentage: ``🔥 80 %``."""
    icon, _ = temperature_band(value)
    return f"{icon} {percent(value)}"


def parse_money(text: str, *, label: str = "El importe") -> int:
    """Euros typed the Spanish way (``1.500,50``, ``1500``) as cents; empty is zero."""
    cleaned = text.replace("€", "").replace("\xa0", "").strip()
    if SPACED_THOUSANDS.fullmatch(cleaned):
        # "1 500,00": thousands set apart by spaces, as Spanish style allows.
        cleaned = cleaned.replace(" ", "").replace("\u202f", "")
    if not cleaned:
        return 0
    if cleaned.startswith("-"):
        raise InvalidInput(f"{label} no puede ser negativo.")
    invalid = InvalidInput(
        f"{label} «{text}» no es un importe válido; escríbalo así: 1.500,00"
    )
    # Babel (through Decimal) also reads "1e3", "nan", "1_000" and other
    # scripts' digits; an amount on an offer is ASCII digits, dots and a comma.
    if not AMOUNT_CHARACTERS.fullmatch(cleaned):
        raise invalid
    try:
        amount = parse_decimal(cleaned, locale=LOCALE, strict=True)
    except NumberFormatError as error:
        raise invalid from error
    if amount >= MAX_AMOUNT:
        raise InvalidInput(f"{label} «{text}» es demasiado grande.")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(f"{label} no puede tener más de dos decimales.")
    return int(amount * 100)


@lru_cache(maxsize=REMEMBERED)
def phone(e164: str | None) -> str:
    """A stored phone as people read it: ``612 34 56 78``; abroad ``+33 6 12…``."""
    if not e164:
        return ""
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return e164
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if parsed.country_code == 34
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, style)
