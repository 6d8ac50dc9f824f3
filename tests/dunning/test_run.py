"""The dunning run on small, named portfolios."""

from datetime import date
from decimal import Decimal

import pytest

from dunning.models import Case, CaseStep
from dunning.run import run_dunning
from messaging.models import Message
from payments.models import Invoice, LedgerEntry

pytestmark = pytest.mark.django_db


def run(on, **kw):
    return run_dunning(actor="test", run_date=on, **kw)


def test_an_overdue_claim_gets_a_case_and_its_first_step(alice, make_invoice):
    """A claim three days late opens a case and takes the friendly reminder."""
    invoice = make_invoice(alice, "100.00", due_on=date(2025, 3, 3))

    summary = run(date(2025, 3, 6), dry_run=False)

    case = Case.objects.get(invoice=invoice)
    assert case.state == Case.State.IN_DUNNING
    assert case.current_step.position == 1
    assert summary["cases_opened"] == 1
    assert summary["steps_taken"] == {"1:Friendly reminder": 1}
    assert summary["messages"] == {"email": 1}


def test_a_claim_not_yet_late_enough_gets_a_case_but_no_step(alice, make_invoice):
    """Two days late: the case opens, the reminder waits for day three."""
    make_invoice(alice, due_on=date(2025, 3, 3))

    summary = run(date(2025, 3, 5))

    assert summary["cases_opened"] == 1
    assert summary["steps_taken"] == {}
    assert Message.objects.count() == 0


def test_running_the_same_date_again_creates_nothing(alice, make_invoice):
    """Each step happens once, however often the run executes."""
    make_invoice(alice, due_on=date(2025, 1, 2))
    run(date(2025, 1, 20))
    run(date(2025, 2, 10))

    again = run(date(2025, 2, 10))

    assert again["steps_taken"] == {}
    assert again["messages"] == {}
    assert again["fees_charged"]["count"] == 0
    assert CaseStep.objects.count() == 2
    assert LedgerEntry.objects.filter(kind="fee").count() == 1


def test_fee_of_a_step_is_charged_once_and_raises_the_open_amount(alice, make_invoice):
    """The first notice charges its fee on the ledger and the cached balance."""
    invoice = make_invoice(alice, "100.00", due_on=date(2025, 1, 2))
    run(date(2025, 1, 6))

    summary = run(date(2025, 1, 20))

    invoice.refresh_from_db()
    assert summary["fees_charged"] == {"count": 1, "by_currency": {"EUR": "2.50"}}
    assert invoice.open_amount == Decimal("102.50")
    fee = LedgerEntry.objects.get(invoice=invoice, kind="fee")
    assert fee.amount == Decimal("2.50")
    assert fee.case_step.step.position == 2


def test_after_downtime_only_the_next_step_happens(alice, make_invoice):
    """A claim 60 days late that was never reminded gets one step, not four."""
    make_invoice(alice, due_on=date(2025, 1, 2))

    summary = run(date(2025, 3, 3))

    assert summary["steps_taken"] == {"1:Friendly reminder": 1}
    assert summary["fees_charged"]["count"] == 0


def test_next_step_is_timed_from_when_the_previous_one_happened(alice, make_invoice):
    """The second step keeps its gap to the first even when the claim is older."""
    make_invoice(alice, due_on=date(2025, 1, 2))
    run(date(2025, 3, 3))

    assert run(date(2025, 3, 10))["steps_taken"] == {}
    assert run(date(2025, 3, 14))["steps_taken"] == {"2:First notice": 1}


def test_several_claims_of_one_debtor_become_one_message(alice, make_invoice):
    """Claims at different levels go out together, each at its own level."""
    older = make_invoice(alice, "80.00", due_on=date(2025, 1, 2))
    run(date(2025, 1, 6))
    newer = make_invoice(alice, "45.00", due_on=date(2025, 1, 16))

    run(date(2025, 1, 20))

    message = Message.objects.filter(action_date=date(2025, 1, 20)).get()
    levels = {item.invoice_id: item.level for item in message.items.all()}
    assert levels == {older.id: 2, newer.id: 1}


def test_dry_run_writes_nothing(alice, make_invoice):
    """A dry run reports what it would do and leaves the database untouched."""
    make_invoice(alice, due_on=date(2025, 1, 2))

    summary = run(date(2025, 1, 20), dry_run=True)

    assert summary["cases_opened"] == 1
    assert summary["steps_taken"] == {"1:Friendly reminder": 1}
    assert Case.objects.count() == 0
    assert Message.objects.count() == 0


def test_a_paid_claim_gets_no_case(alice, make_invoice):
    """Only open claims are dunned."""
    from payments.services import payment_record

    invoice = make_invoice(alice, "100.00", due_on=date(2025, 1, 2))
    payment_record(
        customer=alice,
        amount=Decimal("100.00"),
        currency="EUR",
        received_on=date(2025, 1, 3),
        actor="test",
    )

    summary = run(date(2025, 1, 20))

    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID
    assert summary["claims_examined"] == 0


def test_a_disputed_case_is_left_alone(alice, make_invoice):
    """No step for a claim whose case is disputed."""
    from dunning.services import case_transition

    make_invoice(alice, due_on=date(2025, 1, 2))
    run(date(2025, 1, 6))
    case = Case.objects.get()
    case_transition(case_id=case.pk, transition="dispute", actor="test")

    summary = run(date(2025, 1, 20))

    assert summary["steps_taken"] == {}


def test_a_final_notice_goes_by_letter_and_is_firm(bob_ltd, make_invoice):
    """The decision for a final notice picks the letter and the firm tone."""
    make_invoice(bob_ltd, "7000.00", due_on=date(2025, 1, 2))
    for day in (date(2025, 1, 6), date(2025, 1, 20), date(2025, 2, 3)):
        run(day)

    run(date(2025, 2, 17))

    message = Message.objects.get(action_date=date(2025, 2, 17))
    assert message.channel == "letter"
    assert message.decision.tone == "firm"
    assert "final notice" in message.decision.reasons["channel"]
