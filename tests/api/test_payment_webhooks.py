"""The generic signed payments webhook: verified, acted on once per event id."""

import json
import time
from decimal import Decimal

import pytest
from django_q.models import Success

from api.webhooks import signature_header
from dunning.models import Case
from messaging.models import Message
from payments.models import Invoice, LedgerEntry, Payment, ProviderPaymentEvent
from payments.webhooks import signature_verify

from .test_reversal import first_reminder

pytestmark = pytest.mark.django_db

SECRET = "pwhsec_test"
URL = "/webhooks/payments/"


@pytest.fixture(autouse=True)
def secret(settings):
    settings.PAYMENTS_WEBHOOK_SECRET = SECRET


def event(creditor, kind="payment.succeeded", event_id="evt_1", **data):
    return {
        "id": event_id,
        "type": kind,
        "data": {
            "creditor": creditor.pk,
            "payment_id": "pay_77",
            "customer_external_id": "C-ALICE",
            "amount": "80.00",
            "currency": "EUR",
            "received_on": "2025-04-02",
            "method": "sepa_debit",
            **data,
        },
    }


def post(client, body: dict, *, secret=SECRET, now=None):
    raw = json.dumps(body).encode()
    header = signature_header(secret, raw, now=now)
    return client.post(
        URL, raw, content_type="application/json", HTTP_X_PAYMENT_SIGNATURE=header
    )


@pytest.fixture
def queued(alice, make_invoice):
    """Alice's claim of 80.00 with its reminder queued."""
    claim = make_invoice(alice, amount="80.00")
    return claim, first_reminder(alice, claim)


def test_a_signed_payment_is_recorded_and_the_case_closes_in_one_task_run(
    client, creditor, queued, sync_tasks, django_capture_on_commit_callbacks
):
    claim, message = queued

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, event(creditor))

    assert response.status_code == 201, response.content
    payment = Payment.objects.get(external_id="pay_77")
    assert (payment.amount, payment.source, payment.reference) == (
        Decimal("80.00"),
        "webhook",
        "evt_1",
    )
    assert Invoice.objects.get(pk=claim.pk).status == "paid"
    assert Case.objects.get(invoice=claim).state == Case.State.CLOSED_PAID
    assert Success.objects.filter(func="api.tasks.claims_evaluate").count() == 1
    assert Message.objects.get(pk=message.pk).status == "cancelled"


def test_the_same_event_again_changes_nothing(client, creditor, queued, sync_tasks):
    first = post(client, event(creditor))
    again = post(client, event(creditor))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["repeated"] is True
    assert Payment.objects.count() == 1
    assert ProviderPaymentEvent.objects.count() == 1


def test_a_failed_debit_reverses_the_payment_and_reopens_the_claim(
    client, creditor, queued, sync_tasks, django_capture_on_commit_callbacks
):
    claim, _message = queued
    with django_capture_on_commit_callbacks(execute=True):
        post(client, event(creditor))

    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            client,
            event(creditor, "payment.failed", "evt_2", reason="MD06", amount=""),
        )

    assert response.status_code == 201, response.content
    assert response.json()["outcome"] == "payment reversed"
    assert Invoice.objects.get(pk=claim.pk).status == "open"
    assert LedgerEntry.objects.filter(invoice=claim, kind="reversal").count() == 1
    assert Case.objects.get(invoice=claim).state == Case.State.IN_DUNNING
    assert Success.objects.filter(func="api.tasks.claims_dun").count() == 1


def test_a_replayed_old_request_is_refused(client, creditor, queued):
    """A valid HMAC ten minutes old is a replay: 403, nothing stored."""
    response = post(client, event(creditor), now=time.time() - 600)

    assert response.status_code == 403
    assert not Payment.objects.exists()
    assert not ProviderPaymentEvent.objects.exists()


def test_a_wrong_secret_is_refused(client, creditor, queued):
    response = post(client, event(creditor), secret="not-the-secret")

    assert response.status_code == 403
    assert not Payment.objects.exists()


def test_an_unset_secret_refuses_everything(client, creditor, queued, settings):
    settings.PAYMENTS_WEBHOOK_SECRET = ""

    response = post(client, event(creditor), secret="")

    assert response.status_code == 403


def test_an_unknown_customer_is_answered_without_a_retry(client, creditor, queued):
    response = post(client, event(creditor, customer_external_id="C-NOBODY"))

    assert response.status_code == 201
    assert response.json()["outcome"] == "unknown customer"
    assert not Payment.objects.exists()


def test_a_signed_body_that_cannot_be_read_is_400(client, creditor, queued):
    body = event(creditor)
    del body["data"]["received_on"]

    response = post(client, body)

    assert response.status_code == 400
    assert not ProviderPaymentEvent.objects.exists()


def test_the_verification_accepts_stripes_header_with_two_signatures():
    """Stripe's `Stripe-Signature` scheme: any v1 matching is enough."""
    body = b'{"id": "evt_1"}'
    now = 1_743_500_000
    good = signature_header(SECRET, body, now=now).split(",")[1]
    header = f"t={now},v1={'0' * 64},{good},v0=ignored"

    assert signature_verify(SECRET, body, header, now=now + 10)
    assert not signature_verify(SECRET, body, header, now=now + 301)
    assert not signature_verify(SECRET, body + b" ", header, now=now)
