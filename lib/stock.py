"""Stock files: a dealer's CSV export turned into vehicles in stock.

The layout is the one of the marketplace export the dealers hand us: columns
``mileage, make, model, fuel, gear, offerType, price, hp, year`` in any order,
comma- or semicolon-separated, UTF-8 with or without a BOM (Windows-1252 as a
fallback, which is what Excel in Spain writes). Rows that cannot become a
vehicle are skipped and counted by reason; the file as a whole is refused only
when it is not such a CSV at all or has been imported before.
"""

import csv
import hashlib
import io
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from lib.db import reading, transaction
from lib.errors import StockImportError
from lib.formatting import day_time, number
from lib.models import Availability, Condition, StockImport, Vehicle, utcnow

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = (
    "mileage",
    "make",
    "model",
    "fuel",
    "gear",
    "offertype",
    "price",
    "hp",
    "year",
)
CHUNK_ROWS = 5000
MAX_EXAMPLES = 200

CONDITIONS = {
    "new": Condition.NEW,
    "pre-registered": Condition.KM0,
    "demonstration": Condition.DEMO,
    "used": Condition.USED,
    "employee's car": Condition.EMPLOYEE,
}
# A file exported from this app (or retouched by hand in Spanish) reads back.
CONDITIONS.update({label.lower(): key for key, label in Condition.LABELS.items()})

FUELS = {
    "gasoline": "Gasolina",
    "diesel": "Diésel",
    "electric": "Eléctrico",
    "electric/gasoline": "Híbrido gasolina",
    "electric/diesel": "Híbrido diésel",
    "lpg": "GLP",
    "cng": "GNC",
    "ethanol": "Etanol",
    "hydrogen": "Hidrógeno",
    "others": "",
    "-/- (fuel)": "",
    "": "",
}
FUELS.update({label.lower(): label for label in FUELS.values() if label})

GEARS = {
    "manual": "Manual",
    "automatic": "Automático",
    "semi-automatic": "Semiautomático",
    "": "",
}
GEARS.update({label.lower(): label for label in GEARS.values() if label})

# Bounds that keep a row inside the columns (PostgreSQL's INTEGER is 32 bits)
# and outside the obviously absurd.
MIN_YEAR = 1900
MAX_MILEAGE_KM = 2_000_000
MAX_POWER_HP = 2_000
MAX_PRICE_CENTS = 10_000_000 * 100
MAX_MAKE = Vehicle.__table__.c.make.type.length
MAX_MODEL = Vehicle.__table__.c.model.type.length

NO_MAKE = "Sin marca"
NO_MODEL = "Sin modelo"
LONG_MAKE = "Marca demasiado larga"
LONG_MODEL = "Modelo demasiado largo"
UNKNOWN_OFFER_TYPE = "Tipo de oferta desconocido"
BAD_PRICE = "Precio no válido"
BAD_YEAR = "Año no válido"
BAD_MILEAGE = "Kilometraje no válido"
BAD_POWER = "Potencia no válida"
BAD_COLUMNS = "Número de columnas incorrecto"

_INTEGER = re.compile(r"\d+(?:\.0*)?")
_PRICE = re.compile(r"\d+(?:[.,]\d{1,2})?")


@dataclass(frozen=True)
class SkippedRow:
    """A row of the file that did not become a vehicle, and why."""

    line: int
    reason: str


@dataclass(frozen=True)
class StockImportReport:
    """What an import did: counts, reasons, examples and time taken."""

    stock_import_id: int
    file_name: str
    imported: int
    skipped: int
    skipped_by_reason: dict[str, int]
    examples: list[SkippedRow] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        """Data rows read from the file (the header not counted)."""
        return self.imported + self.skipped


class _RowRejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _StockFile:
    """A stock file read, checked for its layout and counted, not yet converted."""

    digest: str
    text: str
    delimiter: str
    columns: dict[str, int]
    rows: int

    def records(self) -> Iterator[tuple[int, list[str]]]:
        return _records(self.text, self.delimiter)


@dataclass
class _Tally:
    imported: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    examples: list[SkippedRow] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return sum(self.reasons.values())

    def skip(self, line: int, reason: str) -> None:
        self.reasons[reason] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(SkippedRow(line=line, reason=reason))


def import_stock(
    engine: Engine,
    source: BinaryIO,
    *,
    file_name: str,
    progress: Callable[[int, int], None] | None = None,
    imported_by_id: int | None = None,
) -> StockImportReport:
    """Load a stock CSV as vehicles in stock and report what was taken and skipped.

    ``progress(done, total)`` is called after each chunk of rows with the data
    rows read so far and the data rows in the file; the last call has
    ``done == total``. Raises ``StockImportError`` (and writes nothing) when the
    file is not a stock CSV or the same bytes were imported before.
    """
    started = time.perf_counter()
    stock_file = _read(source)
    _refuse_if_imported(engine, stock_file.digest)

    # One transaction for the whole file: an import that fails half-way (the
    # database goes away, the page is closed during a progress callback)
    # leaves nothing behind, so the same file can simply be imported again.
    # The write lock is held for the length of the import, about a second
    # for the 46,000 rows of a real export, which other writers wait out.
    try:
        with transaction(engine) as session:
            record = StockImport(
                file_name=file_name[:255],
                sha256=stock_file.digest,
                imported_by_id=imported_by_id,
            )
            session.add(record)
            session.flush()
            tally = _load(session.connection(), stock_file, record.id, progress)
            record.imported_rows = tally.imported
            record.skipped_rows = tally.skipped
            stock_import_id = record.id
    except IntegrityError as error:
        # Two people importing the same file at the same moment: the unique
        # SHA-256 lets one through and stops the other here.
        logger.warning("Stock file %s refused on commit: %s", file_name, error.orig)
        _refuse_if_imported(engine, stock_file.digest)
        raise StockImportError(
            "No se ha podido importar el fichero; no se ha guardado nada."
        ) from error
    except SQLAlchemyError as error:
        logger.exception("Stock import of %s failed", file_name)
        raise StockImportError(
            "La base de datos ha fallado durante la importación; no se ha guardado "
            "nada. Inténtelo de nuevo."
        ) from error

    report = StockImportReport(
        stock_import_id=stock_import_id,
        file_name=file_name,
        imported=tally.imported,
        skipped=tally.skipped,
        skipped_by_reason=dict(tally.reasons.most_common()),
        examples=tally.examples,
        seconds=time.perf_counter() - started,
    )
    logger.info(
        "Stock import %s of %s by %s: %s vehicles imported, %s rows skipped in %.2f s",
        stock_import_id,
        file_name,
        imported_by_id,
        report.imported,
        report.skipped,
        report.seconds,
    )
    return report


def _read(source: BinaryIO) -> _StockFile:
    content = source.read()
    text = _decode(content)
    delimiter = _delimiter(text)
    columns = _columns(text, delimiter)
    rows = sum(1 for _ in _records(text, delimiter))
    if rows == 0:
        raise StockImportError("El fichero no tiene ninguna fila de vehículos.")
    return _StockFile(
        digest=hashlib.sha256(content).hexdigest(),
        text=text,
        delimiter=delimiter,
        columns=columns,
        rows=rows,
    )


def _load(
    connection: Connection,
    stock_file: _StockFile,
    stock_import_id: int,
    progress: Callable[[int, int], None] | None,
) -> _Tally:
    tally = _Tally()
    created_at = utcnow()
    chunk: list[dict[str, object]] = []
    for done, (line, fields) in enumerate(stock_file.records(), start=1):
        try:
            chunk.append(
                _vehicle_row(fields, stock_file.columns, stock_import_id, created_at)
            )
        except _RowRejected as rejected:
            tally.skip(line, rejected.reason)
        if len(chunk) >= CHUNK_ROWS or done == stock_file.rows:
            tally.imported += _insert(connection, chunk)
            chunk = []
            if progress is not None:
                progress(done, stock_file.rows)
    return tally


def _decode(content: bytes) -> str:
    if not content.strip():
        raise StockImportError("El fichero está vacío.")
    if b"\x00" in content[:4096]:
        raise StockImportError(
            "El fichero no es un CSV de texto; exporte el stock como CSV."
        )
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp1252")
    except UnicodeDecodeError as error:
        raise StockImportError(
            "No se reconoce la codificación del fichero; guárdelo como CSV UTF-8."
        ) from error


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _columns(text: str, delimiter: str) -> dict[str, int]:
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    names = [name.strip().lower() for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        expected = ", ".join(_column_title(name) for name in REQUIRED_COLUMNS)
        absent = ", ".join(_column_title(name) for name in missing)
        raise StockImportError(
            f"El fichero no tiene el formato de stock esperado. Faltan las "
            f"columnas: {absent}. Columnas necesarias: {expected}."
        )
    return {name: names.index(name) for name in REQUIRED_COLUMNS}


def _column_title(name: str) -> str:
    return "offerType" if name == "offertype" else name


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """The data records with the file line each starts on; blank lines are not rows."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        next(reader, None)
        line = reader.line_num + 1
        for fields in reader:
            if fields and any(value.strip() for value in fields):
                yield line, fields
            line = reader.line_num + 1
    except csv.Error as error:
        raise StockImportError(
            f"El fichero no es un CSV válido (línea {reader.line_num}): {error}."
        ) from error


def _refuse_if_imported(engine: Engine, digest: str) -> None:
    statement = select(
        StockImport.created_at, StockImport.file_name, StockImport.imported_rows
    ).where(StockImport.sha256 == digest)
    with reading(engine) as session:
        earlier = session.execute(statement).first()
    if earlier is not None:
        raise StockImportError(
            f"Este fichero ya se importó el {day_time(earlier.created_at)} "
            f"(«{earlier.file_name}», {number(earlier.imported_rows)} vehículos); "
            "no se ha vuelto a importar."
        )


def _vehicle_row(
    fields: list[str],
    columns: dict[str, int],
    stock_import_id: int,
    created_at: datetime,
) -> dict[str, object]:
    if len(fields) < len(columns) or len(fields) <= max(columns.values()):
        raise _RowRejected(BAD_COLUMNS)
    value = {name: fields[index].strip() for name, index in columns.items()}
    make, model = value["make"], value["model"]
    if not make:
        raise _RowRejected(NO_MAKE)
    if not model:
        raise _RowRejected(NO_MODEL)
    if len(make) > MAX_MAKE:
        raise _RowRejected(LONG_MAKE)
    if len(model) > MAX_MODEL:
        raise _RowRejected(LONG_MODEL)
    condition = CONDITIONS.get(value["offertype"].lower())
    if condition is None:
        raise _RowRejected(UNKNOWN_OFFER_TYPE)
    return {
        "make": make,
        "model": model,
        "version": "",
        "colour": "",
        "fuel": FUELS.get(value["fuel"].lower(), ""),
        "gear": GEARS.get(value["gear"].lower(), ""),
        "condition": condition,
        "availability": Availability.IN_STOCK,
        "price_cents": _price_cents(value["price"]),
        "power_hp": _power(value["hp"]),
        "year": _year(value["year"], created_at.year + 1),
        "mileage_km": _mileage(value["mileage"]),
        "vin": None,
        "order_number": None,
        "commission_number": None,
        "stock_import_id": stock_import_id,
        "created_at": created_at,
    }


def _integer(text: str) -> int | None:
    cleaned = text.replace(" ", "").replace("\xa0", "")
    if not _INTEGER.fullmatch(cleaned):
        return None
    return int(cleaned.split(".", 1)[0])


def _price_cents(text: str) -> int:
    cleaned = text.replace(" ", "").replace("\xa0", "").replace("€", "")
    if not _PRICE.fullmatch(cleaned):
        raise _RowRejected(BAD_PRICE)
    try:
        cents = int(Decimal(cleaned.replace(",", ".")) * 100)
    except InvalidOperation as error:
        raise _RowRejected(BAD_PRICE) from error
    if not 0 < cents <= MAX_PRICE_CENTS:
        raise _RowRejected(BAD_PRICE)
    return cents


def _year(text: str, latest: int) -> int:
    year = _integer(text)
    if year is None or not MIN_YEAR <= year <= latest:
        raise _RowRejected(BAD_YEAR)
    return year


def _mileage(text: str) -> int:
    mileage = _integer(text)
    if mileage is None or mileage > MAX_MILEAGE_KM:
        raise _RowRejected(BAD_MILEAGE)
    return mileage


def _power(text: str) -> int | None:
    if not text:
        return None
    power = _integer(text)
    if power is None or not 0 < power <= MAX_POWER_HP:
        raise _RowRejected(BAD_POWER)
    return power


def _insert(connection: Connection, rows: list[dict[str, object]]) -> int:
    if rows:
        connection.execute(insert(Vehicle.__table__), rows)
    return len(rows)
