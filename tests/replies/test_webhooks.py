"""The inbound webhooks: signatures refused with 403, re-deliveries stored once."""

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
from django.urls import reverse

from replies.models import Reply

from .conftest import GENERIC_SECRET, MAILGUN_KEY, TWILIO_TOKEN

pytestmark = pytest.mark.django_db

PAID = "I already paid invoice R-2025-0042 last week, please check."


def post_generic(client, payload: dict, secret: str = GENERIC_SECRET):
    body = json.dumps(payload).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        reverse("replies:generic"),
        body,
        content_type="application/json",
        headers={"X-Replies-Signature": f"sha256={digest}"},
    )


def generic_payload(**fields) -> dict:
    return {
        "channel": "email",
        "id": "<generic-1@mail.example>",
        "from": "Alice@Example.com",
        "subject": "Re: Reminder",
        "text": PAID,
        "received_at": "2025-03-12T09:30:00+01:00",
        **fields,
    }


def test_generic_stores_and_triages_a_signed_reply(client, case):
    response = post_generic(client, generic_payload())

    assert response.status_code == 201
    reply = Reply.objects.get(pk=response.json()["reply"])
    assert reply.provider == "generic"
    assert reply.sender == "alice@example.com"
    assert reply.status == Reply.Status.PROPOSED
    assert list(reply.cases.all()) == [case]


def test_generic_refuses_a_bad_signature(client, case):
    response = post_generic(client, generic_payload(), secret="guessed")

    assert response.status_code == 403
    assert not Reply.objects.exists()


def test_generic_refuses_everything_without_a_secret(client, case, settings):
    settings.REPLIES_WEBHOOK_SECRET = ""

    response = post_generic(client, generic_payload(), secret="")

    assert response.status_code == 403
    assert not Reply.objects.exists()


def test_generic_redelivery_is_a_no_op(client, case):
    first = post_generic(client, generic_payload())
    again = post_generic(client, generic_payload(text="changed on the way"))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == {**first.json(), "created": False}
    assert Reply.objects.get().text == PAID


def test_generic_explains_what_it_cannot_read(client, case):
    response = post_generic(client, generic_payload(channel="fax"))

    assert response.status_code == 400
    assert response.json() == {"error": "unknown channel 'fax'"}


def mailgun_fields(key=MAILGUN_KEY, timestamp=None, token=None, **fields) -> dict:
    timestamp = str(timestamp or int(time.time()))
    token = token or uuid.uuid4().hex
    signature = hmac.new(
        key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    headers = [
        ["Message-Id", "<mg-1@mail.example>"],
        ["In-Reply-To", "<x@acme.example>"],
        ["Date", "Wed, 12 Mar 2025 09:30:00 +0100"],
    ]
    return {
        "timestamp": timestamp,
        "token": token,
        "signature": signature,
        "sender": "bounces+alice@example.com",
        "from": "Alice Ahrens <alice@example.com>",
        "recipient": "billing@acme.example",
        "subject": "Re: Zahlungserinnerung R-2025-0042",
        "body-plain": "Schon bezahlt!\n\nAm 01.03.2025 schrieb Acme:\n> Bitte zahlen",
        "stripped-text": "Schon bezahlt!",
        "message-headers": json.dumps(headers),
        **fields,
    }


def test_mailgun_stores_a_signed_forward(client, case):
    response = client.post(reverse("replies:mailgun"), mailgun_fields())

    assert response.status_code == 201
    reply = Reply.objects.get()
    assert (reply.provider, reply.provider_message_id) == (
        "mailgun",
        "<mg-1@mail.example>",
    )
    assert reply.sender == "alice@example.com"
    assert reply.cleaned_text == "Schon bezahlt!"
    assert reply.in_reply_to == "<x@acme.example>"
    assert list(reply.cases.all()) == [case]


def test_mailgun_raw_mime(client, case):
    mime = (
        "From: alice@example.com\r\nMessage-ID: <mime-1@mail.example>\r\n"
        "Subject: R-2025-0042\r\n\r\nI paid this yesterday.\r\n"
    )

    response = client.post(
        reverse("replies:mailgun_mime"), mailgun_fields(**{"body-mime": mime})
    )

    assert response.status_code == 201
    assert Reply.objects.get().provider_message_id == "<mime-1@mail.example>"


@pytest.mark.parametrize(
    "fields",
    [
        {"key": "not-the-key"},
        {"timestamp": int(time.time()) - 3600},
    ],
    ids=["bad signature", "stale timestamp"],
)
def test_mailgun_refuses(client, case, fields):
    response = client.post(reverse("replies:mailgun"), mailgun_fields(**fields))

    assert response.status_code == 403
    assert not Reply.objects.exists()


def test_mailgun_refuses_a_reused_token_with_another_message(client, case):
    token = uuid.uuid4().hex
    first = client.post(reverse("replies:mailgun"), mailgun_fields(token=token))
    headers = json.dumps([["Message-Id", "<forged@mail.example>"]])
    forged = client.post(
        reverse("replies:mailgun"),
        mailgun_fields(token=token, **{"message-headers": headers}),
    )

    assert (first.status_code, forged.status_code) == (201, 403)
    assert Reply.objects.count() == 1


def twilio_post(client, fields: dict, token: str = TWILIO_TOKEN):
    url = "http://testserver" + reverse("replies:twilio")
    data = url + "".join(f"{name}{fields[name]}" for name in sorted(fields))
    signature = base64.b64encode(
        hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    ).decode()
    return client.post(
        reverse("replies:twilio"), fields, headers={"X-Twilio-Signature": signature}
    )


def sms(**fields) -> dict:
    return {
        "MessageSid": "SM" + "1" * 32,
        "AccountSid": "AC" + "2" * 32,
        "From": "+4915112345678",
        "To": "+4930123456",
        "Body": "Hab schon bezahlt",
        "NumMedia": "0",
        **fields,
    }


def test_twilio_sms_from_a_known_phone(client, case, alice):
    alice.phone = "+4915112345678"
    alice.save()

    response = twilio_post(client, sms())

    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    assert response.content == b"<Response/>"
    reply = Reply.objects.get()
    assert (reply.channel, reply.provider) == ("sms", "twilio")
    assert reply.customer == alice
    assert list(reply.cases.all()) == [case]


def test_twilio_whatsapp(client, case):
    twilio_post(client, sms(From="whatsapp:+4915112345678"))

    reply = Reply.objects.get()
    assert (reply.channel, reply.sender) == ("whatsapp", "+4915112345678")


def test_twilio_refuses_a_bad_signature(client, case):
    response = twilio_post(client, sms(), token="guessed")

    assert response.status_code == 403
    assert not Reply.objects.exists()


def test_twilio_redelivery_is_stored_once(client, case):
    twilio_post(client, sms())
    twilio_post(client, sms())

    assert Reply.objects.count() == 1
