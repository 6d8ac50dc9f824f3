"""A message its worker left `sending` is failed with the reason, never sent twice."""

from datetime import timedelta

from django.utils import timezone

from messaging.models import Message
from messaging.services import INTERRUPTED_REASON, dispatch_due

from .factories import SCHEDULED_AT, make_message

NOW = SCHEDULED_AT + timedelta(hours=3)


def claimed(message, *, ago: timedelta):
    """As a worker leaves a message when it dies right after claiming it."""
    Message.objects.filter(pk=message.pk).update(
        status="sending", attempts=1, sending_since=NOW - ago
    )


def test_a_message_left_sending_for_hours_is_failed_with_the_reason(
    alice, make_invoice, outbox
):
    message = make_message(alice, [(make_invoice(alice, "120.00"), 1)])
    claimed(message, ago=timedelta(hours=2))

    summary = dispatch_due(now=NOW)

    message.refresh_from_db()
    assert message.status == "failed"
    assert message.status_reason == INTERRUPTED_REASON[:300]
    assert message.sent_at is None
    assert summary == {"total": {}, "interrupted": 1}
    # Nothing went out a second time.
    assert not (outbox / "email").exists() or not list((outbox / "email").iterdir())


def test_a_message_being_sent_right_now_is_left_alone(alice, make_invoice, outbox):
    message = make_message(alice, [(make_invoice(alice, "120.00"), 1)])
    claimed(message, ago=timedelta(minutes=5))

    summary = dispatch_due(now=NOW)

    message.refresh_from_db()
    assert message.status == "sending"
    assert "interrupted" not in summary


def test_the_others_are_sent_as_usual(alice, bob_ltd, make_invoice, outbox):
    stuck = make_message(alice, [(make_invoice(alice, "120.00"), 1)])
    due = make_message(bob_ltd, [(make_invoice(bob_ltd, "80.00"), 1)], channel="letter")
    claimed(stuck, ago=timedelta(hours=2))

    summary = dispatch_due(now=NOW)

    due.refresh_from_db()
    assert (due.status, due.status_reason) == ("sent", "")
    assert summary["total"] == {"sent": 1}


def test_the_limit_of_stuck_time_is_a_setting(alice, make_invoice, outbox, settings):
    settings.DISPATCH_STUCK_SECONDS = 60
    message = make_message(alice, [(make_invoice(alice, "120.00"), 1)])
    claimed(message, ago=timedelta(minutes=5))

    dispatch_due(now=NOW)

    message.refresh_from_db()
    assert message.status == "failed"


def test_claiming_a_message_stores_when(alice, make_invoice, outbox):
    message = make_message(alice, [(make_invoice(alice, "120.00"), 1)])
    before = timezone.now()

    dispatch_due(now=NOW)

    message.refresh_from_db()
    assert message.status == "sent"
    assert message.sending_since >= before
