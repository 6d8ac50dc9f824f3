"""A hard bounce marks the address bad and plans the claims on the next channel."""

import subprocess

import pytest

from customers.models import Customer
from delivery.models import Delivery, DeliveryEvent
from delivery.services import event_record
from messaging.models import Message
from messaging.services import dispatch_due

from .conftest import mailgun_payload, post_mailgun, post_twilio, provider_id, send

pytestmark = pytest.mark.django_db


def hard_bounce(client, message):
    payload = mailgun_payload(
        message,
        "failed",
        severity="permanent",
        reason="bounce",
        **{"delivery-status": {"code": 550, "description": "No such mailbox"}},
    )
    response = post_mailgun(client, payload)
    assert response.status_code == 201
    return response


def test_hard_bounce_plans_the_claims_again_by_letter(client, sent_email):
    """Alice's e-mail bounces: her address is bad and a letter is planned."""
    item_ids = list(sent_email.items.values_list("pk", flat=True))

    hard_bounce(client, sent_email)

    sent_email.refresh_from_db()
    alice = Customer.objects.get(pk=sent_email.customer_id)
    assert alice.email_undeliverable_since is not None
    assert sent_email.status == Message.Status.FAILED
    assert sent_email.status_reason.startswith("bounced (bounce)")
    fallback = Delivery.objects.get(message=sent_email).fallback_message
    assert fallback.channel == "letter"
    assert fallback.status == Message.Status.PLANNED
    assert list(fallback.items.values_list("pk", flat=True)) == item_ids
    reason = fallback.decision.reasons["channel"]
    assert reason.startswith(f"fallback after message {sent_email.pk} by email")
    assert fallback.decision.scores["channel"]["email"].startswith(
        "address undeliverable"
    )
    assert f"message {fallback.pk} by letter" in sent_email.status_reason


def test_fallback_letter_goes_out_with_the_claim(client, sent_email, outbox):
    hard_bounce(client, sent_email)
    fallback = Delivery.objects.get(message=sent_email).fallback_message

    summary = dispatch_due(now=fallback.scheduled_at, message_ids=[fallback.pk])

    assert summary["total"] == {"sent": 1}
    fallback.refresh_from_db()
    number = fallback.items.get().invoice.number
    text = subprocess.run(
        ["pdftotext", fallback.file_path, "-"], capture_output=True, check=True
    ).stdout.decode()
    assert number in text


def test_a_bounce_reported_twice_plans_one_fallback(client, sent_email):
    """Two reports of the bounce (even with different event ids) plan one
    message: never a second one on the same channel."""
    hard_bounce(client, sent_email)
    event_record(
        message_id=sent_email.pk,
        kind="bounced",
        bounce="hard",
        provider="mailgun",
        provider_event_id="another-report",
        occurred_at=sent_email.sent_at,
        actor="test",
    )

    assert Message.objects.filter(customer=sent_email.customer).count() == 2


def test_soft_bounce_keeps_the_address_and_plans_nothing(client, sent_email):
    payload = mailgun_payload(sent_email, "failed", severity="temporary")

    assert post_mailgun(client, payload).status_code == 201

    event = sent_email.delivery_events.get(kind="bounced")
    assert event.bounce == DeliveryEvent.Bounce.SOFT
    sent_email.refresh_from_db()
    assert sent_email.status == Message.Status.SENT
    assert sent_email.customer.email_undeliverable_since is None
    assert Message.objects.count() == 1


def test_no_channel_left_plans_nothing_and_says_why(client, creditor, make_invoice):
    """Without a postal address and consent for SMS, a bounced e-mail has no
    fallback."""
    dora = Customer.objects.create(
        creditor=creditor, external_id="C-DORA", name="Dora", email="d@example.com"
    )
    message = send(dora, make_invoice(dora))

    hard_bounce(client, message)

    message.refresh_from_db()
    assert Message.objects.filter(customer=dora).count() == 1
    assert message.status == Message.Status.FAILED
    assert "no fallback: no allowed channel" in message.status_reason
    assert message.items.count() == 1


def test_bad_sms_number_falls_back_to_email(client, sent_sms):
    """Twilio says the number is a landline (30006): the phone is marked bad,
    WhatsApp is skipped with it, and the claims go by e-mail."""
    fields = {
        "MessageSid": provider_id(sent_sms),
        "MessageStatus": "undelivered",
        "ErrorCode": "30006",
    }

    assert post_twilio(client, fields).status_code == 201

    carla = Customer.objects.get(pk=sent_sms.customer_id)
    assert carla.phone_undeliverable_since is not None
    fallback = Delivery.objects.get(message=sent_sms).fallback_message
    assert fallback.channel == "email"
    assert "fallback after" in fallback.decision.reasons["channel"]


def test_claim_paid_since_is_not_planned_again(client, sent_email):
    from payments.services import payment_record

    item = sent_email.items.select_related("invoice").get()
    customer = Customer.objects.select_related("creditor").get(
        pk=sent_email.customer_id
    )
    payment_record(
        customer=customer,
        amount=item.invoice.open_amount,
        currency="EUR",
        received_on=customer.creditor.local_today(),
        invoice_ids=[item.invoice_id],
        actor="test",
    )

    hard_bounce(client, sent_email)

    sent_email.refresh_from_db()
    assert Message.objects.count() == 1
    assert sent_email.status_reason.endswith("no fallback: no claim is still due")


def test_the_rule_of_the_bounced_message_still_limits_the_channels(
    client, sent_email, make_rule_set, make_rule
):
    """The manager's rule allowed e-mail only: no letter after the bounce."""
    rule = make_rule(make_rule_set(), "E-mail only", channels=["email"])
    sent_email.decision.scores = {"rules": {"rule_id": rule.pk, "checks": []}}
    sent_email.decision.save()

    hard_bounce(client, sent_email)

    sent_email.refresh_from_db()
    assert Message.objects.count() == 1
    assert "no fallback: rule #100 'E-mail only'" in sent_email.status_reason
    assert "allows only email" in sent_email.status_reason
