"""A claim that falls due is dunned by the frequent overdue check, not only at
the daily run; the check repeats no work."""

from datetime import timedelta

import pytest

from api.schedules import SCHEDULES
from api.services import claims_overdue_dun
from dunning.models import Case, CaseStep
from messaging.models import Message

pytestmark = pytest.mark.django_db


def test_an_overdue_claim_gets_its_case_and_due_step_at_once(
    alice, bob_ltd, make_invoice, creditor
):
    """Overdue by the creditor's local date: case opened, reminder planned.
    Claims not yet overdue or overdue for weeks are left alone, and a second
    check does nothing."""
    today = creditor.local_today()
    overdue = make_invoice(alice, amount="40.00", due_on=today - timedelta(days=6))
    not_yet = make_invoice(alice, amount="60.00", due_on=today + timedelta(days=1))
    # Long overdue without a case: the daily run's, not the frequent check's.
    old = make_invoice(bob_ltd, amount="70.00", due_on=today - timedelta(days=30))

    first = claims_overdue_dun(actor="test")
    again = claims_overdue_dun(actor="test")

    assert first == {"claims": 1, "steps_taken": 1, "messages": 1}
    assert again == {"claims": 0, "steps_taken": 0, "messages": 0}
    case = Case.objects.get(invoice=overdue)
    assert case.state == Case.State.IN_DUNNING
    assert CaseStep.objects.filter(case=case).count() == 1
    assert Message.objects.filter(items__invoice=overdue).count() == 1
    assert not Case.objects.filter(invoice__in=[not_yet, old]).exists()


def test_the_overdue_check_is_a_frequent_schedule(db):
    """Kept by migrate: one named schedule every 15 minutes."""
    from django_q.models import Schedule

    from api.schedules import ensure_schedule

    ensure_schedule()
    ensure_schedule()

    schedule = Schedule.objects.get(name=SCHEDULES[0]["name"])
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "api.tasks.claims_overdue_dun",
        "I",
        15,
    )


def test_an_overdue_check_that_fails_records_the_error_on_its_run(
    alice, make_invoice, creditor, monkeypatch
):
    """Like the daily run: the error on the Run, nothing of the failed batch."""
    from dunning.models import Run

    today = creditor.local_today()
    make_invoice(alice, amount="40.00", due_on=today - timedelta(days=6))

    def failing(*args, **kwargs):
        raise RuntimeError("decision service down")

    monkeypatch.setattr("dunning.run.decide", failing)

    with pytest.raises(RuntimeError, match="decision service down"):
        claims_overdue_dun(actor="test")

    run = Run.objects.get()
    assert run.status() == Run.Status.FAILED
    assert run.error == "RuntimeError: decision service down"
    assert run.summary == {"steps_taken": 0, "messages": 0}
    assert not CaseStep.objects.exists() and not Message.objects.exists()
