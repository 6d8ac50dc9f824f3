"""A payment that completed an instalment plan is booked back: the plan runs again."""

from datetime import date
from decimal import Decimal

import pytest
from django_fsm_log.models import StateLog

from dunning.models import Case
from dunning.run import run_dunning
from dunning.services import cases_instalments_missed
from payments.instalments import instalment_plan_record
from payments.models import InstalmentPlan, Invoice
from payments.services import payment_record, payment_reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan_paid_off(alice, make_invoice):
    """Alice's 300.00 claim in a plan of three, paid off in one go on 20 April."""
    claim = make_invoice(alice, amount="300.00", due_on=date(2025, 3, 3))
    run_dunning(actor="test", run_date=date(2025, 3, 20))
    plan, _ = instalment_plan_record(
        creditor=alice.creditor,
        invoice=claim,
        external_id="PLAN-1",
        agreed_on=date(2025, 3, 25),
        instalments=[
            (date(2025, 4, 15), Decimal("100.00")),
            (date(2025, 5, 15), Decimal("100.00")),
            (date(2025, 6, 15), Decimal("100.00")),
        ],
        actor="test",
    )
    assert Case.objects.get(invoice=claim).state == Case.State.INSTALMENTS
    payment = payment_record(
        customer=alice,
        amount=Invoice.objects.get(pk=claim.pk).open_amount,
        currency="EUR",
        received_on=date(2025, 4, 20),
        actor="test",
    )
    plan.refresh_from_db()
    assert plan.status == InstalmentPlan.Status.COMPLETED
    assert Case.objects.get(invoice=claim).state == Case.State.CLOSED_PAID
    return claim, plan, payment


def test_the_plan_a_reversed_payment_completed_is_active_again(plan_paid_off):
    claim, plan, payment = plan_paid_off

    payment_reverse(
        payment=payment, reversed_on=date(2025, 4, 25), actor="test", reason="MD06"
    )

    plan.refresh_from_db()
    assert plan.status == InstalmentPlan.Status.ACTIVE
    assert plan.ended_on is None
    assert plan.status_reason == f"active again: payment {payment.pk} reversed: MD06"
    case = Case.objects.get(invoice=claim)
    assert case.state == Case.State.INSTALMENTS
    # Reopened, then back in its plan: both transitions logged with the reason.
    log = StateLog.objects.for_(case).order_by("id")
    assert [(entry.transition, entry.description) for entry in log][-2:] == [
        ("reopen", f"payment {payment.pk} reversed: MD06"),
        (
            "agree_instalments",
            f"instalment plan active again, payment {payment.pk} reversed: MD06",
        ),
    ]


def test_the_resumed_plan_misses_the_instalment_the_payment_had_covered(
    plan_paid_off,
):
    """The April instalment (due on the 15th) is unpaid again after the reversal:
    the next check of missed instalments cancels the plan and dunning goes on."""
    claim, plan, payment = plan_paid_off
    payment_reverse(
        payment=payment, reversed_on=date(2025, 4, 25), actor="test", reason="MD06"
    )

    assert cases_instalments_missed(on=date(2025, 4, 26), actor="test") == 1

    plan.refresh_from_db()
    assert (plan.status, plan.status_reason) == (
        InstalmentPlan.Status.CANCELLED,
        "instalment 1 missed",
    )
    assert Case.objects.get(invoice=claim).state == Case.State.IN_DUNNING


def test_a_plan_completed_by_another_settlement_stays_completed(
    alice, make_invoice, plan_paid_off
):
    """Only the settlement that was booked back revives its plan: reversing a
    payment of another claim leaves this plan alone."""
    claim, plan, _ = plan_paid_off
    other = make_invoice(alice, amount="50.00", number="INV-OTHER")
    payment = payment_record(
        customer=alice,
        amount=Decimal("50.00"),
        currency="EUR",
        received_on=date(2025, 4, 22),
        actor="test",
    )
    assert Invoice.objects.get(pk=other.pk).status == Invoice.Status.PAID

    payment_reverse(
        payment=payment, reversed_on=date(2025, 4, 25), actor="test", reason="MD06"
    )

    plan.refresh_from_db()
    assert plan.status == InstalmentPlan.Status.COMPLETED
    assert Case.objects.get(invoice=claim).state == Case.State.CLOSED_PAID


def test_an_instalment_reads_as_an_amount_with_its_currency(plan_paid_off):
    _claim, plan, _payment = plan_paid_off

    assert [str(instalment) for instalment in plan.instalments.all()] == [
        "€100.00 due 2025-04-15",
        "€100.00 due 2025-05-15",
        "€100.00 due 2025-06-15",
    ]
