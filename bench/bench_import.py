"""How long the real stock export takes to import, and how much memory it needs.

    python -m bench.bench_import [PATH]

Imports ``../shared/data/stock-autoscout24-de.csv`` (or PATH) into a fresh
SQLite file, and into a fresh PostgreSQL database when
``OFFERDESK_BENCH_POSTGRES_URL`` is set (the database is created on that
server and dropped afterwards). Each run happens in a process of its own, so
its peak resident memory is its own; the table shows that peak and how much
it grew over the process after start-up (imports, engine, migrations).
"""

import os
import resource
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from lib.config import PROJECT_ROOT

STOCK_CSV = PROJECT_ROOT.parent / "shared" / "data" / "stock-autoscout24-de.csv"


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / divisor


def _run(backend: str, url: str, path: str) -> dict[str, object]:
    from lib.db import make_engine, migrate
    from lib.stock import import_stock

    engine = make_engine(url)
    migrate(engine)
    baseline = _peak_rss_mb()
    started = time.perf_counter()
    with open(path, "rb") as source:
        report = import_stock(engine, source, file_name=Path(path).name)
    seconds = time.perf_counter() - started
    engine.dispose()
    return {
        "backend": backend,
        "rows": report.rows,
        "imported": report.imported,
        "skipped": report.skipped,
        "seconds": seconds,
        "peak": _peak_rss_mb(),
        "growth": _peak_rss_mb() - baseline,
    }


def _in_own_process(backend: str, url: str, path: Path) -> dict[str, object]:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_run, backend, url, str(path)).result()


def _sqlite(path: Path) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as directory:
        return _in_own_process("SQLite", f"sqlite:///{directory}/bench.db", path)


def _postgres(server_url: str, path: Path) -> dict[str, object]:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from lib.db import make_engine

    server = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    name = f"offerdesk_bench_{uuid.uuid4().hex[:12]}"
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(server_url).set(database=name)
        return _in_own_process(
            "PostgreSQL", url.render_as_string(hide_password=False), path
        )
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        server.dispose()


def _table(results: list[dict[str, object]]) -> str:
    header = (
        "backend",
        "rows",
        "imported",
        "skipped",
        "seconds",
        "rows/s",
        "peak RSS MB",
        "growth MB",
    )
    lines = [
        (
            str(result["backend"]),
            f"{result['rows']:,}",
            f"{result['imported']:,}",
            f"{result['skipped']:,}",
            f"{result['seconds']:.2f}",
            f"{result['rows'] / result['seconds']:,.0f}",
            f"{result['peak']:.0f}",
            f"{result['growth']:.0f}",
        )
        for result in results
    ]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    rendered = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, *lines]
    ]
    rendered.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(rendered)


def main() -> int:
    """Run the benchmark and print its table."""
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else STOCK_CSV
    if not path.is_file():
        print(f"No stock file at {path}", file=sys.stderr)
        return 1
    results = [_sqlite(path)]
    postgres_url = os.environ.get("OFFERDESK_BENCH_POSTGRES_URL", "")
    if postgres_url:
        results.append(_postgres(postgres_url, path))
    print(f"{path.name}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
