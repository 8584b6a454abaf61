"""Command line for the people who run the desk.

    python -m lib.cli migrate
    python -m lib.cli import-stock PATH
    python -m lib.cli reset-password USERNAME
    python -m lib.cli set-email USERNAME EMAIL

All use the database of ``OFFERDESK_DATABASE_URL`` (the app's default SQLite
file otherwise) and bring its schema up to date first. What a command
reports is its output, for the person at the console: it is printed, to
standard output or, for an error, to standard error; the log keeps the
records as elsewhere. A new command is a
function taking the parsed arguments and returning the exit code, added to
``_parser``.
"""

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine

from lib.auth import reset_password_by_username
from lib.config import load_settings
from lib.db import make_engine, migrate
from lib.errors import OfferDeskError
from lib.formatting import number
from lib.stock import StockImportReport, import_stock
from lib.users import set_email

logger = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code."""
    arguments = _parser().parse_args(argv)
    logging.basicConfig(
        level=load_settings().log_level,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return arguments.command(arguments)
    except OfferDeskError as error:
        print(f"Error: {error.message}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lib.cli", description="Tareas de administración de ofertas."
    )
    commands = parser.add_subparsers(required=True, metavar="ORDEN")
    migrating = commands.add_parser(
        "migrate", help="Pone al día el esquema de la base de datos."
    )
    migrating.set_defaults(command=_migrate)
    importing = commands.add_parser(
        "import-stock", help="Importa un fichero CSV de stock."
    )
    importing.add_argument("path", type=Path, help="fichero CSV del stock")
    importing.set_defaults(command=_import_stock)
    resetting = commands.add_parser(
        "reset-password",
        help="Da a un usuario una contraseña de un solo uso y la muestra.",
    )
    resetting.add_argument("username", help="nombre de acceso del usuario")
    resetting.set_defaults(command=_reset_password)
    emailing = commands.add_parser(
        "set-email",
        help="Da a un usuario su correo (con él entra por OpenID Connect).",
    )
    emailing.add_argument("username", help="nombre de acceso del usuario")
    emailing.add_argument("email", help="correo electrónico")
    emailing.set_defaults(command=_set_email)
    return parser


def _engine() -> Engine:
    engine = make_engine(load_settings().database_url)
    migrate(engine)
    return engine


def _migrate(arguments: argparse.Namespace) -> int:
    engine = _engine()
    engine.dispose()
    print("Esquema de la base de datos al día.")
    return 0


def _import_stock(arguments: argparse.Namespace) -> int:
    path: Path = arguments.path
    if not path.is_file():
        print(f"Error: no existe el fichero {path}.", file=sys.stderr)
        return 1

    engine = _engine()
    try:
        with path.open("rb") as source:
            report = import_stock(
                engine, source, file_name=path.name, progress=_print_progress
            )
    finally:
        engine.dispose()

    print(_report_table(report))
    return 0


def _reset_password(arguments: argparse.Namespace) -> int:
    engine = _engine()
    try:
        issued = reset_password_by_username(engine, arguments.username)
    finally:
        engine.dispose()
    print(
        f"Contraseña de un solo uso para «{issued.username}» ({issued.full_name}): "
        f"{issued.password}\nDeberá cambiarla al entrar; la cuenta queda desbloqueada."
    )
    return 0


def _set_email(arguments: argparse.Namespace) -> int:
    engine = _engine()
    try:
        account = set_email(engine, arguments.username, arguments.email)
    finally:
        engine.dispose()
    print(f"Correo de «{account.username}»: {account.email}")
    return 0


def _print_progress(done: int, total: int) -> None:
    print(f"Importando… {number(done)} de {number(total)} filas", file=sys.stderr)


def _report_table(report: StockImportReport) -> str:
    lines = [
        ("Fichero", report.file_name),
        ("Filas leídas", number(report.rows)),
        ("Vehículos importados", number(report.imported)),
        ("Filas descartadas", number(report.skipped)),
    ]
    lines += [
        (f"  {reason}", number(count))
        for reason, count in report.skipped_by_reason.items()
    ]
    lines.append(("Tiempo", f"{number(report.seconds, 2)} s"))
    width = max(len(label) for label, _ in lines)
    table = [f"{label:<{width}}  {value}" for label, value in lines]
    for example in report.examples[:10]:
        table.append(f"Línea {example.line}: {example.reason}")
    if len(report.examples) > 10:
        table.append(f"… y {number(report.skipped - 10)} filas descartadas más.")
    return "\n".join(table)


if __name__ == "__main__":
    sys.exit(main())
