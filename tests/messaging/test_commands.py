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


def test_command_sends_at_most_the_limit_oldest_first(alice, make_invoice, outbox):
    """--limit 1 sends the message that was due first and leaves the other."""
    later = make_message(
        alice,
        [(make_invoice(alice, "20.00"), 1)],
        scheduled_at=SCHEDULED_AT + timedelta(minutes=5),
    )
    older = make_message(alice, [(make_invoice(alice, "10.00"), 1)])
    out = StringIO()

    call_command(
        "dispatch_messages",
        "--now",
        (SCHEDULED_AT + timedelta(hours=1)).isoformat(),
        "--limit",
        "1",
        "--json",
        stdout=out,
    )

    assert json.loads(out.getvalue()) == {"email": {"sent": 1}, "total": {"sent": 1}}
    statuses = dict(
        Message.objects.filter(pk__in=[older.pk, later.pk]).values_list("pk", "status")
    )
    assert statuses == {older.pk: "sent", later.pk: "planned"}


def test_command_refuses_a_limit_below_one():
    with pytest.raises(CommandError, match="--limit must be at least 1"):
        call_command("dispatch_messages", "--limit", "0")


def test_bench_dispatch_plans_and_sends_to_both_file_backends(db, tmp_path):
    """The benchmark plans one reminder per debtor and sends all of them."""
    out = StringIO()

    call_command(
        "bench_dispatch",
        "--debtors",
        "6",
        "--outbox",
        str(tmp_path / "bench"),
        "--json",
        stdout=out,
    )

    result = json.loads(out.getvalue())
    assert result["planned"] == 6
    assert {channel: f["sent"] for channel, f in result["dispatch"].items()} == {
        "email": 3,
        "sms": 3,
    }
    sms_lines = (tmp_path / "bench" / "sms").glob("*.jsonl")
    assert sum(len(path.read_text().splitlines()) for path in sms_lines) == 3
    assert Message.objects.filter(status="sent").count() == 6


def test_bench_dispatch_sends_letters_for_the_letter_share(db, tmp_path):
    """With --letter-share a part of the e-mail debtors get letters as PDFs."""
    out = StringIO()

    call_command(
        "bench_dispatch",
        "--debtors",
        "8",
        "--sms-share",
        "25",
        "--letter-share",
        "50",
        "--outbox",
        str(tmp_path / "bench"),
        "--json",
        stdout=out,
    )

    result = json.loads(out.getvalue())
    assert {channel: f["sent"] for channel, f in result["dispatch"].items()} == {
        "email": 2,
        "sms": 2,
        "letter": 4,
    }
    assert len(list((tmp_path / "bench" / "letters").rglob("*.pdf"))) == 4


def test_bench_dispatch_refuses_a_database_with_claims(alice, make_invoice):
    """The run acts on every creditor, so real data stops the benchmark."""
    make_invoice(alice, "10.00")

    with pytest.raises(CommandError, match="scratch database"):
        call_command("bench_dispatch", "--debtors", "2")
