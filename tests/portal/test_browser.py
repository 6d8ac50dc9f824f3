"""A debtor pays from a phone, in the real Chromium."""

import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from dunning.models import Case
from payments.models import Invoice, Payment
from portal.services import link_url
from tests.portal.conftest import CREDITOR_TODAY, charge_fee, open_case

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "portal-phone.png"
NBSP = "\xa0"

pytestmark = [
    pytest.mark.browser,
    # The live server runs in another thread: the test's data must be committed.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def chromium(monkeypatch):
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    # Playwright's sync API runs an event loop in this thread, which makes
    # Django refuse the test's own (synchronous) ORM calls without this.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Django keeps a connection per context, and the test body runs in another
    # context once Playwright has started: the fixtures' connection would stay
    # open and PostgreSQL would refuse to drop the test database.
    connections.close_all()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()
        connections.close_all()


def test_a_debtor_pays_from_a_phone(
    live_server, settings, standard_plan, alice, make_invoice, chromium
):
    """Open the link, see the claims, pay with the test provider, land on thanks."""
    from portal.services import link_create

    settings.SITE_URL = live_server.url
    alice.creditor.brand_color = "#7a1f3d"
    alice.creditor.save()
    claim = make_invoice(
        alice, amount="1234.50", due_on=date(2025, 2, 10), number="R-1"
    )
    charge_fee(open_case(claim), position=2, taken_on=date(2025, 2, 24))
    yen = make_invoice(alice, amount="12000", currency="JPY", number="R-2")
    _, token = link_create(customer=alice)

    context = chromium.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="de-DE",
    )
    page = context.new_page()
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(link_url(token))

    assert page.title() == "Ihre offenen Rechnungen – Acme GmbH"
    eur = page.locator(
        "section", has=page.get_by_role("heading", name="Rechnungen in EUR")
    )
    assert f"1.234,50{NBSP}€" in eur.inner_text()
    assert f"1.237,00{NBSP}€" in eur.inner_text()
    assert f"12.000{NBSP}¥" in page.locator("section", has_text="JPY").inner_text()
    # The stylesheet and the brand colour applied despite the strict CSP.
    masthead = page.locator(".masthead")
    assert masthead.evaluate("e => getComputedStyle(e).backgroundColor") == (
        "rgb(122, 31, 61)"
    )
    assert page.get_by_label("Rechnung R-1 bezahlen").is_checked()
    # Nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    if os.environ.get("SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

    eur.get_by_role("button", name="Jetzt bezahlen").click()
    page.wait_for_url("**/test-pay/**")
    assert f"1.237,00{NBSP}€" in page.locator("main").inner_text()
    page.get_by_role("button", name="Testzahlung bestätigen").click()
    page.wait_for_url("**/thanks/**")

    assert page.get_by_role("heading", name="Vielen Dank für Ihre Zahlung").is_visible()
    assert "Rechnung R-1" in page.locator("main").inner_text()
    assert problems == []
    context.close()

    claim.refresh_from_db()
    assert claim.status == Invoice.Status.PAID
    assert claim.settled_on == CREDITOR_TODAY
    assert Case.objects.get(invoice=claim).state == Case.State.CLOSED_PAID
    payment = Payment.objects.get()
    assert (payment.amount, payment.currency) == (Decimal("1237.00"), "EUR")
    # The JPY claim was not part of the EUR payment.
    yen.refresh_from_db()
    assert yen.status == Invoice.Status.OPEN
