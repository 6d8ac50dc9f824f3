"""Debtors, contact policies and past contacts for the contact policy tests."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def default_policy(db):
    """The product default the data migration ships, as a manager would edit it."""
    from contact.models import ContactPolicy

    return ContactPolicy.objects.get(product_default=True)


@pytest.fixture
def dora(creditor):
    """A consumer in Berlin reachable by e-mail, SMS and letter."""
    from customers.models import Customer

    return Customer.objects.create(
        creditor=creditor,
        external_id="C-DORA",
        kind="consumer",
        name="Dora Decker",
        email="dora@example.com",
        phone="+4915112345678",
        street="Am Markt 3",
        postcode="10178",
        city="Berlin",
        country="DE",
        language="de",
        time_zone="Europe/Berlin",
        consent_sms=True,
    )


@pytest.fixture
def contact_at(db):
    """A message to `customer` on `channel` at `at` (sent, unless `status` says)."""
    from messaging.models import Message
    from personalisation.models import Decision

    def make(customer, at, channel="email", status="sent", scores=None):
        decision = Decision.objects.create(
            customer=customer,
            action="reminder",
            channel=channel,
            send_at=at,
            tone="neutral",
            language="en",
            scores=scores or {},
            policy="test",
        )
        return Message.objects.create(
            creditor=customer.creditor,
            customer=customer,
            channel=channel,
            idempotency_key=f"test-{uuid.uuid4().hex}",
            status=status,
            decision=decision,
            action_date=at.astimezone(customer.zone).date(),
            scheduled_at=at,
            sent_at=at if status == "sent" else None,
            language="en",
            tone="neutral",
        )

    return make


@pytest.fixture
def reminder_items(db):
    """The Standard plan's friendly reminder (e-mail, SMS, letter) for one claim."""
    from dunning.models import Plan
    from personalisation.services import DueItem

    step = Plan.objects.get(name="Standard", creditor=None).steps.get(position=1)
    return [DueItem(1, step, Decimal("100.00"), "EUR", 3)]


@pytest.fixture
def decide_on(reminder_items):
    """personalisation.decide for the friendly reminder on `on`, at `now`."""
    from personalisation.services import decide

    def run(customer, on: date, now: datetime | None = None, rule=None):
        now = now or datetime.combine(on, datetime.min.time(), BERLIN)
        return decide(customer, reminder_items, on, now, rule=rule)

    return run
