"""Timings of the hourly failure-rate check and of the status webhook.

Run with `-s` to see the figures (docs/DELIVERY.md lists measured ones).
"""

import time
import uuid
from datetime import timedelta

import pytest

from delivery.models import Delivery, DeliveryEvent
from delivery.services import alerts_check
from messaging.models import Message
from personalisation.models import Decision

from .conftest import NOW, mailgun_payload, post_mailgun

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ROWS = 50_000


def seed(customer, count: int) -> None:
    """`count` sent messages spread over eight days, one in fifty failed."""
    step = timedelta(days=8) / count
    decisions = Decision.objects.bulk_create(
        Decision(customer=customer, tone="neutral", language="en", policy="bench")
        for _ in range(count)
    )
    messages = Message.objects.bulk_create(
        Message(
            creditor=customer.creditor,
            customer=customer,
            channel="email" if index % 2 else "sms",
            idempotency_key=uuid.uuid4().hex,
            decision=decision,
            action_date=NOW.date(),
            scheduled_at=NOW - step * index,
            sent_at=NOW - step * index,
            status=Message.Status.SENT,
            language="en",
            tone="neutral",
        )
        for index, decision in enumerate(decisions)
    )
    Delivery.objects.bulk_create(
        Delivery(
            message=message,
            creditor=customer.creditor,
            channel=message.channel,
            provider="mailgun" if message.channel == "email" else "twilio",
            provider_message_id=uuid.uuid4().hex,
            sent_at=message.sent_at,
            failed_at=message.sent_at if index % 50 == 0 else None,
        )
        for index, message in enumerate(messages)
    )


def test_failure_rate_check_over_fifty_thousand_messages(alice):
    seed(alice, ROWS)

    started = time.perf_counter()
    opened = alerts_check(now=NOW)
    seconds = time.perf_counter() - started

    print(f"\nalerts_check over {ROWS} deliveries: {seconds * 1000:.0f} ms")
    assert opened == []
    assert seconds < 5


def test_status_webhook_throughput(client, sent_email):
    payloads = [mailgun_payload(sent_email, "opened") for _ in range(200)]

    started = time.perf_counter()
    for payload in payloads:
        assert post_mailgun(client, payload).status_code == 201
    for payload in payloads[:100]:
        assert post_mailgun(client, payload).status_code == 200
    seconds = time.perf_counter() - started

    print(f"\n300 Mailgun reports (100 repeated): {300 / seconds:.0f} per second")
    assert DeliveryEvent.objects.filter(kind="opened").count() == 200
