"""A failed direct debit: the payment is booked back, the claim reopens and the
case is dunned again within one task run."""

from decimal import Decimal

import pytest
from django_q.models import Success

from dunning.models import Case, CaseStep
from messaging.models import Message
from payments.models import Invoice, LedgerEntry, Payment
from tests.messaging.factories import make_message

from .test_realtime import pay

pytestmark = pytest.mark.django_db


def reverse(api, payment, reason="SEPA return MD06", **kw):
    body = {"reversed_on": "2025-04-09", "reason": reason, **kw}
    return api.post(f"/api/v1/payments/{payment.pk}/reverse/", body, format="json")


def first_reminder(customer, claim) -> Message:
    """The claim's first step taken and its reminder queued, as the run leaves
    them."""
    message = make_message(customer, [(claim, 1)])
    step = message.items.get().case_step
    Case.objects.filter(pk=step.case_id).update(
        current_step=step.step, last_step_on=step.taken_on
    )
    return message


@pytest.fixture
def paid_claim(
    api, alice, make_invoice, sync_tasks, django_capture_on_commit_callbacks
):
    """Alice's claim after its first reminder, settled by a direct debit."""
    claim = make_invoice(alice, amount="80.00")
    first_reminder(alice, claim)
    total = Invoice.objects.get(pk=claim.pk).open_amount
    with django_capture_on_commit_callbacks(execute=True):
        assert pay(api, str(total), external_id="DD-1").status_code == 200
    assert Case.objects.get(invoice=claim).state == Case.State.CLOSED_PAID
    return claim


def test_a_failed_debit_reopens_the_claim_and_takes_the_next_step(
    api, paid_claim, sync_tasks, django_capture_on_commit_callbacks
):
    """Ledger reversal, claim open, case in dunning and its next step taken with
    a planned message, all within the one task run after the commit."""
    payment = Payment.objects.get(external_id="DD-1")

    with django_capture_on_commit_callbacks(execute=True):
        response = reverse(api, payment)

    assert response.status_code == 200, response.content
    assert response.json()["reversed_on"] == "2025-04-09"
    claim = Invoice.objects.get(pk=paid_claim.pk)
    # Owed again, plus the fee of the step taken right after.
    assert (claim.status, claim.open_amount) == ("open", Decimal("82.50"))
    assert claim.settled_on is None
    reversal = LedgerEntry.objects.get(invoice=claim, kind="reversal")
    assert (reversal.amount, reversal.payment_id) == (Decimal("80.00"), payment.pk)
    case = Case.objects.get(invoice=claim)
    assert case.state == Case.State.IN_DUNNING
    runs = Success.objects.filter(func="api.tasks.claims_dun")
    assert runs.count() == 1
    assert runs.get().result == {"steps_taken": 1, "messages": 1}
    assert list(
        CaseStep.objects.filter(case=case).values_list("step__position", flat=True)
    ) == [1, 2]
    planned = Message.objects.filter(status="planned", items__invoice=claim)
    assert planned.count() == 1


def test_reversing_twice_books_back_once(
    api, paid_claim, sync_tasks, django_capture_on_commit_callbacks
):
    payment = Payment.objects.get(external_id="DD-1")
    with django_capture_on_commit_callbacks(execute=True):
        reverse(api, payment)
    with django_capture_on_commit_callbacks(execute=True):
        again = reverse(api, payment, reason="the same return, reported again")

    assert again.status_code == 200
    assert LedgerEntry.objects.filter(kind="reversal").count() == 1
    assert Success.objects.filter(func="api.tasks.claims_dun").count() == 1
    assert Payment.objects.get(pk=payment.pk).reversal_reason == "SEPA return MD06"


def test_another_creditors_payment_cannot_be_reversed(beta_api, paid_claim):
    payment = Payment.objects.get(external_id="DD-1")

    response = reverse(beta_api, payment)

    assert response.status_code == 404
    assert not LedgerEntry.objects.filter(kind="reversal").exists()
    assert Invoice.objects.get(pk=paid_claim.pk).status == "paid"
