"""Wording and amounts of messages, per channel, language and tone."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from customers.models import Creditor, Customer
from messaging.rendering import SMS_MAX_CHARS, build_context, render

from .factories import make_message

NOW = datetime(2025, 4, 1, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
LINK = "http://testserver/p/" + "x" * 43 + "/"


def rendered(message):
    return render(message, build_context(message, LINK, now=NOW))


@pytest.fixture
def dora(creditor):
    """A consumer with a phone, reading English."""
    return Customer.objects.create(
        creditor=creditor,
        external_id="C-DORA",
        name="Dora Dietz",
        email="dora@example.com",
        phone="+4917000000000",
        street="Am Markt 2",
        postcode="04109",
        city="Leipzig",
        language="en",
        consent_sms=True,
    )


def test_context_has_current_breakdown_totals_and_deadline(dora, make_invoice):
    """Each claim carries its level and breakdown; totals are per currency."""
    eur = make_invoice(dora, "40.00", number="INV-E")
    usd = make_invoice(dora, "15.5", currency="USD", number="INV-U")
    message = make_message(
        dora, [(eur, 2), (usd, 1)], payment_options=["paypal", "x_y"]
    )

    context = build_context(message, LINK, now=NOW)

    by_number = {item["number"]: item for item in context["items"]}
    assert by_number["INV-E"]["level"] == 2
    assert by_number["INV-E"]["display"]["fees"] == "€2.50"
    assert by_number["INV-E"]["display"]["open"] == "€42.50"
    assert by_number["INV-U"]["display"]["open"] == "$15.50"
    assert [t["display"] for t in context["totals"]] == ["€42.50", "$15.50"]
    assert context["action"] == "notice"
    # Step 2 grants ten days, step 1 seven: the message gives the longer.
    assert context["deadline"] == date(2025, 4, 11)
    assert context["payment_options"] == [
        {"code": "paypal", "label": "PayPal"},
        {"code": "x_y", "label": "X y"},
    ]
    assert context["link"] == LINK


def test_deadline_moves_past_weekend_and_holidays(dora, make_invoice):
    """A deadline on Good Friday moves past Easter Monday to the Tuesday."""
    message = make_message(dora, [(make_invoice(dora, "10.00"), 2)])
    tuesday_before_easter = datetime(
        2025, 4, 8, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")
    )

    context = build_context(message, LINK, now=tuesday_before_easter)

    assert context["deadline"] == date(2025, 4, 22)
    assert context["deadline_display"] == "April 22, 2025"


@pytest.mark.parametrize(
    ("tone", "phrase"),
    [
        ("empathetic", "An invoice can easily slip through"),
        ("neutral", "We would be grateful for your payment"),
        ("firm", "Please pay the open amount now"),
    ],
)
def test_tone_changes_the_wording(dora, make_invoice, tone, phrase):
    """The same reminder reads differently per tone."""
    message = make_message(dora, [(make_invoice(dora, "10.00"), 1)], tone=tone)

    subject, text, html = rendered(message)

    assert phrase in text
    assert phrase in html
    assert subject.startswith(("Friendly reminder", "Payment reminder"))


def test_german_final_notice(alice, make_invoice):
    """A German debtor gets German wording, dates and number format."""
    message = make_message(
        alice, [(make_invoice(alice, "1234.5"), 4)], channel="letter", tone="firm"
    )

    subject, text, html = rendered(message)

    assert subject == "Letzte Mahnung: Rechnung INV-0001"
    assert "Inkassounternehmen" in text
    assert "1.244,50\xa0€" in text
    assert "11. April 2025" in text
    assert "Seite" in html and "Verwendungszweck" in html


def test_names_are_escaped_in_html_but_not_in_text(creditor, make_invoice):
    """A name with markup characters shows as written, never as markup."""
    customer = Customer.objects.create(
        creditor=creditor,
        external_id="C-ODD",
        name="O'Brien <b>& Sons</b>",
        email="ob@example.com",
        language="en",
    )
    message = make_message(customer, [(make_invoice(customer, "10.00"), 1)])

    _subject, text, html = rendered(message)

    assert "Dear O'Brien <b>& Sons</b>," in text
    assert "<b>&" not in html
    assert "O&#x27;Brien &lt;b&gt;&amp; Sons&lt;/b&gt;" in html


def test_sms_stays_short_with_many_claims_and_currencies(dora, make_invoice):
    """An SMS keeps to 320 characters and always ends with the whole link."""
    Creditor.objects.filter(pk=dora.creditor_id).update(name="A" * 200)
    dora.refresh_from_db()
    claims = [
        (
            make_invoice(
                dora, "12345.67", currency=currency, number="N" * 87 + currency
            ),
            1,
        )
        for currency in ("EUR", "USD", "GBP", "CHF", "JPY", "SEK", "NOK", "DKK")
    ]
    message = make_message(dora, claims, channel="sms")

    _subject, text, html = rendered(message)

    assert len(text) <= SMS_MAX_CHARS
    assert text.endswith(LINK)
    assert html == ""


def test_single_claim_sms_names_amount_and_deadline(dora, make_invoice):
    """A one-claim SMS names the claim, its amount and the deadline."""
    message = make_message(
        dora, [(make_invoice(dora, "19.99", number="INV-S"), 1)], channel="sms"
    )

    _subject, text, _html = rendered(message)

    assert text == (
        "Acme GmbH: payment reminder, invoice INV-S is open: €19.99. "
        f"Please pay by April 8, 2025. Details and payment: {LINK}"
    )
