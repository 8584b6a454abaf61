"""The Ofertas page and its queries at 1k, 100k and 1M offers.

    python -m bench.bench_ofertas [SIZE ...]
    python -m bench.bench_ofertas demo

For each size (default 1000 100000 1000000) a database is generated once
with ``bench.generate`` into the system's temporary folder and reused by
later runs (SQLite always; PostgreSQL too when OFFERDESK_BENCH_POSTGRES_URL
names a server, where a database ``offerdesk_bench_SIZE`` is created). Then,
each in a fresh process:

- one full run of the Ofertas page as AppTest runs it, signed in as a sales
  manager (who sees every offer), filtered to en Seguimiento and searching a
  customer's surname: the median of 5 runs after a first one, and the peak
  memory that Python allocated during a run (tracemalloc);
- the same widgets over fixed data (``bench/fixed_ofertas.py``), the yardstick;
- the queries behind the page, one by one, each with the versioned cache
  emptied first (what a new filter or the first run after a write costs).

The page's reruns read the list page and the chart's groups from that cache
while the data's version stays the same; the first run does the work.

Prints one table of page runs and one of queries.
"""

import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from lib.config import PROJECT_ROOT

SIZES = (1000, 100_000, 1_000_000)
RUNS = 5
SEARCH = "garcia"
DATA_DIR = Path(tempfile.gettempdir()) / "offerdesk-bench"


def _database(backend: str, size: int) -> str:
    from bench.generate import generate
    from lib.db import make_engine

    if backend == "sqlite":
        DATA_DIR.mkdir(exist_ok=True)
        path = DATA_DIR / f"offers-{size}.db"
        url = f"sqlite:///{path}"
        if not path.exists():
            generate(url, size)
        return url
    server_url = os.environ["OFFERDESK_BENCH_POSTGRES_URL"]
    name = f"offerdesk_bench_{size}"
    server = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    if not exists:
        generate(url, size)
    return url


def _page_run(url: str | None, search: str = SEARCH) -> tuple[float, float, float]:
    """First run and median of the next runs in seconds; peak MiB of one run."""
    from streamlit.testing.v1 import AppTest

    from lib.views import Viewer

    if url is None:
        at = AppTest.from_file(
            str(PROJECT_ROOT / "bench" / "fixed_ofertas.py"), default_timeout=600
        )
    else:
        os.environ["OFFERDESK_DATABASE_URL"] = url
        os.environ["OFFERDESK_DEMO_DATA"] = "false"
        os.environ["OFFERDESK_LOG_LEVEL"] = "WARNING"
        at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=600)
        at.session_state["viewer"] = Viewer(user_id=_manager_id(url), role="MANAGER")
        at.session_state["last_activity"] = datetime.now(UTC)
        at.run()
        at.switch_page("pages/ofertas.py")
        at.session_state["ofertas_status"] = "FOLLOW_UP"
        at.session_state["ofertas_search"] = search
    started = time.perf_counter()
    at.run()
    first = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    if url is not None and not at.dataframe:
        # Measure the list, never a login or password form by mistake.
        raise RuntimeError(f"The page shows no list: {[t.value for t in at.title]}")
    times = []
    for _ in range(RUNS):
        if url is not None:
            at.session_state["last_activity"] = datetime.now(UTC)
        started = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    at.run()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return first, statistics.median(times), peak


def _manager_id(url: str) -> int:
    from lib.db import make_engine

    engine = make_engine(url)
    found = _manager_id_on(engine)
    engine.dispose()
    return found


def _manager_id_on(engine: object) -> int:
    from lib.db import reading
    from lib.models import Role, User

    with reading(engine) as session:
        return session.scalar(
            select(User.id).where(User.role == Role.MANAGER).order_by(User.id).limit(1)
        )


def _demo_database() -> str:
    """A fresh SQLite file with the demo data a newcomer sees on first start.

    The sales manager has already replaced the one-time password, so that the
    page measured is the list and not the form that asks for a new password.
    """
    from lib.auth import change_password, first_start
    from lib.db import make_engine, migrate

    path = Path(tempfile.mkdtemp()) / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    issued = first_start(engine, demo_data=True)
    passwords = {item.username: item.password for item in issued}
    change_password(engine, _manager_id_on(engine), passwords["gerente"], "bench-" * 3)
    engine.dispose()
    return f"sqlite:///{path}"


def _timed(call: object) -> float:
    from lib import offers

    times = []
    for _ in range(3):
        # The cost of asking, not of remembering: empty the versioned cache.
        offers._cache.entries.clear()
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _queries(url: str) -> list[tuple[str, float]]:
    from lib.db import make_engine, reading
    from lib.models import Offer
    from lib.offers import (
        OfferFilter,
        PageCursor,
        count_offers,
        list_offers,
        status_counts,
        temperature_band_counts,
    )
    from lib.views import Viewer

    engine = make_engine(url)
    manager = Viewer(1, "MANAGER")
    seller = Viewer(10, "SALES")
    following = OfferFilter(status="FOLLOW_UP")
    with reading(engine) as session:
        deep = session.execute(
            select(Offer.created_at, Offer.id)
            .order_by(Offer.created_at.desc(), Offer.id.desc())
            .offset(10_000)
            .limit(1)
        ).first()
    cursor = PageCursor(value=deep.created_at, id=deep.id) if deep else None
    measured = [
        (
            "list: en Seguimiento, page 1",
            lambda: list_offers(engine, viewer=manager, filters=following),
        ),
        (
            "list: all, page after 10.000 rows",
            lambda: list_offers(engine, viewer=manager, cursor=cursor),
        ),
        (
            "list: en Seguimiento, hottest first",
            lambda: list_offers(
                engine,
                viewer=manager,
                filters=OfferFilter(status="FOLLOW_UP", order="temperature_desc"),
            ),
        ),
        ("list: one salesperson's offers", lambda: list_offers(engine, viewer=seller)),
        ("counts by status", lambda: status_counts(engine, manager)),
        (
            "chart: band x status",
            lambda: temperature_band_counts(engine, viewer=manager),
        ),
        (
            "chart: band x status, make filter",
            lambda: temperature_band_counts(
                engine, viewer=manager, filters=OfferFilter(make="SEAT")
            ),
        ),
        (
            f"search '{SEARCH}', page 1",
            lambda: list_offers(
                engine, viewer=manager, filters=OfferFilter(search=SEARCH)
            ),
        ),
        (
            "search phone digits, page 1",
            lambda: list_offers(
                engine, viewer=manager, filters=OfferFilter(search="600012")
            ),
        ),
        (
            "count: due follow-ups",
            lambda: count_offers(engine, manager, OfferFilter(due_only=True)),
        ),
    ]
    results = [(name, _timed(call)) for name, call in measured]
    engine.dispose()
    return results


def main(argv: list[str]) -> int:
    if argv == ["demo"]:
        return demo()
    sizes = [int(arg) for arg in argv] or list(SIZES)
    backends = ["sqlite"] + (
        ["postgresql"] if os.environ.get("OFFERDESK_BENCH_POSTGRES_URL") else []
    )
    context = get_context("spawn")
    page_rows, query_rows = [], {}
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        fixed = pool.submit(_page_run, None).result()
    page_rows.append(("fixed data", "-", *fixed))
    for backend in backends:
        for size in sizes:
            url = _database(backend, size)
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                page_rows.append(
                    (backend, f"{size:,}", *pool.submit(_page_run, url).result())
                )
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                for name, ms in pool.submit(_queries, url).result():
                    query_rows.setdefault(name, {})[(backend, size)] = ms

    print("\nOfertas page, one AppTest run (filter en Seguimiento + search)\n")
    print(
        f"{'database':<11} {'offers':>10} {'first run ms':>13} "
        f"{'median ms':>10} {'peak MiB':>9}"
    )
    for backend, size, first, median, peak in page_rows:
        print(
            f"{backend:<11} {size:>10} {first * 1000:>13.0f} "
            f"{median * 1000:>10.0f} {peak:>9.1f}"
        )
    print("\nQueries behind the page (median of 3, ms)\n")
    columns = [(b, s) for b in backends for s in sizes]
    header = " ".join(f"{b[:6]} {s:>9,}" for b, s in columns)
    print(f"{'query':<38} {header}")
    for name, by_column in query_rows.items():
        cells = " ".join(
            f"{by_column.get(column, float('nan')):>16.1f}" for column in columns
        )
        print(f"{name:<38} {cells}")
    return 0


def demo() -> int:
    """The Ofertas page on the demo data, en Seguimiento, no search."""
    context = get_context("spawn")
    url = _demo_database()
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        first, median, peak = pool.submit(_page_run, url, "").result()
    print("\nOfertas page on the demo data (en Seguimiento), one AppTest run\n")
    print(
        f"first run {first * 1000:.0f} ms · median of 5 {median * 1000:.0f} ms · "
        f"peak {peak:.1f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
