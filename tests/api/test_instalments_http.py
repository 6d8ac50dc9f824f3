"""Instalment plans over real HTTP: the case moves as on the debtor page, and a
plan ends when its claim is paid off."""

from datetime import date
from decimal import Decimal

import pytest
import requests
from django_fsm_log.models import StateLog

from dunning.models import Case, CaseStep
from dunning.run import run_dunning
from payments.models import InstalmentPlan, Invoice

pytestmark = pytest.mark.django_db(transaction=True)

THREE = [
    {"due_on": "2025-04-01", "amount": "100.00"},
    {"due_on": "2025-05-01", "amount": "100.00"},
    {"due_on": "2025-06-01", "amount": "100.00"},
]


@pytest.fixture
def send(live_server, token):
    def send(method, path, body=None):
        return requests.request(
            method,
            f"{live_server.url}/api/v1/{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    return send


@pytest.fixture
def claim(alice, make_invoice, standard_plan):
    """EUR 300.00 due 3 March, in dunning under the default plan."""
    invoice = make_invoice(alice, amount="300.00", number="INV-7")
    Case.objects.create(
        invoice=invoice,
        customer=alice,
        creditor=invoice.creditor,
        plan=standard_plan,
        state=Case.State.IN_DUNNING,
        opened_on=invoice.due_on,
    )
    return invoice


def state(invoice) -> str:
    # django-fsm's protected field refuses refresh_from_db; read it afresh.
    return Case.objects.values_list("state", flat=True).get(invoice=invoice)


def plan_body(external_id="PLAN-1"):
    return {
        "external_id": external_id,
        "invoice_external_id": "INV-7",
        "agreed_on": "2025-03-10",
        "instalments": THREE,
    }


def test_a_recorded_plan_moves_the_case_into_instalments(send, claim, erp):
    response = send("POST", "instalment-plans/", plan_body())

    assert response.status_code == 201
    assert state(claim) == Case.State.INSTALMENTS
    log = StateLog.objects.get(state="instalments")
    assert log.description == (
        f"instalment plan PLAN-1: 3 instalments (api:{erp[0].pk})"
    )
    case = send("GET", f"cases/{claim.case.pk}/").json()
    assert case["state"] == "instalments"


def test_the_same_plan_again_does_not_move_the_case_twice(send, claim):
    send("POST", "instalment-plans/", plan_body())

    again = send("POST", "instalment-plans/", plan_body())

    assert again.status_code == 200
    assert StateLog.objects.filter(state="instalments").count() == 1


def test_a_plan_for_a_disputed_claim_is_a_conflict(send, claim):
    Case.objects.filter(invoice=claim).update(state=Case.State.DISPUTED)

    response = send("POST", "instalment-plans/", plan_body())

    assert response.status_code == 409
    assert "disputed" in response.json()["detail"]
    assert not InstalmentPlan.objects.exists()
    assert state(claim) == Case.State.DISPUTED


def test_a_plan_recorded_by_the_api_is_missed_like_one_from_the_page(send, claim):
    """No payment by 1 April: the run of 2 April puts the case back in dunning."""
    send("POST", "instalment-plans/", plan_body())

    run_dunning(actor="test", run_date=date(2025, 4, 2))

    plan = InstalmentPlan.objects.get()
    assert (plan.status, plan.status_reason) == ("cancelled", "instalment 1 missed")
    assert state(claim) == Case.State.IN_DUNNING


def test_paying_off_the_claim_through_the_api_completes_the_plan(
    send, claim, sync_tasks
):
    send("POST", "instalment-plans/", plan_body())
    payment = {
        "external_id": "PAY-1",
        "customer_external_id": "C-ALICE",
        "amount": "300.00",
        "currency": "EUR",
        "received_on": "2025-04-20",
    }

    paid = send("POST", "payments/bulk/", {"items": [payment]})
    run_dunning(actor="test", run_date=date(2025, 6, 2))
    shown = send("GET", f"instalment-plans/{InstalmentPlan.objects.get().pk}/")

    assert paid.status_code == 200
    assert state(claim) == Case.State.CLOSED_PAID
    body = shown.json()
    assert body["status"] == "completed"
    assert body["status_reason"].startswith("claim settled (api:")
    assert body["ended_on"] == "2025-04-20"
    assert not CaseStep.objects.exists()


def test_a_part_payment_through_the_api_leaves_the_plan_active(send, claim, sync_tasks):
    payment = {
        "external_id": "PAY-1",
        "customer_external_id": "C-ALICE",
        "amount": "100.00",
        "currency": "EUR",
        "received_on": "2025-03-30",
    }
    send("POST", "instalment-plans/", plan_body())

    send("POST", "payments/bulk/", {"items": [payment]})

    assert InstalmentPlan.objects.get().status == "active"
    assert state(claim) == Case.State.INSTALMENTS
    assert Invoice.objects.get().open_amount == Decimal("200")
