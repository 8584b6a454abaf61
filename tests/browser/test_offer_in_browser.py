"""The seed's first path in a real browser: stock vehicle to printed offer.

Iniciar sesión → Nueva oferta → Resumen de la oferta → Seleccionar cliente → No se ha
encontrado → Crear oferta → Entregar oferta → Entregar ahora → Imprimir, then
the PDF download and the offer on Ofertas with today's delivery date.
"""

import io
import re
from datetime import datetime
from pathlib import Path

from playwright.sync_api import Locator, Page, expect
from pypdf import PdfReader

from lib.formatting import TIMEZONE, day, temperature
from lib.models import OfferStatus
from lib.offers import list_offers
from lib.ui import vehicle_label
from lib.vehicles import search_vehicles
from lib.views import VehicleView

from .conftest import PASSWORD, STOCK_ROWS, UI_TIMEOUT_MS, USERNAME, RunningApp

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
SEARCH_LABEL = "Buscar vehículo (marca, modelo, bastidor o número de comisión)"
VEHICLE_QUERY = "Toyota Aygo"
TEMPERATURE_PERCENT = 70
FIRST_NAME = "Íñigo"
LAST_NAME = "Muñoz Peñalver"
FULL_NAME = f"{FIRST_NAME} {LAST_NAME}"
PHONE = "612 34 56 78"
EMAIL = "inigo.munoz@correo.example"
OFFER_CREATED = re.compile(r"Oferta (\d{4}-\d{6}) · en Seguimiento")

expect.set_options(timeout=UI_TIMEOUT_MS)


def main_area(page: Page) -> Locator:
    """The page's own content, without the sidebar."""
    return page.get_by_test_id("stMain")


def sign_in(page: Page) -> None:
    """Iniciar sesión as the salesperson; the app then opens on Nueva oferta."""
    expect(page.get_by_role("heading", name="Iniciar sesión")).to_be_visible()
    page.get_by_label("Usuario", exact=True).fill(USERNAME)
    page.get_by_label("Contraseña", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Entrar", exact=True).click()
    expect(page.get_by_role("heading", name="Nueva oferta")).to_be_visible()


def choose_vehicle(page: Page, running_app: RunningApp) -> VehicleView:
    """Search the imported stock and pick the dearest match with a unique label."""
    found = search_vehicles(running_app.engine, VEHICLE_QUERY, limit=50)
    labels = [vehicle_label(vehicle) for vehicle in found]
    unique = [
        vehicle
        for vehicle, label in zip(found, labels, strict=True)
        if labels.count(label) == 1
    ]
    chosen = max(unique, key=lambda vehicle: vehicle.price_cents)

    search = page.get_by_label(SEARCH_LABEL, exact=True)
    search.fill(VEHICLE_QUERY)
    search.press("Enter")
    vehicles = page.get_by_role(
        "combobox", name=f"Vehículos disponibles ({len(found)})", exact=True
    )
    vehicles.click()
    page.get_by_role("option", name=vehicle_label(chosen), exact=True).click()
    expect(vehicles).to_have_value(vehicle_label(chosen))
    return chosen


def set_temperature(page: Page, percent: int) -> None:
    """Move the temperature slider from its 50 % by keyboard, 5 % a step."""
    slider = page.get_by_role("slider")
    slider.focus()
    for _ in range((percent - 50) // 5):
        slider.press("ArrowRight")
    expect(slider).to_have_value(str(percent))
    expect(page.get_by_text(temperature(percent / 100))).to_be_visible()


def add_new_customer(page: Page) -> None:
    """Seleccionar cliente → No se ha encontrado → fill the form → Guardar cliente."""
    page.get_by_role("button", name="Seleccionar cliente", exact=True).click()
    page.get_by_role("button", name="No se ha encontrado", exact=True).click()
    page.get_by_label("Nombre", exact=True).fill(FIRST_NAME)
    page.get_by_label("Apellidos", exact=True).fill(LAST_NAME)
    page.get_by_label("Teléfono", exact=True).fill(PHONE)
    page.get_by_label("Correo electrónico", exact=True).fill(EMAIL)
    page.get_by_role("button", name="Guardar cliente", exact=True).click()
    expect(main_area(page).get_by_text(FULL_NAME, exact=True)).to_be_visible()


def create_offer(page: Page) -> str:
    """Crear oferta, and the number the page announces."""
    page.get_by_role("button", name="Crear oferta", exact=True).click()
    created = page.get_by_text(OFFER_CREATED)
    expect(created).to_be_visible()
    return OFFER_CREATED.search(created.inner_text()).group(1)


def print_offer(page: Page) -> None:
    """Entregar oferta → Entregar ahora → Imprimir → Imprimir oferta."""
    page.get_by_role("button", name="Entregar oferta", exact=True).click()
    page.get_by_role("button", name="Entregar ahora", exact=True).click()
    printing = page.get_by_role("radio", name="Imprimir", exact=True)
    printing.check(force=True)
    expect(printing).to_be_checked()
    page.get_by_role("button", name="Imprimir oferta", exact=True).click()
    expect(page.get_by_text("PDF listo para imprimir.")).to_be_visible()


def download_pdf(page: Page, folder: Path) -> tuple[str, bytes]:
    """Descargar PDF: the file name the browser was given, and the bytes."""
    with page.expect_download() as caught:
        page.get_by_role("button", name="Descargar PDF", exact=True).click()
    download = caught.value
    path = folder / download.suggested_filename
    download.save_as(path)
    return download.suggested_filename, path.read_bytes()


def pdf_text(pdf: bytes) -> str:
    """The text of every page of a PDF."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def grid_rows(grid: Locator) -> list[dict[str, str]]:
    """The rows of a dataframe by column title, from the grid's accessible table.

    The grid draws on a canvas; the table behind it holds the text of the
    columns in view, which is what a salesperson sees without scrolling.
    """
    titles = grid.locator("th[role=columnheader]").all_text_contents()
    rows = grid.locator("tbody tr[role=row]").all()
    cells = [row.locator("td[role=gridcell]").all_text_contents() for row in rows]
    return [dict(zip(titles, values, strict=True)) for values in cells]


def screenshot_whole_page(page: Page, path: Path) -> None:
    """A screenshot of the page from top to bottom.

    Streamlit scrolls inside its main block, not the document, so the window
    is first made as tall as that block's content.
    """
    height = page.get_by_test_id("stMain").evaluate("main => main.scrollHeight")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": height})
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, full_page=True)


def test_offer_from_stock_printed_and_listed_in_ofertas(
    browser_page: Page, running_app: RunningApp, tmp_path: Path
):
    assert running_app.stock.rows == STOCK_ROWS
    page = browser_page
    today = datetime.now(TIMEZONE).strftime("%d/%m/%Y")
    page.goto(running_app.url)
    sign_in(page)

    vehicle = choose_vehicle(page, running_app)
    set_temperature(page, TEMPERATURE_PERCENT)
    page.get_by_role("button", name="Continuar al resumen", exact=True).click()
    expect(page.get_by_role("heading", name="Resumen de la oferta")).to_be_visible()
    expect(main_area(page).get_by_text(vehicle.title, exact=True)).to_be_visible()
    add_new_customer(page)
    number = create_offer(page)

    print_offer(page)
    file_name, pdf = download_pdf(page, tmp_path)
    assert file_name == f"Oferta_{number}.pdf"
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert number in text
    assert FULL_NAME in text

    sidebar = page.get_by_test_id("stSidebarNav")
    sidebar.get_by_role("link", name="Ofertas", exact=True).click()
    expect(page.get_by_role("heading", name="Ofertas", exact=True)).to_be_visible()
    grid = main_area(page).get_by_test_id("stDataFrame")
    expect(grid.locator("td[role=gridcell]").first).to_have_text(number)
    listed = grid_rows(grid)
    assert [
        (row["Número"], row["Estado"], row["Última entrega"], row["Cliente"])
        for row in listed
    ] == [(number, "en Seguimiento", today, FULL_NAME)]
    assert listed[0]["Temperatura"] == temperature(TEMPERATURE_PERCENT / 100)

    page.get_by_role("combobox", name="Oferta", exact=True).click()
    offer_option = re.compile(rf"^{re.escape(number)} · {re.escape(FULL_NAME)}\b")
    page.get_by_role("option", name=offer_option).click()
    expect(main_area(page).get_by_text(f"Última entrega: {today}")).to_be_visible()
    screenshot = SCREENSHOTS / "ofertas.png"
    screenshot_whole_page(page, screenshot)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    offers = list_offers(running_app.engine).offers
    assert [
        (offer.number, offer.status, day(offer.last_delivered_at)) for offer in offers
    ] == [(number, OfferStatus.FOLLOW_UP, today)]
    assert offers[0].vehicle.id == vehicle.id
    assert offers[0].salesperson.id == running_app.salesperson.id
    assert offers[0].temperature == TEMPERATURE_PERCENT / 100
    assert offers[0].customer.phone == "+34612345678"
    assert "Traceback" not in running_app.log()
