"""Real-time dunning: a payment posted through the API acts within one task run."""

from datetime import date
from decimal import Decimal

import pytest
from django_q.models import Success

from api.services import claims_evaluate
from dunning.models import Case
from messaging.models import Message
from payments.models import Invoice
from tests.messaging.factories import make_message

pytestmark = pytest.mark.django_db


def pay(api, amount, external_id="PAY-1"):
    return api.post(
        "/api/v1/payments/bulk/",
        {
            "items": [
                {
                    "external_id": external_id,
                    "customer_external_id": "C-ALICE",
                    "amount": amount,
                    "currency": "EUR",
                    "received_on": "2025-04-02",
                }
            ]
        },
        format="json",
    )


def test_a_payment_cancels_the_queued_message_and_closes_the_case(
    api, alice, make_invoice, sync_tasks, django_capture_on_commit_callbacks
):
    """One task run after the commit: case closed as paid, message cancelled."""
    claim = make_invoice(alice, amount="80.00")
    message = make_message(alice, [(claim, 1)])
    total = Invoice.objects.get(pk=claim.pk).open_amount

    with django_capture_on_commit_callbacks() as callbacks:
        response = pay(api, str(total))
    assert response.status_code == 200
    assert Message.objects.get(pk=message.pk).status == "planned"
    for callback in callbacks:
        callback()

    runs = Success.objects.filter(func="api.tasks.claims_evaluate")
    assert runs.count() == 1
    assert runs.get().result == {"cases_closed": 0, "messages_cancelled": 1}
    assert Case.objects.get(invoice=claim).state == Case.State.CLOSED_PAID
    message.refresh_from_db()
    assert (message.status, message.status_reason) == ("cancelled", "paid")


def test_a_message_still_owed_on_another_claim_stays_queued(
    api, alice, make_invoice, sync_tasks, django_capture_on_commit_callbacks
):
    """Sending leaves out the paid claim; the other one still needs the message."""
    paid = make_invoice(alice, amount="30.00", due_on=date(2025, 3, 1))
    owed = make_invoice(alice, amount="50.00", due_on=date(2025, 3, 20))
    message = make_message(alice, [(paid, 1), (owed, 1)])
    first = Invoice.objects.get(pk=paid.pk).open_amount

    with django_capture_on_commit_callbacks(execute=True):
        pay(api, str(first))

    assert Invoice.objects.get(pk=paid.pk).status == "paid"
    assert Message.objects.get(pk=message.pk).status == "planned"


def test_evaluation_closes_a_live_case_of_a_settled_claim(alice, make_invoice):
    """A claim settled some other way has its case closed at once."""
    claim = make_invoice(alice, amount="80.00")
    message = make_message(alice, [(claim, 1)])
    Invoice.objects.filter(pk=claim.pk).update(
        status="paid", open_amount=Decimal(0), settled_on=date(2025, 4, 2)
    )

    result = claims_evaluate(invoice_ids=[claim.pk], actor="test")

    assert result == {"cases_closed": 1, "messages_cancelled": 1}
    assert Case.objects.get(invoice=claim).state == Case.State.CLOSED_PAID
    assert Message.objects.get(pk=message.pk).status == "cancelled"
