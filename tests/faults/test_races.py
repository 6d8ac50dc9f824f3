"""A payment, credit note, dispute or promise to pay that races the run or the
dispatch wins: nothing goes out for that claim afterwards. Each race is two
threads, each on its own PostgreSQL connection, released by one barrier at the
moment the product's code reaches the window under test."""

import threading
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone
from django_fsm_log.models import StateLog

from customers.models import Creditor, Customer
from dunning import run as dunning_run
from dunning import services as dunning_services
from dunning.models import Case, CaseStep
from dunning.run import run_dunning
from dunning.services import CaseWorkError, case_hand_over
from messaging import services as messaging_services
from messaging.models import Message
from messaging.services import dispatch_due
from payments.models import LedgerEntry
from payments.services import credit_note_post, payment_record

from .conftest import outbox_recipients, postgresql_only

pytestmark = pytest.mark.django_db(transaction=True)

DUE = date(2025, 3, 3)
FIRST_STEP_ON = date(2025, 3, 6)
# Step 2 (fee 2.50) is due on 17 March: the step the races are about.
RACE_DAY = date(2025, 3, 17)
LATER = timezone.now() + timedelta(days=2)


def pay(case: Case) -> None:
    # More than is open, fees included: the debtor settles everything.
    payment_record(
        customer=case.customer,
        amount=Decimal("500.00"),
        currency="EUR",
        received_on=RACE_DAY,
        actor="test",
    )


def credit(case: Case) -> None:
    # A credit note clears the principal only; a fee booked before it stays
    # open (and is dunned) unless the creditor waives charges after principal.
    # Here it does, so that the claim is credited to zero whenever the note
    # lands.
    Creditor.objects.filter(pk=case.creditor_id).update(
        waive_charges_after_principal=True
    )
    credit_note_post(
        invoice=case.invoice,
        external_id="CN-RACE",
        amount=Decimal("200.00"),
        currency="EUR",
        issued_on=RACE_DAY,
        actor="test",
    )


def dispute(case: Case) -> None:
    dunning_services.case_dispute(case_id=case.pk, reason="never ordered", actor="test")


def promise(case: Case) -> None:
    dunning_services.case_promise(
        case_id=case.pk,
        promised_on=case.creditor.local_today() + timedelta(days=14),
        amount=Decimal("100.00"),
        actor="test",
    )


EVENTS = {"payment": pay, "credit note": credit, "dispute": dispute, "promise": promise}
# The reason the dispatch gives for each event when it cancels the message.
STOPPED = {
    "payment": "paid",
    "credit note": "credited",
    "dispute": "disputed",
    "promise": "paused",
}


@pytest.fixture
def claims(standard_plan, creditor, alice, make_invoice):
    """Alice's claim (the one the event is about) and Carl's (the control),
    both at step 1, sent; step 2 is due on RACE_DAY."""
    postgresql_only()
    carl = Customer.objects.create(
        creditor=creditor,
        external_id="C-CARL",
        kind="consumer",
        name="Carl Conrad",
        email="carl@example.com",
        street="Ring 2",
        postcode="10178",
        city="Berlin",
        country="DE",
        language="de",
        time_zone="Europe/Berlin",
    )
    mine = make_invoice(alice, "200.00", due_on=DUE)
    other = make_invoice(carl, "300.00", due_on=DUE)
    run_dunning(actor="test", run_date=FIRST_STEP_ON, plan_only=True)
    dispatch_due(now=LATER)
    assert Message.objects.filter(status=Message.Status.SENT).count() == 2
    return Case.objects.get(invoice=mine), Case.objects.get(invoice=other)


def in_thread(target, barrier: threading.Barrier, errors: list) -> threading.Thread:
    def work():
        try:
            barrier.wait(timeout=10)
            target()
        except Exception as error:  # reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def step_two(case: Case) -> list[CaseStep]:
    return list(CaseStep.objects.filter(case=case, step__position=2))


def race_fees(case: Case) -> int:
    return LedgerEntry.objects.filter(
        invoice_id=case.invoice_id, kind=LedgerEntry.Kind.FEE
    ).count()


@pytest.mark.parametrize("event", EVENTS)
def test_an_event_between_the_runs_read_and_its_lock_wins(
    event, claims, outbox, monkeypatch
):
    mine, other = claims
    barrier, done, errors = threading.Barrier(2), threading.Event(), []
    original = dunning_run._run_batch

    def batch_after_the_event(*args, **kwargs):
        # The candidates are read; the event commits before the batch locks.
        barrier.wait(timeout=10)
        assert done.wait(timeout=10)
        return original(*args, **kwargs)

    monkeypatch.setattr(dunning_run, "_run_batch", batch_after_the_event)
    thread = in_thread(lambda: (EVENTS[event](mine), done.set()), barrier, errors)
    run_dunning(actor="test", run_date=RACE_DAY, plan_only=True)
    thread.join()
    dispatch_due(now=LATER)

    assert errors == []
    assert step_two(mine) == [] and race_fees(mine) == 0
    assert not Message.objects.filter(items__invoice_id=mine.invoice_id).exclude(
        action_date=FIRST_STEP_ON
    )
    assert outbox_recipients(outbox)["alice@example.com"] == 1  # step 1 only
    # The run went on for everyone else.
    assert len(step_two(other)) == 1 and race_fees(other) == 1
    assert outbox_recipients(outbox)["carl@example.com"] == 2


@pytest.mark.parametrize("event", EVENTS)
def test_an_event_during_the_runs_batch_waits_for_it_and_stops_the_message(
    event, claims, outbox, monkeypatch
):
    mine, _other = claims
    barrier, done, errors = threading.Barrier(2), threading.Event(), []
    original = dunning_run._plan_messages
    finished_inside = []

    def plan_while_the_event_waits(*args, **kwargs):
        # The batch holds its claims' locks: the event's service blocks on
        # them until the batch commits, whatever it is.
        barrier.wait(timeout=10)
        time.sleep(0.5)
        finished_inside.append(done.is_set())
        return original(*args, **kwargs)

    monkeypatch.setattr(dunning_run, "_plan_messages", plan_while_the_event_waits)
    thread = in_thread(lambda: (EVENTS[event](mine), done.set()), barrier, errors)
    run_dunning(actor="test", run_date=RACE_DAY, plan_only=True)
    thread.join()
    dispatch_due(now=LATER)

    assert errors == [] and finished_inside == [False]
    # Serialised after the batch: the step was taken before the event, once.
    assert len(step_two(mine)) == 1 and race_fees(mine) == 1
    message = Message.objects.get(
        items__invoice_id=mine.invoice_id, action_date=RACE_DAY
    )
    assert message.status == Message.Status.CANCELLED
    assert message.status_reason == STOPPED[event]
    assert outbox_recipients(outbox)["alice@example.com"] == 1  # step 1 only


@pytest.mark.parametrize("event", EVENTS)
def test_an_event_between_dispatch_claim_and_send_wins(
    event, claims, outbox, monkeypatch
):
    mine, other = claims
    run_dunning(actor="test", run_date=RACE_DAY, plan_only=True)
    fees_before = race_fees(mine)
    barrier, done, errors = threading.Barrier(2), threading.Event(), []
    original = messaging_services._items_now

    def items_after_the_event(message):
        # The message is claimed (`sending`); the event commits before the
        # re-check reads the claims.
        if message.customer_id == mine.customer_id:
            barrier.wait(timeout=10)
            assert done.wait(timeout=10)
        return original(message)

    monkeypatch.setattr(messaging_services, "_items_now", items_after_the_event)
    thread = in_thread(lambda: (EVENTS[event](mine), done.set()), barrier, errors)
    dispatch_due(now=LATER)
    thread.join()

    assert errors == []
    message = Message.objects.get(
        items__invoice_id=mine.invoice_id, action_date=RACE_DAY
    )
    assert message.status == Message.Status.CANCELLED
    assert message.status_reason == STOPPED[event]
    assert outbox_recipients(outbox)["alice@example.com"] == 1  # step 1 only
    assert race_fees(mine) == fees_before
    assert outbox_recipients(outbox)["carl@example.com"] == 2


def test_two_clerks_handing_over_one_case_at_once_make_one_transition(claims):
    mine, _other = claims
    barrier, errors = threading.Barrier(2), []
    threads = [
        in_thread(
            lambda: case_hand_over(case_id=mine.pk, reason="agency", actor="test"),
            barrier,
            errors,
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.join()

    assert len(errors) == 1 and isinstance(errors[0], CaseWorkError)
    mine.refresh_from_db()
    assert mine.state == Case.State.HANDED_OVER
    assert (
        StateLog.objects.filter(object_id=mine.pk, transition="hand_over").count() == 1
    )


def test_two_runs_at_once_take_each_step_once(claims):
    mine, other = claims
    barrier, errors = threading.Barrier(2), []
    threads = [
        in_thread(
            lambda: run_dunning(actor="test", run_date=RACE_DAY, plan_only=True),
            barrier,
            errors,
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.join()

    assert errors == []
    for case in (mine, other):
        assert len(step_two(case)) == 1 and race_fees(case) == 1
    assert Message.objects.filter(action_date=RACE_DAY).count() == 2
