"""Paying on the debtor page: checkouts, the test provider, idempotent confirmation."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from dunning.models import Case
from payments.models import Invoice, LedgerEntry, Payment
from portal.models import Checkout
from portal.providers import TestProvider
from portal.services import (
    CheckoutError,
    checkout_cancel,
    checkout_complete,
    checkout_start,
)
from tests.portal.conftest import CREDITOR_TODAY, charge_fee, open_case

pytestmark = pytest.mark.django_db

NBSP = "\xa0"


@pytest.fixture
def claim(alice, make_invoice):
    """EUR 250.00 in dunning with the first notice's fee of EUR 2.50."""
    invoice = make_invoice(
        alice, amount="250.00", due_on=date(2025, 2, 10), number="R-1"
    )
    case = open_case(invoice)
    charge_fee(case, position=2, taken_on=date(2025, 2, 24))
    invoice.refresh_from_db()
    return invoice


def start(alice_link, invoices, currency="EUR") -> Checkout:
    link, token = alice_link
    checkout, _ = checkout_start(
        link=link,
        invoice_ids=[i.id for i in invoices],
        currency=currency,
        provider=TestProvider(),
        token=token,
        actor="test",
    )
    return checkout


def case_state(invoice) -> str:
    # django-fsm's protected field refuses refresh_from_db; read it afresh.
    return Case.objects.values_list("state", flat=True).get(invoice=invoice)


def test_paying_with_the_test_provider_closes_the_claim_and_its_case(
    client, alice, alice_link, claim
):
    """Pay now, confirm, thank-you page: the claim is paid and the case closed."""
    _, token = alice_link

    response = client.post(
        reverse("portal:pay", args=[token]), {"currency": "EUR", "claims": [claim.id]}
    )
    checkout = Checkout.objects.get()
    confirm = client.post(
        response["Location"],
        {"action": "confirm", "reference": checkout.provider_reference},
    )
    thanks = client.get(confirm["Location"])

    assert confirm.status_code == 302
    assert confirm["Location"] == reverse(
        "portal:thanks", args=[token, checkout.provider_reference]
    )
    html = thanks.content.decode()
    assert thanks.status_code == 200
    assert "Vielen Dank für Ihre Zahlung" in html
    assert f"Wir haben 252,50{NBSP}€ erhalten." in html
    assert "Rechnung R-1" in html
    assert "vollständig bezahlt" in html

    claim.refresh_from_db()
    assert claim.status == Invoice.Status.PAID
    assert claim.open_amount == 0
    # 22:30 UTC on 1 April is 2 April in the creditor's Berlin.
    assert claim.settled_on == CREDITOR_TODAY
    assert case_state(claim) == Case.State.CLOSED_PAID

    payment = Payment.objects.get()
    assert payment.amount == Decimal("252.50")
    assert payment.customer == alice
    assert payment.received_on == CREDITOR_TODAY
    assert payment.method == "card"
    assert payment.source == "portal"
    assert payment.reference == checkout.provider_reference
    assert payment.external_id == f"portal:{checkout.provider_reference}"
    # The fee is paid first (costs before principal), then the principal.
    allocated = dict(
        LedgerEntry.objects.filter(payment=payment).values_list("component", "amount")
    )
    assert allocated == {"costs": Decimal("-2.50"), "principal": Decimal("-250.00")}

    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.SUCCEEDED
    assert checkout.payment == payment


def test_a_duplicate_confirmation_changes_nothing(alice_link, claim):
    """A provider event delivered twice books one payment."""
    checkout = start(alice_link, [claim])

    first = checkout_complete(
        provider_reference=checkout.provider_reference, actor="provider:test"
    )
    entries = LedgerEntry.objects.count()
    second = checkout_complete(
        provider_reference=checkout.provider_reference, actor="provider:test"
    )

    assert first.payment_id == second.payment_id
    assert Payment.objects.count() == 1
    assert LedgerEntry.objects.count() == entries
    assert second.status == Checkout.Status.SUCCEEDED


def test_confirming_twice_on_the_test_page_pays_once(client, alice_link, claim):
    """A double click on "Confirm" leads to the same thank-you page, one payment."""
    _, token = alice_link
    checkout = start(alice_link, [claim])
    url = reverse("portal:test_pay", args=[token, checkout.provider_reference])
    form = {"action": "confirm", "reference": checkout.provider_reference}

    first = client.post(url, form)
    second = client.post(url, form)

    assert first["Location"] == second["Location"]
    assert Payment.objects.count() == 1
    # The provider page of a paid checkout leads to its thank-you page.
    assert client.get(url)["Location"] == first["Location"]


def test_cancel_leaves_the_claim_open(client, alice_link, claim):
    """Cancelling on the provider page books nothing and returns to the claims."""
    _, token = alice_link
    checkout = start(alice_link, [claim])
    url = reverse("portal:test_pay", args=[token, checkout.provider_reference])

    response = client.post(
        url, {"action": "cancel", "reference": checkout.provider_reference}
    )
    home = client.get(response["Location"])

    assert response["Location"] == reverse("portal:home", args=[token])
    assert "Die Zahlung wurde abgebrochen" in home.content.decode()
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.CANCELLED
    assert not Payment.objects.exists()
    claim.refresh_from_db()
    assert claim.status == Invoice.Status.OPEN
    assert case_state(claim) == Case.State.IN_DUNNING
    # The cancelled checkout's provider page is gone; its thanks page too.
    assert client.get(url)["Location"] == reverse("portal:home", args=[token])
    thanks = reverse("portal:thanks", args=[token, checkout.provider_reference])
    assert client.get(thanks)["Location"] == reverse("portal:home", args=[token])


def test_a_late_confirmation_of_a_cancelled_checkout_still_books_the_money(
    alice_link, claim
):
    """The provider's word on a charge outranks the page the debtor left."""
    checkout = start(alice_link, [claim])
    checkout_cancel(provider_reference=checkout.provider_reference, actor="test")

    checkout = checkout_complete(
        provider_reference=checkout.provider_reference, actor="provider:test"
    )

    assert checkout.status == Checkout.Status.SUCCEEDED
    assert Payment.objects.count() == 1


def test_a_confirmation_naming_another_checkout_is_refused(client, alice_link, claim):
    """The form's reference must be the one of the page it was posted to."""
    _, token = alice_link
    checkout = start(alice_link, [claim])
    other = start(alice_link, [claim])
    url = reverse("portal:test_pay", args=[token, checkout.provider_reference])

    response = client.post(
        url, {"action": "confirm", "reference": other.provider_reference}
    )

    assert response.status_code == 404
    assert not Payment.objects.exists()


def test_another_links_checkout_is_not_found(
    client, alice_link, claim, bob_ltd, make_invoice
):
    """The provider and thank-you pages exist only under the link that paid."""
    from portal.services import link_create

    checkout = start(alice_link, [claim])
    _, bobs_token = link_create(customer=bob_ltd)
    reference = checkout.provider_reference

    page = client.get(reverse("portal:test_pay", args=[bobs_token, reference]))
    confirm = client.post(
        reverse("portal:test_pay", args=[bobs_token, reference]),
        {"action": "confirm", "reference": reference},
    )
    thanks = client.get(reverse("portal:thanks", args=[bobs_token, reference]))

    assert page.status_code == confirm.status_code == thanks.status_code == 404
    assert not Payment.objects.exists()


def test_the_test_provider_page_is_gone_when_another_provider_is_active(
    client, settings, alice_link, claim
):
    """A deployment without the test provider never accepts a test confirmation."""
    _, token = alice_link
    checkout = start(alice_link, [claim])
    settings.PORTAL_PAYMENT_PROVIDER = ""
    url = reverse("portal:test_pay", args=[token, checkout.provider_reference])

    response = client.post(
        url, {"action": "confirm", "reference": checkout.provider_reference}
    )

    assert response.status_code == 404
    assert not Payment.objects.exists()


def test_paying_several_claims_closes_each(alice, alice_link, claim, make_invoice):
    """One payment settles every selected claim at its own open amount."""
    second = make_invoice(alice, amount="40.00", number="R-2")
    open_case(second)
    checkout = start(alice_link, [claim, second])

    checkout_complete(provider_reference=checkout.provider_reference, actor="test")

    assert checkout.amount == Decimal("292.50")
    assert set(
        Invoice.objects.filter(id__in=[claim.id, second.id]).values_list(
            "status", flat=True
        )
    ) == {Invoice.Status.PAID}
    assert case_state(claim) == case_state(second) == Case.State.CLOSED_PAID


def test_start_refuses_claims_of_another_customer(
    alice_link, claim, bob_ltd, make_invoice
):
    """The service itself, not only the page, keeps debtors to their own claims."""
    bobs = make_invoice(bob_ltd, amount="77.00", number="B-77")

    with pytest.raises(CheckoutError):
        start(alice_link, [claim, bobs])

    assert not Checkout.objects.exists()


def test_start_refuses_a_mix_of_currencies(alice, alice_link, claim, make_invoice):
    """One payment is in one currency."""
    yen = make_invoice(alice, amount="5000", currency="JPY", number="R-9")

    with pytest.raises(CheckoutError):
        start(alice_link, [claim, yen])
    with pytest.raises(CheckoutError):
        start(alice_link, [yen], currency="EUR")

    assert not Checkout.objects.exists()


def test_a_jpy_checkout_has_no_minor_units(alice, alice_link, make_invoice):
    """Zero-decimal currencies are summed and shown without decimals."""
    yen = make_invoice(alice, amount="5000", currency="JPY", number="R-9")
    more = make_invoice(alice, amount="1200", currency="JPY", number="R-10")

    checkout = start(alice_link, [yen, more], currency="jpy")

    assert checkout.amount == Decimal("6200")
    assert checkout.currency == "JPY"
