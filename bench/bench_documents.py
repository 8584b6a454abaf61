"""How long the offer PDF and its email take.

    python -m bench.bench_documents [--builds 50] [--sends 20]

Builds the PDF of one offer (accented customer, full vehicle data) several
times in one process. The first build of a cold process reads and cuts the
fonts; the app does that once at start (``prepare_fonts``), so it is measured
apart, then the first build after it and the later ones, which show the
steady cost. A customer in Greek needs a cut of the font of its own: its first
and later builds are shown too, and so are those of an Arabic name, which is
shaped with HarfBuzz. Then builds the email with that PDF and sends
it to an aiosmtpd server on loopback, and saves it with the file backend to a
temporary outbox. Times are wall-clock milliseconds.
"""

import argparse
import logging
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


class _Sink:
    """An SMTP handler that accepts and counts messages."""

    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(
        self, server: object, session: object, envelope: object
    ) -> str:
        self.received += 1
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _times_ms(action: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20, method="inclusive")[-1]


def _row(label: str, runs: int | str, median: float, p95: float | None = None) -> str:
    p95_text = "" if p95 is None else f"{p95:9.1f}"
    return f"{label:<46} {runs!s:>5} {median:9.1f} {p95_text:>9}"


def main() -> None:
    """Run the measurements and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=50)
    parser.add_argument("--sends", type=int, default=20)
    args = parser.parse_args()
    # The file backend's "nothing leaves this machine" warning is expected here.
    logging.getLogger("lib.mail").setLevel(logging.ERROR)

    started = time.perf_counter()
    from aiosmtpd.controller import Controller

    from lib import documents
    from lib.config import Settings
    from lib.documents import build_offer_pdf, prepare_fonts
    from lib.mail import build_offer_email, send_email
    from tests.factories import make_customer, make_offer

    import_ms = (time.perf_counter() - started) * 1000
    settings = Settings()
    offer = make_offer()
    greek = make_offer(customer=make_customer(first_name="Ζωή", last_name="Παππά"))
    arabic = make_offer(customer=make_customer(first_name="محمد", last_name="Pérez"))

    cold_ms = _times_ms(lambda: build_offer_pdf(offer, settings, now=NOW), 1)[0]
    # Forget what the cold build cached, to time each step on its own.
    documents._font_template.cache_clear()
    documents._font_cut.cache_clear()
    documents._WRAPPED.clear()
    prepare_ms = _times_ms(prepare_fonts, 1)[0]
    first_ms = _times_ms(lambda: build_offer_pdf(offer, settings, now=NOW), 1)[0]
    builds = _times_ms(lambda: build_offer_pdf(offer, settings, now=NOW), args.builds)
    greek_first_ms = _times_ms(lambda: build_offer_pdf(greek, settings, now=NOW), 1)
    greek_builds = _times_ms(
        lambda: build_offer_pdf(greek, settings, now=NOW), args.builds
    )
    build_offer_pdf(arabic, settings, now=NOW)
    arabic_builds = _times_ms(
        lambda: build_offer_pdf(arabic, settings, now=NOW), args.builds
    )
    pdf = build_offer_pdf(offer, settings, now=NOW)

    sink = _Sink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp = Settings(mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=port)
        send_email(build_offer_email(offer, pdf, settings), smtp)
        sends = _times_ms(
            lambda: send_email(build_offer_email(offer, pdf, settings), smtp),
            args.sends,
        )
        whole = _times_ms(
            lambda: send_email(
                build_offer_email(
                    offer, build_offer_pdf(offer, settings, now=NOW), settings
                ),
                smtp,
            ),
            args.sends,
        )
    finally:
        controller.stop()
    with tempfile.TemporaryDirectory() as outbox:
        to_file = Settings(mail_backend="file", outbox_dir=Path(outbox))
        saves = _times_ms(
            lambda: send_email(build_offer_email(offer, pdf, settings), to_file),
            args.sends,
        )

    print(f"{'step (ms)':<46} {'runs':>5} {'median':>9} {'p95':>9}")
    print(_row("import lib.documents, lib.mail, aiosmtpd", 1, import_ms))
    print(_row("offer PDF, first build of a cold process", 1, cold_ms))
    print(_row("fonts read and cut (once, at app start)", 1, prepare_ms))
    print(_row("offer PDF, first build after that", 1, first_ms))
    print(
        _row(
            "offer PDF, later builds",
            len(builds),
            statistics.median(builds),
            _p95(builds),
        )
    )
    print(_row("offer PDF, Greek name, first build", 1, greek_first_ms[0]))
    print(
        _row(
            "offer PDF, Greek name, later builds",
            len(greek_builds),
            statistics.median(greek_builds),
            _p95(greek_builds),
        )
    )
    print(
        _row(
            "offer PDF, Arabic name (shaped), later builds",
            len(arabic_builds),
            statistics.median(arabic_builds),
            _p95(arabic_builds),
        )
    )
    print(
        _row(
            "email build + send (SMTP loopback)",
            len(sends),
            statistics.median(sends),
            _p95(sends),
        )
    )
    print(
        _row(
            "email build + save (file backend)",
            len(saves),
            statistics.median(saves),
            _p95(saves),
        )
    )
    print(
        _row(
            "PDF + email build + send (SMTP loopback)",
            len(whole),
            statistics.median(whole),
            _p95(whole),
        )
    )
    print(f"PDF size: {len(pdf):,} bytes; messages received: {sink.received}")


if __name__ == "__main__":
    main()
