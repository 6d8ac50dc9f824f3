"""Secrets, signed provider requests and messages that went out for real."""

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
from django.urls import reverse

from customers.models import Customer
from delivery.models import Delivery
from messaging.services import dispatch_due
from tests.messaging.factories import SCHEDULED_AT, make_message

MAILGUN_KEY = "mailgun-signing-key"
TWILIO_TOKEN = "twilio-auth-token"
NOW = SCHEDULED_AT


@pytest.fixture(autouse=True)
def delivery_settings(settings):
    settings.DELIVERY_MAILGUN_SIGNING_KEY = MAILGUN_KEY
    settings.DELIVERY_TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.DELIVERY_SIGNATURE_MAX_AGE = 900
    settings.DELIVERY_EMAIL_PROVIDER = "mailgun"
    settings.DELIVERY_SMS_PROVIDER = "twilio"
    settings.DELIVERY_ALERT_WINDOW_HOURS = 24
    settings.DELIVERY_ALERT_BASELINE_DAYS = 7
    settings.DELIVERY_ALERT_MIN_MESSAGES = 20
    settings.DELIVERY_ALERT_FACTOR = 3
    settings.DELIVERY_ALERT_MIN_RATE = 0.10
    return settings


@pytest.fixture
def carla(creditor):
    """A consumer in Hamburg who agreed to SMS and reads e-mail too."""
    return Customer.objects.create(
        creditor=creditor,
        external_id="C-CARLA",
        name="Carla Conrad",
        phone="+4915112345678",
        email="carla@example.com",
        street="Elbchaussee 9",
        postcode="22763",
        city="Hamburg",
        language="en",
        consent_sms=True,
    )


def send(customer, invoice, *, channel="email", position=1):
    """A message for one claim at `position`, dispatched through its back-end."""
    message = make_message(customer, [(invoice, position)], channel=channel)
    summary = dispatch_due(now=SCHEDULED_AT, message_ids=[message.pk])
    assert summary["total"] == {"sent": 1}, summary
    message.refresh_from_db()
    return message


@pytest.fixture
def sent_email(alice, make_invoice):
    """Alice's friendly reminder, sent by e-mail."""
    return send(alice, make_invoice(alice, amount="120.00"))


@pytest.fixture
def sent_sms(carla, make_invoice):
    """Carla's friendly reminder, sent by SMS."""
    return send(carla, make_invoice(carla, amount="80.00"), channel="sms")


def provider_id(message) -> str:
    return Delivery.objects.get(message=message).provider_message_id


def mailgun_payload(
    message,
    event="delivered",
    *,
    key=MAILGUN_KEY,
    token=None,
    event_id=None,
    timestamp=None,
    **data,
) -> dict:
    timestamp = str(timestamp or int(time.time()))
    token = token or uuid.uuid4().hex
    signature = hmac.new(
        key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": {
            "event": event,
            "id": event_id or uuid.uuid4().hex[:22],
            "timestamp": time.time(),
            "recipient": "alice@example.com",
            "message": {"headers": {"message-id": provider_id(message)}},
            **data,
        },
    }


def post_mailgun(client, payload: dict):
    return client.post(
        reverse("delivery:mailgun"),
        json.dumps(payload),
        content_type="application/json",
    )


def post_twilio(client, fields: dict, *, token=TWILIO_TOKEN):
    url = "http://testserver" + reverse("delivery:twilio")
    data = url + "".join(f"{name}{fields[name]}" for name in sorted(fields))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return client.post(
        reverse("delivery:twilio"),
        fields,
        headers={"X-Twilio-Signature": base64.b64encode(digest).decode()},
    )
