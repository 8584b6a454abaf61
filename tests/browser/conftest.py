"""Fixtures for the browser test: the real app on a free port, and Chromium.

The app runs as ``streamlit run`` in a subprocess on a SQLite file of its own,
filled beforehand through the real stock import. Chromium is Debian's
(``/usr/bin/chromium``), driven by Playwright; under CI a missing browser is
an error, never a silent skip.
"""

import io
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import Engine

from lib.auth import change_password, issue_one_time_password
from lib.db import make_engine, migrate
from lib.stock import StockImportReport, import_stock
from lib.users import create_user
from lib.views import SalespersonView

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FAILURE_SCREENSHOT = Path(__file__).resolve().parent / "screenshots" / "failure.png"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
STOCK_ROWS = 300
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 5
UI_TIMEOUT_MS = 30_000
USERNAME = "lucia"
PASSWORD = "Concesionario-2026"


@dataclass(frozen=True)
class RunningApp:
    """The app under test: where it answers, its database and its output."""

    url: str
    engine: Engine
    log_path: Path
    stock: StockImportReport
    salesperson: SalespersonView

    def log(self) -> str:
        """Everything the server has written to stdout and stderr so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _first_rows(csv_path: Path, rows: int) -> io.BytesIO:
    """The header and the first ``rows`` data lines of a CSV, in memory."""
    with csv_path.open("rb") as source:
        lines = [source.readline() for _ in range(rows + 1)]
    return io.BytesIO(b"".join(lines))


def _health(url: str) -> str:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode("utf-8", errors="replace").strip()
    except (urllib.error.URLError, OSError):
        return ""


def _wait_until_healthy(server: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(
                f"The app exited with code {server.returncode} before answering:\n"
                + log_path.read_text(encoding="utf-8", errors="replace")
            )
        if _health(url) == "ok":
            return
        time.sleep(0.25)
    pytest.fail(
        f"The app did not answer {url}/_stcore/health within {START_TIMEOUT_S} s:\n"
        + log_path.read_text(encoding="utf-8", errors="replace")
    )


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=STOP_TIMEOUT_S)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the test, so teardown knows if the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    called = getattr(request.node, "report_call", None)
    return called is not None and called.failed


@pytest.fixture
def running_app(
    request: pytest.FixtureRequest, tmp_path: Path, stock_csv: Path
) -> Iterator[RunningApp]:
    """The app on a free port over a database with real stock and one salesperson.

    The salesperson signs in as ``USERNAME`` with ``PASSWORD``.
    """
    database_url = f"sqlite:///{tmp_path / 'ofertas.db'}"
    engine = make_engine(database_url)
    migrate(engine)
    stock = import_stock(
        engine,
        _first_rows(stock_csv, STOCK_ROWS),
        file_name=f"{stock_csv.stem}-{STOCK_ROWS}.csv",
    )
    salesperson = create_user(
        engine,
        username=USERNAME,
        full_name="Lucía Fernández Ibáñez",
        email="lucia.fernandez@concesionario.example",
        phone="+34910000001",
    )
    issued = issue_one_time_password(engine, salesperson.id, by="test setup")
    change_password(engine, salesperson.id, issued.password, PASSWORD)

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    environment = dict(os.environ)
    environment.update(
        OFFERDESK_DATABASE_URL=database_url,
        OFFERDESK_OUTBOX_DIR=str(tmp_path / "outbox"),
        OFFERDESK_DEMO_DATA="false",
        OFFERDESK_MAIL_BACKEND="file",
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "streamlit.log"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        # A source file saved mid-test would make Streamlit reload its modules,
        # and the session's signed-in user (an instance of the old class) would
        # no longer be recognised: the test must drive the code it started with.
        "--server.fileWatcherType",
        "none",
    ]
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(server, url, log_path)
        yield RunningApp(
            url=url,
            engine=engine,
            log_path=log_path,
            stock=stock,
            salesperson=salesperson,
        )
    finally:
        _stop(server)
        engine.dispose()
        if _failed(request):
            # The page only says that something went wrong; the server says what.
            # fontTools logs each font subset line by line at INFO: left out.
            lines = log_path.read_text(encoding="utf-8").splitlines()
            kept = [line for line in lines if " fontTools." not in line]
            print("Server output:", *kept, sep="\n")


@pytest.fixture
def browser_page(request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page of a fresh headless Chromium, in Spanish and Madrid's time zone.

    When the test fails, the page as it was is saved to ``FAILURE_SCREENSHOT``.
    """
    if not CHROMIUM.exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(
            accept_downloads=True,
            locale="es-ES",
            timezone_id="Europe/Madrid",
            viewport={"width": 1440, "height": 1000},
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        page = context.new_page()
        try:
            yield page
        finally:
            if _failed(request):
                FAILURE_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=FAILURE_SCREENSHOT, full_page=True)
                print(f"Page at the failure: {FAILURE_SCREENSHOT}")
            context.close()
            browser.close()
