"""The debtor page: what it shows, who it refuses, the headers it sends."""

import logging
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from payments.services import payment_record
from portal.models import Checkout
from portal.services import link_create
from tests.portal.conftest import book_interest, charge_fee, open_case

pytestmark = pytest.mark.django_db

NBSP = "\xa0"


def home_url(token):
    return reverse("portal:home", args=[token])


def pay_url(token):
    return reverse("portal:pay", args=[token])


@pytest.fixture
def alice_claims(alice, make_invoice):
    """Alice owes EUR 1,234.50 with a fee, interest and a part payment, and JPY."""
    eur = make_invoice(alice, amount="1234.50", due_on=date(2025, 2, 10), number="R-1")
    charge_fee(open_case(eur), position=2, taken_on=date(2025, 2, 24))
    book_interest(
        eur,
        "3.17",
        first_day=date(2025, 3, 20),
        booked_on=date(2025, 3, 31),
        rate="8.5",
    )
    payment_record(
        customer=alice,
        amount=Decimal("100"),
        currency="EUR",
        received_on=date(2025, 3, 20),
        invoice=eur,
        actor="test",
    )
    jpy = make_invoice(alice, amount="12000", currency="JPY", number="R-2")
    paid = make_invoice(alice, amount="50.00", number="R-3")
    payment_record(
        customer=alice,
        amount=Decimal("50"),
        currency="EUR",
        received_on=date(2025, 3, 1),
        invoice=paid,
        actor="test",
    )
    eur.refresh_from_db()
    return {"eur": eur, "jpy": jpy, "paid": paid}


def test_it_lists_open_claims_with_amounts_in_the_customers_locale(
    client, alice_link, alice_claims
):
    """Each open claim shows its breakdown in German format and its own currency."""
    _, token = alice_link

    response = client.get(home_url(token))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="de">' in html
    assert 'name="viewport"' in html
    assert "Rechnung R-1" in html
    assert "10.02.2025" in html
    assert f"1.234,50{NBSP}€" in html  # principal
    assert f"-100,00{NBSP}€" in html  # already paid
    assert f"2,50{NBSP}€" in html  # fee of the first notice
    assert f"3,17{NBSP}€" in html  # interest, explained by rate and days
    assert f"Verzugszinsen: 8,50 % p. a. auf 1.234,50{NBSP}€, 12 Tage" in html
    assert f"1.140,17{NBSP}€" in html  # open: 1234.50 + 2.50 + 3.17 - 100
    assert alice_claims["eur"].open_amount == Decimal("1140.17")
    # JPY has no minor unit: no decimals, its own symbol.
    assert "Rechnung R-2" in html
    assert f"12.000{NBSP}¥" in html
    assert "Insgesamt offen in JPY" in html
    # A paid claim is not listed.
    assert "R-3" not in html
    # One pay form per currency, each with its claims ticked.
    assert html.count('name="currency"') == 2
    assert f'name="claims" value="{alice_claims["eur"].id}" checked' in html
    assert "Jetzt bezahlen" in html
    assert "Guten Tag Alice Ahrens" in html


def test_an_english_customer_reads_english_and_english_amounts(
    client, bob_ltd, make_invoice
):
    """Language and number format follow the customer, not the creditor."""
    make_invoice(bob_ltd, amount="12000", currency="JPY", number="B-1")
    make_invoice(bob_ltd, amount="1234.5", number="B-2")
    _, token = link_create(customer=bob_ltd)

    html = client.get(home_url(token)).content.decode()

    assert '<html lang="en">' in html
    assert "¥12,000" in html
    assert "€1,234.50" in html
    assert "Total open in EUR" in html
    assert "Pay now" in html


def test_it_lists_only_the_link_owners_claims(
    client, alice_link, alice_claims, bob_ltd, make_invoice
):
    """Another customer's claims never appear on a debtor's page."""
    make_invoice(bob_ltd, amount="77.00", number="B-77")
    _, token = alice_link

    html = client.get(home_url(token)).content.decode()

    assert "B-77" not in html
    assert "Bob Ltd" not in html


def test_portal_responses_carry_the_security_headers(client, alice_link, alice_claims):
    """No indexing, no referrer to other sites, a strict CSP, no caching."""
    _, token = alice_link
    page = client.get(home_url(token))
    not_found = client.get(home_url("nope"))
    thanks = client.get(reverse("portal:thanks", args=[token, "nope"]))

    assert not_found["Referrer-Policy"] == thanks["Referrer-Policy"] == "no-referrer"
    # A page with a POST form: Chromium sends "Origin: null" under no-referrer,
    # which the CSRF check refuses; same-origin still tells other sites nothing.
    assert page["Referrer-Policy"] == "same-origin"
    for response in (page, not_found, thanks):
        assert response["X-Robots-Tag"] == "noindex, nofollow"
        csp = response["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "'unsafe-inline'" not in csp
        assert "no-store" in response["Cache-Control"]


def test_the_only_inline_style_carries_the_responses_nonce(client, alice_link):
    """The brand colour is inline, allowed by a nonce that changes every time."""
    link, token = alice_link
    link.customer.creditor.brand_color = "#ffd700"
    link.customer.creditor.save()

    first = client.get(home_url(token))
    second = client.get(home_url(token))

    nonce = first.wsgi_request.csp_nonce
    assert f"'nonce-{nonce}'" in first["Content-Security-Policy"]
    html = first.content.decode()
    assert f'<style nonce="{nonce}">' in html
    assert html.count("<style") == 1
    assert "style=" not in html
    # A light brand colour gets dark text, for contrast.
    assert "--brand: #ffd700; --brand-text: #000000;" in html
    assert second.wsgi_request.csp_nonce != nonce


def test_a_brand_colour_that_is_not_hex_is_not_written_into_the_page(
    client, alice_link
):
    """Whatever the creditor field holds, only #rrggbb reaches the style element."""
    link, token = alice_link
    link.customer.creditor.brand_color = "red;}"
    link.customer.creditor.save()

    html = client.get(home_url(token)).content.decode()

    assert "red;}" not in html
    assert "--brand: #1f4e79; --brand-text: #ffffff;" in html


def test_an_unknown_token_gets_a_404_that_names_nobody(
    client, alice_link, alice_claims, caplog
):
    """A wrong token learns nothing: no name, no creditor, no claim."""
    caplog.set_level(logging.INFO)
    wrong = "x" * 43

    response = client.get(home_url(wrong))

    assert response.status_code == 404
    html = response.content.decode()
    assert "Alice Ahrens" not in html
    assert "Acme" not in html
    assert "R-1" not in html
    assert "not valid" in html
    assert wrong not in caplog.text


@pytest.mark.parametrize("change", ["expired", "revoked"])
def test_an_expired_or_revoked_link_gets_the_same_404_as_an_unknown_one(
    client, alice_link, alice_claims, change
):
    """The page never tells whether a token ever existed."""
    link, token = alice_link
    if change == "expired":
        link.expires_at = timezone.now() - timedelta(seconds=1)
    else:
        link.revoked_at = timezone.now()
    link.save()

    response = client.get(home_url(token))
    unknown = client.get(home_url("y" * 43))

    assert response.status_code == unknown.status_code == 404
    assert response.content == unknown.content
    assert "Alice Ahrens" not in response.content.decode()


def test_the_404_speaks_the_browsers_language(client):
    """Nobody is known, so Accept-Language picks the language."""
    response = client.get(home_url("nope"), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")

    assert response.status_code == 404
    html = response.content.decode()
    assert '<html lang="de">' in html
    assert "Dieser Link ist nicht gültig" in html


def test_pay_creates_a_checkout_for_the_selected_claims(
    client, alice, alice_link, alice_claims
):
    """The checkout holds the selected claims and their open sum, and is pending."""
    _, token = alice_link
    eur = alice_claims["eur"]

    response = client.post(pay_url(token), {"currency": "EUR", "claims": [eur.id]})

    checkout = Checkout.objects.get()
    assert checkout.customer == alice
    assert checkout.invoice_ids == [eur.id]
    assert checkout.amount == Decimal("1140.17")
    assert checkout.currency == "EUR"
    assert checkout.status == Checkout.Status.PENDING
    assert checkout.provider == "test"
    assert len(checkout.provider_reference) > 20
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "portal:test_pay", args=[token, checkout.provider_reference]
    )

    page = client.get(response["Location"]).content.decode()
    assert f"1.140,17{NBSP}€" in page
    assert "Testzahlung bestätigen" in page
    assert "Abbrechen" in page


def test_another_customers_claim_ids_are_refused(
    client, alice_link, alice_claims, bob_ltd, make_invoice
):
    """A debtor can only pay their own claims; a mixed selection is refused whole."""
    _, token = alice_link
    bobs = make_invoice(bob_ltd, amount="77.00", number="B-77")

    only_bob = client.post(pay_url(token), {"currency": "EUR", "claims": [bobs.id]})
    mixed = client.post(
        pay_url(token),
        {"currency": "EUR", "claims": [alice_claims["eur"].id, bobs.id]},
    )

    for response in (only_bob, mixed):
        assert response.status_code == 400
        assert "können hier nicht bezahlt werden" in response.content.decode()
        assert "B-77" not in response.content.decode()
    assert not Checkout.objects.exists()


@pytest.mark.parametrize(
    "form",
    [
        {"currency": "EUR"},  # nothing selected
        {"currency": "JPY", "claims": ["EUR-CLAIM"]},  # claim in another currency
        {"currency": "EUR", "claims": ["PAID-CLAIM"]},  # already paid
        {"currency": "EUR", "claims": ["not-a-number"]},
    ],
)
def test_claims_that_cannot_be_paid_now_are_refused(
    client, alice_link, alice_claims, form
):
    """Only open claims in the form's currency start a checkout."""
    _, token = alice_link
    ids = {"EUR-CLAIM": alice_claims["eur"].id, "PAID-CLAIM": alice_claims["paid"].id}
    form = {**form, "claims": [ids.get(c, c) for c in form.get("claims", [])]}

    response = client.post(pay_url(token), form)

    assert response.status_code == 400
    assert not Checkout.objects.exists()


def test_posts_without_a_csrf_token_are_refused(alice_link, alice_claims):
    """The pay form is protected against cross-site requests."""
    _, token = alice_link
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        pay_url(token), {"currency": "EUR", "claims": [alice_claims["eur"].id]}
    )

    assert response.status_code == 403
    assert not Checkout.objects.exists()


def test_pay_with_an_invalid_token_is_a_404(client, alice_link, alice_claims):
    """A revoked link cannot start a payment either."""
    link, token = alice_link
    link.revoked_at = timezone.now()
    link.save()

    response = client.post(
        pay_url(token), {"currency": "EUR", "claims": [alice_claims["eur"].id]}
    )

    assert response.status_code == 404
    assert not Checkout.objects.exists()


def test_a_get_on_the_pay_url_is_not_allowed(client, alice_link):
    """Paying is a POST only."""
    _, token = alice_link

    response = client.get(pay_url(token))

    assert response.status_code == 405
    assert response["Referrer-Policy"] == "no-referrer"


def test_without_a_provider_the_page_offers_bank_transfer_only(
    client, settings, alice_link, alice_claims
):
    """No configured provider: no pay button, and the pay URL refuses."""
    settings.PORTAL_PAYMENT_PROVIDER = ""
    _, token = alice_link

    html = client.get(home_url(token)).content.decode()
    response = client.post(
        pay_url(token), {"currency": "EUR", "claims": [alice_claims["eur"].id]}
    )

    assert "Jetzt bezahlen" not in html
    assert 'name="claims"' not in html
    assert "Online-Zahlung ist im Moment nicht möglich" in html
    assert "DE89370400440532013000" in html
    assert "R-1, R-2" in html  # transfer reference
    assert response.status_code == 404
    assert not Checkout.objects.exists()


def test_the_test_provider_is_off_in_production_unless_configured(
    client, settings, alice_link, alice_claims
):
    """Without the setting, only DEBUG enables payments that move no money."""
    del settings.PORTAL_PAYMENT_PROVIDER
    settings.DEBUG = False
    _, token = alice_link

    html = client.get(home_url(token)).content.decode()

    assert "Jetzt bezahlen" not in html


def test_the_page_has_nothing_to_pay_when_all_is_paid(client, alice, alice_link):
    """A debtor without open claims gets a thank-you note, not an empty form."""
    _, token = alice_link

    html = client.get(home_url(token)).content.decode()

    assert "Sie haben keine offenen Rechnungen" in html
    # Only the language switch: no payment form without claims.
    assert 'name="claims"' not in html
    assert reverse("portal:pay", args=[token]) not in html


def test_the_page_asks_as_many_queries_for_ten_claims_as_for_one(
    client, alice, alice_link, make_invoice, django_assert_max_num_queries
):
    """The claim list has no N+1: breakdowns are read for all claims at once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _, token = alice_link
    make_invoice(alice, amount="10.00")
    with CaptureQueriesContext(connection) as one_claim:
        client.get(home_url(token))

    for _ in range(9):
        make_invoice(alice, amount="10.00")
    with django_assert_max_num_queries(len(one_claim)):
        response = client.get(home_url(token))

    assert response.content.decode().count('name="claims"') == 10
