"""A plan step that asks a clerk to call: a task in the call list, no message."""

from datetime import date

import pytest
from django.contrib import admin
from django.urls import reverse

from dunning.models import CallTask, Case, Plan
from dunning.run import run_dunning
from messaging.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def call_plan():
    """The Standard plan with its second notice replaced by a call."""
    plan = Plan.objects.get(name="Standard")
    plan.steps.filter(position=2).update(action="call", name="Call the debtor", fee=0)
    return plan


def test_a_call_step_creates_a_task_and_no_message(alice, make_invoice, call_plan):
    invoice = make_invoice(alice, due_on=date(2025, 1, 2))
    run_dunning(actor="test", run_date=date(2025, 1, 6))
    messages_before = Message.objects.count()

    summary = run_dunning(actor="test", run_date=date(2025, 1, 20))

    task = CallTask.objects.get()
    assert task.case == Case.objects.get(invoice=invoice)
    assert (task.due_on, task.is_open) == (date(2025, 1, 20), True)
    assert task.case_step.step.name == "Call the debtor"
    assert summary["call_tasks"] == 1
    assert summary["steps_taken"] == {"2:Call the debtor": 1}
    assert Message.objects.count() == messages_before
    # The run again: the step was taken once, so no second task.
    assert run_dunning(actor="test", run_date=date(2025, 1, 20))["call_tasks"] == 0
    assert CallTask.objects.count() == 1


def test_a_clerk_records_the_call_from_the_call_list(
    login, clerk, alice, make_invoice, call_plan
):
    make_invoice(alice, due_on=date(2025, 1, 2))
    run_dunning(actor="test", run_date=date(2025, 1, 6))
    run_dunning(actor="test", run_date=date(2025, 1, 20))
    task = CallTask.objects.get()
    client = login(clerk)
    url = reverse("admin:dunning_calltask_changelist")

    listing = client.get(url + "?status=open")
    response = client.post(
        url,
        {
            "action": "record_outcome",
            "_selected_action": [task.pk],
            "apply": "1",
            "outcome": "promised",
            "note": "Pays on Friday",
        },
        follow=True,
    )

    assert "Call the debtor" in listing.content.decode()
    assert "Recorded 1 call(s)" in response.content.decode()
    task.refresh_from_db()
    assert (task.outcome, task.note, task.done_by) == (
        "promised",
        "Pays on Friday",
        f"user:{clerk.pk}",
    )
    assert task.done_at is not None


def test_an_auditor_sees_the_call_list_but_cannot_record(
    login, auditor, rf, alice, make_invoice, call_plan
):
    make_invoice(alice, due_on=date(2025, 1, 2))
    run_dunning(actor="test", run_date=date(2025, 1, 6))
    run_dunning(actor="test", run_date=date(2025, 1, 20))
    client = login(auditor)
    url = reverse("admin:dunning_calltask_changelist")

    response = client.get(url)
    request = rf.get(url)
    request.user = auditor

    assert response.status_code == 200
    model_admin = admin.site._registry[CallTask]
    assert "record_outcome" not in model_admin.get_actions(request)
