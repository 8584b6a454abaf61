"""Cerrar sesión on each page a salesperson has leaves only the login form."""

import pytest
from playwright.sync_api import Page, expect

from .test_offer_in_browser import main_area, sign_in

PAGES = ["Resumen de la oferta", "Ofertas", "Stock", "Nueva oferta"]


@pytest.mark.parametrize("title", PAGES)
def test_logout_leaves_only_the_login_form(running_app, browser_page: Page, title):
    page = browser_page
    page.goto(running_app.url)
    sign_in(page)
    page.get_by_role("link", name=title).click()
    expect(
        main_area(page).get_by_role("heading", name=title, exact=True).first
    ).to_be_visible()

    page.get_by_role("button", name="Cerrar sesión").click()

    expect(page.get_by_role("heading", name="Iniciar sesión")).to_be_visible()
    expect(page.get_by_role("button", name="Cerrar sesión")).to_have_count(0)
    expect(page.get_by_role("link", name="Ofertas")).to_have_count(0)
    assert "LOGOUT" in [
        row[0]
        for row in running_app.engine.connect()
        .exec_driver_sql("SELECT event FROM security_events ORDER BY id")
        .all()
    ]
