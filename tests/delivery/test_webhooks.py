"""Provider status webhooks: signed reports stored once, forged ones refused."""

import uuid

import pytest

from delivery.models import DeliveryEvent

from .conftest import mailgun_payload, post_mailgun, post_twilio, provider_id

pytestmark = pytest.mark.django_db


def test_dispatch_records_sent_with_the_providers_id(sent_email, sent_sms):
    """A sent message has its provider's id and one "sent" event."""
    email_id, sms_id = provider_id(sent_email), provider_id(sent_sms)

    assert "@" in email_id and not email_id.startswith("<")
    assert len(sms_id) == 32
    assert list(sent_email.delivery_events.values_list("kind", flat=True)) == ["sent"]


def test_mailgun_delivered_event_is_stored(client, sent_email):
    response = post_mailgun(client, mailgun_payload(sent_email, "delivered"))

    assert response.status_code == 201
    event = sent_email.delivery_events.get(kind="delivered")
    assert event.provider == "mailgun"


@pytest.mark.parametrize("event", ["opened", "clicked", "complained"])
def test_mailgun_engagement_events_are_stored_by_kind(client, sent_email, event):
    response = post_mailgun(client, mailgun_payload(sent_email, event))

    assert response.status_code == 201
    assert sent_email.delivery_events.filter(kind=event).count() == 1


def test_mailgun_wrong_signature_is_refused_and_stores_nothing(client, sent_email):
    response = post_mailgun(client, mailgun_payload(sent_email, key="guessed"))

    assert response.status_code == 403
    assert not sent_email.delivery_events.exclude(kind="sent").exists()


def test_mailgun_without_a_signing_key_refuses_everything(client, sent_email, settings):
    settings.DELIVERY_MAILGUN_SIGNING_KEY = ""

    response = post_mailgun(client, mailgun_payload(sent_email, key=""))

    assert response.status_code == 403
    assert not sent_email.delivery_events.exclude(kind="sent").exists()


def test_mailgun_stale_timestamp_is_refused(client, sent_email):
    payload = mailgun_payload(sent_email, timestamp=1_600_000_000)

    assert post_mailgun(client, payload).status_code == 403


def test_mailgun_webhook_delivered_twice_stores_one_event(client, sent_email):
    payload = mailgun_payload(sent_email, "delivered")

    first = post_mailgun(client, payload)
    again = post_mailgun(client, payload)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["stored"] is False
    assert sent_email.delivery_events.filter(kind="delivered").count() == 1


def test_mailgun_reused_token_with_another_event_is_refused(client, sent_email):
    """The signature does not cover the body: a replayed token may not carry a
    new event."""
    token = uuid.uuid4().hex
    assert post_mailgun(client, mailgun_payload(sent_email, token=token)).status_code
    forged = mailgun_payload(sent_email, "failed", token=token, severity="permanent")

    assert post_mailgun(client, forged).status_code == 403
    assert not sent_email.delivery_events.filter(kind="bounced").exists()


def test_mailgun_unknown_message_is_acknowledged_without_storing(client, sent_email):
    payload = mailgun_payload(sent_email)
    payload["event-data"]["message"]["headers"]["message-id"] = "other@mail.example"

    response = post_mailgun(client, payload)

    assert response.status_code == 200
    assert response.json() == {"stored": False, "why": "unknown message"}


def test_mailgun_unreadable_event_gets_406(client, sent_email):
    payload = mailgun_payload(sent_email)
    del payload["event-data"]["id"]

    assert post_mailgun(client, payload).status_code == 406


def test_twilio_status_callback_is_stored(client, sent_sms):
    fields = {"MessageSid": provider_id(sent_sms), "MessageStatus": "delivered"}

    response = post_twilio(client, fields)

    assert response.status_code == 201
    event = sent_sms.delivery_events.get(kind="delivered")
    assert (event.provider, event.provider_event_id) == (
        "twilio",
        f"{fields['MessageSid']}:delivered",
    )


def test_twilio_wrong_signature_is_refused(client, sent_sms):
    fields = {"MessageSid": provider_id(sent_sms), "MessageStatus": "delivered"}

    response = post_twilio(client, fields, token="guessed")

    assert response.status_code == 403
    assert not sent_sms.delivery_events.filter(kind="delivered").exists()


def test_twilio_without_an_auth_token_refuses_everything(client, sent_sms, settings):
    settings.DELIVERY_TWILIO_AUTH_TOKEN = ""
    fields = {"MessageSid": provider_id(sent_sms), "MessageStatus": "delivered"}

    assert post_twilio(client, fields, token="").status_code == 403


def test_twilio_callback_delivered_twice_stores_one_event(client, sent_sms):
    fields = {"MessageSid": provider_id(sent_sms), "MessageStatus": "sent"}

    first, again = post_twilio(client, fields), post_twilio(client, fields)

    assert (first.status_code, again.status_code) == (201, 200)
    assert sent_sms.delivery_events.filter(provider="twilio").count() == 1


def test_twilio_carrier_failure_is_a_failure_not_a_bad_number(client, sent_sms):
    """An outage (30008) fails the message but leaves the number usable."""
    fields = {
        "MessageSid": provider_id(sent_sms),
        "MessageStatus": "undelivered",
        "ErrorCode": "30008",
    }

    assert post_twilio(client, fields).status_code == 201

    event = sent_sms.delivery_events.get(provider="twilio")
    assert (event.kind, event.bounce) == (DeliveryEvent.Kind.FAILED, "")
    sent_sms.customer.refresh_from_db()
    assert sent_sms.customer.phone_undeliverable_since is None
    assert sent_sms.delivery.failed_at is not None
