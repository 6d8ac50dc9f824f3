"""The dispatch entry points: the scheduled task and the management command."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from messaging import tasks
from messaging.models import Message

from .factories import SCHEDULED_AT, make_message


def test_scheduled_task_sends_what_is_due_now(alice, make_invoice, outbox):
    """The schedule's task sends messages due by the current time."""
    due = make_message(alice, [(make_invoice(alice, "10.00"), 1)])
    later = make_message(
        alice,
        [(make_invoice(alice, "20.00"), 1)],
        scheduled_at=timezone.now() + timedelta(hours=1),
    )

    result = tasks.dispatch_due()

    assert result["total"] == {"sent": 1}
    assert Message.objects.get(pk=due.pk).status == Message.Status.SENT
    assert Message.objects.get(pk=later.pk).status == Message.Status.PLANNED


def test_command_with_now_prints_json(alice, make_invoice, outbox):
    """--now picks what is due at that time; --json prints the counts."""
    make_message(alice, [(make_invoice(alice, "10.00"), 1)])
    out = StringIO()

    before = (SCHEDULED_AT - timedelta(minutes=1)).isoformat()
    call_command("dispatch_messages", "--now", before, "--json", stdout=out)
    call_command(
        "dispatch_messages", "--now", SCHEDULED_AT.isoformat(), "--json", stdout=out
    )

    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first == {"total": {}}
    assert second == {"email": {"sent": 1}, "total": {"sent": 1}}


def test_command_prints_a_summary(alice, make_invoice, outbox):
    make_message(alice, [(make_invoice(alice, "10.00"), 1)])
    out = StringIO()

    call_command("dispatch_messages", stdout=out)

    assert out.getvalue().splitlines() == ["email: 1 sent", "total: 1 sent"]


def test_command_refuses_a_bad_date():
    with pytest.raises(CommandError, match="not an ISO date-time"):
        call_command("dispatch_messages", "--now", "yesterday")
