"""The debtor's ways out in the real Chromium, on a desktop and on a phone."""

import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from dunning.models import Case, Promise
from dunning.run import run_dunning
from dunning.services import cases_resume_due
from payments.models import InstalmentPlan, Invoice
from payments.services import payment_record
from portal.models import ClerkTask, SepaMandate
from portal.services import link_create, link_url
from tests.portal.conftest import charge_fee, open_case
from tests.portal.test_browser import chromium  # noqa: F401 (the fixture)

SCREENSHOT = (
    Path(__file__).resolve().parents[2] / "docs" / "img" / "portal-phone-ways-out.png"
)
NBSP = "\xa0"

VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}

pytestmark = [
    pytest.mark.browser,
    # The live server runs in another thread: the test's data must be committed.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request, chromium, live_server, settings, standard_plan):  # noqa: F811
    """A fresh browser page in the viewport; console errors fail the test."""
    settings.SITE_URL = live_server.url
    context = chromium.new_context(locale="de-DE", **VIEWPORTS[request.param])
    page = context.new_page()
    page.viewport_name = request.param
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    yield page
    if page.viewport_name == "phone":
        # Nothing is wider than the phone, whatever was opened.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()
    assert problems == []


@pytest.fixture
def claim(alice, make_invoice):
    """EUR 250.00 due 10 Feb at the first notice: EUR 252.50 open."""
    invoice = make_invoice(
        alice, amount="250.00", due_on=date(2025, 2, 10), number="R-1"
    )
    case = open_case(invoice)
    charge_fee(case, position=2, taken_on=date(2025, 2, 24))
    Case.objects.filter(pk=case.pk).update(
        current_step=case.plan.steps.get(position=2), last_step_on=date(2025, 2, 24)
    )
    invoice.refresh_from_db()
    return invoice


@pytest.fixture
def token(alice):
    return link_create(customer=alice)[1]


def state(invoice) -> str:
    return Case.objects.values_list("state", flat=True).get(invoice=invoice)


def ways_out(page):
    """Open the claim's "other ways" section and return it."""
    section = page.locator("details", has_text="Andere Wege für Rechnung R-1")
    section.locator("summary").click()
    return section


def test_pay_in_full(page, token, claim):
    page.goto(link_url(token))
    page.get_by_role("button", name="Jetzt bezahlen").click()
    page.get_by_role("button", name="Testzahlung bestätigen").click()
    page.wait_for_url("**/thanks/**")

    assert "Diese Rechnung ist vollständig bezahlt." in page.inner_text("main")
    claim.refresh_from_db()
    assert claim.status == Invoice.Status.PAID


def test_pay_partly(page, token, claim):
    page.goto(link_url(token))
    page.get_by_label("Jetzt zu zahlender Betrag (optional)").fill("100,00")
    with page.expect_navigation():
        page.get_by_role("button", name="Jetzt bezahlen").click()
    assert f"100,00{NBSP}€" in page.locator("main").inner_text()
    page.get_by_role("button", name="Testzahlung bestätigen").click()
    page.wait_for_url("**/thanks/**")

    assert f"Noch offen: 152,50{NBSP}€" in page.locator("main").inner_text()
    claim.refresh_from_db()
    assert claim.open_amount == Decimal("152.50")
    assert state(claim) == Case.State.IN_DUNNING


def test_set_up_an_instalment_plan_and_miss_one(page, alice, token, claim):
    page.goto(link_url(token))
    section = ways_out(page)
    section.get_by_label("Anzahl der Monatsraten").select_option("3")
    with page.expect_navigation():
        section.get_by_role("button", name="Ratenplan anzeigen").click()

    schedule = page.locator("table.schedule").inner_text()
    assert "02.05.2025" in schedule and f"84,18{NBSP}€" in schedule
    if page.viewport_name == "phone" and os.environ.get("SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.get_by_label("IBAN Ihres Kontos").fill("DE02 1203 0000 0000 2020 51")
    with page.expect_navigation():
        page.get_by_role("button", name="Ratenplan bestätigen").click()

    assert "Ihr Ratenplan ist eingerichtet." in page.locator("main").inner_text()
    assert state(claim) == Case.State.INSTALMENTS
    assert SepaMandate.objects.get().iban == "DE02120300000000202051"

    # The first instalment comes, the second does not.
    payment_record(
        customer=alice,
        amount=Decimal("84.18"),
        currency="EUR",
        received_on=date(2025, 5, 2),
        actor="test",
    )
    run_dunning(actor="test", run_date=date(2025, 6, 3))
    page.reload()

    assert state(claim) == Case.State.IN_DUNNING
    assert InstalmentPlan.objects.get().status == InstalmentPlan.Status.CANCELLED
    # 252.50 - 84.18 + the second notice's fee of 5.00.
    assert f"173,32{NBSP}€" in page.locator("main").inner_text()
    assert page.locator("summary", has_text="Andere Wege für Rechnung R-1").count()


def test_promise_to_pay_and_break_the_promise(page, token, claim):
    page.goto(link_url(token))
    section = ways_out(page)
    section.get_by_label("Ich zahle den vollen Betrag bis").fill("2025-04-20")
    with page.expect_navigation():
        section.get_by_role(
            "button", name="Zahlung bis zu diesem Datum zusagen"
        ).click()

    assert "Vor dem 20. April 2025 erinnern wir Sie nicht." in page.inner_text("main")
    assert state(claim) == Case.State.PAUSED

    cases_resume_due(on=date(2025, 4, 21), actor="system:run")
    page.reload()

    assert Promise.objects.get().status == Promise.Status.BROKEN
    assert state(claim) == Case.State.IN_DUNNING
    assert page.locator("summary", has_text="Andere Wege für Rechnung R-1").count()


def test_dispute_with_the_keyboard_only(page, token, claim):
    page.goto(link_url(token))
    summary = page.locator("summary", has_text="Andere Wege für Rechnung R-1")
    summary.focus()
    page.keyboard.press("Enter")
    reason = page.get_by_label("Was stimmt an der Rechnung nicht?")
    reason.focus()
    page.keyboard.type("Nie bestellt")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    # Forms post without scripts: the answer is a new page.
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert focused == "Rechnung beanstanden"
    assert "keine Mahnungen" in page.inner_text("main")
    assert state(claim) == Case.State.DISPUTED
    assert ClerkTask.objects.get().reason == "Nie bestellt"


def test_switch_language(page, alice, token, claim):
    page.goto(link_url(token))
    with page.expect_navigation():
        page.get_by_role("button", name="Show this page in English").click()

    assert page.get_by_role("heading", name="Your open invoices").is_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    with page.expect_navigation():
        page.get_by_role("button", name="Diese Seite auf Deutsch anzeigen").click()
    assert page.get_by_role("heading", name="Ihre offenen Rechnungen").is_visible()
    alice.refresh_from_db()
    assert alice.language == "de"
