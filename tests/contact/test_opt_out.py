"""Opt-outs: the unsubscribe link, the mail provider's one-click POST, SMS STOP."""

import email
import email.policy
import hashlib
import hmac
import json
from datetime import date, timedelta

import pytest
from django.urls import reverse

from contact.links import read_unsubscribe_token, unsubscribe_token, unsubscribe_url
from contact.models import OptOut
from messaging.models import Message
from messaging.services import dispatch_due
from tests.messaging.factories import SCHEDULED_AT, make_message

NOW = SCHEDULED_AT + timedelta(hours=1)
SECRET = "inbound-test-secret"


def sent_emails(outbox):
    separator = b"\n" + b"-" * 79 + b"\n"
    found = []
    for path in sorted((outbox / "email").glob("*.log")):
        for raw in path.read_bytes().split(separator):
            if raw.strip():
                found.append(email.message_from_bytes(raw, policy=email.policy.default))
    return found


def part(mail, content_type: str) -> str:
    for piece in mail.walk():
        if piece.get_content_type() == content_type:
            return piece.get_content()
    raise AssertionError(f"no {content_type} part")


def unsubscribe_path(customer, channel="email") -> str:
    return reverse("contact:unsubscribe", args=[unsubscribe_token(customer, channel)])


def post_sms(client, payload: dict, secret: str = SECRET):
    body = json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        reverse("contact:sms_inbound"),
        data=body,
        content_type="application/json",
        headers={"X-Signature": f"sha256={signature}"},
    )


# --- The link in every e-mail ----------------------------------------------------


def test_an_email_carries_the_unsubscribe_link_and_one_click_headers(
    alice, make_invoice, outbox
):
    make_message(alice, [(make_invoice(alice, "120.00"), 1)])

    assert dispatch_due(now=NOW)["total"] == {"sent": 1}

    [mail] = sent_emails(outbox)
    # Folded onto its own line as it is long. The token carries the second it
    # was signed in, so it is read back rather than made again here.
    header = str(mail["List-Unsubscribe"]).strip()
    assert header.startswith("<") and header.endswith(">")
    link = header[1:-1]
    prefix = unsubscribe_url(alice, "email").rsplit("/", 2)[0] + "/"
    assert link.startswith(prefix)
    token = link.removeprefix(prefix).strip("/")
    assert read_unsubscribe_token(token) == (alice.pk, "email")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Alice reads German: the footer is hers, in text and in HTML.
    assert f"keine E-Mails mehr zu Ihrem Konto erhalten möchten: {link}" in part(
        mail, "text/plain"
    )
    assert f'href="{link}"' in part(mail, "text/html")


def test_an_sms_has_no_unsubscribe_link(dora, make_invoice, outbox):
    make_message(dora, [(make_invoice(dora, "40.00"), 1)], channel="sms")

    dispatch_due(now=NOW)

    text = Message.objects.get(customer=dora).body
    assert "/contact/unsubscribe/" not in text


# --- The unsubscribe page -----------------------------------------------------


def test_opening_the_link_asks_first_and_records_nothing(client, alice):
    """A mail scanner that follows every link unsubscribes nobody."""
    response = client.get(unsubscribe_path(alice))

    assert response.status_code == 200
    assert b"Acme" in response.content
    assert not OptOut.objects.exists()
    alice.refresh_from_db()
    assert alice.consent_email is True


def test_confirming_records_the_opt_out_and_withdraws_the_consent(client, alice):
    response = client.post(unsubscribe_path(alice), {"confirm": "1"})

    assert response.status_code == 200
    opt_out = OptOut.objects.get(customer=alice)
    assert (opt_out.channel, opt_out.source, opt_out.actor) == (
        "email",
        OptOut.Source.EMAIL_UNSUBSCRIBE,
        "link:debtor",
    )
    alice.refresh_from_db()
    assert alice.consent_email is False


def test_the_mail_providers_one_click_post_records_at_once(client, alice):
    """RFC 8058: the provider posts without a CSRF cookie; the token authorises."""
    client.handler.enforce_csrf_checks = True

    response = client.post(unsubscribe_path(alice), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert OptOut.objects.get(customer=alice).actor == "link:one-click"


def test_a_second_click_adds_no_second_opt_out(client, alice):
    client.post(unsubscribe_path(alice), {"confirm": "1"})
    client.post(unsubscribe_path(alice), {"List-Unsubscribe": "One-Click"})

    assert OptOut.objects.filter(customer=alice).count() == 1


def test_a_post_without_confirmation_records_nothing(client, alice):
    response = client.post(unsubscribe_path(alice), {})

    assert response.status_code == 400
    assert not OptOut.objects.exists()


def test_a_forged_token_shows_nothing_of_anyone(client, alice):
    token = unsubscribe_token(alice, "email")
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    response = client.get(reverse("contact:unsubscribe", args=[forged]))

    assert response.status_code == 404
    assert b"Alice Ahrens" not in response.content
    assert b"Acme " not in response.content


def test_after_unsubscribing_a_planned_email_is_cancelled(
    client, alice, make_invoice, outbox
):
    message = make_message(alice, [(make_invoice(alice, "120.00"), 1)])
    client.post(unsubscribe_path(alice), {"confirm": "1"})

    assert dispatch_due(now=NOW)["total"] == {"cancelled": 1}

    message.refresh_from_db()
    assert message.status == "cancelled"
    assert message.status_reason == "no consent for the channel"
    assert sent_emails(outbox) == []


def test_the_next_decision_leaves_out_the_channel(client, dora, decide_on):
    assert decide_on(dora, date(2025, 3, 10)).channel == "email"

    client.post(unsubscribe_path(dora), {"confirm": "1"})
    dora.refresh_from_db()
    decision = decide_on(dora, date(2025, 3, 10))

    assert decision.channel not in ("", "email")


# --- SMS STOP -------------------------------------------------------------------


def test_a_signed_stop_opts_the_number_out_of_sms(
    client, settings, dora, make_invoice, outbox
):
    settings.CONTACT_SMS_WEBHOOK_SECRET = SECRET
    message = make_message(dora, [(make_invoice(dora, "40.00"), 1)], channel="sms")

    # The provider sends the number in the 00 form, with a trailing "!".
    response = post_sms(
        client, {"from": "004915112345678", "text": "Stop!", "provider": "x"}
    )

    assert response.status_code == 200
    assert response.json() == {"opted_out": 1}
    opt_out = OptOut.objects.get(customer=dora)
    assert (opt_out.channel, opt_out.source) == ("sms", OptOut.Source.SMS_STOP)
    dora.refresh_from_db()
    assert dora.consent_sms is False
    assert dispatch_due(now=NOW)["total"] == {"cancelled": 1}
    message.refresh_from_db()
    assert message.status == "cancelled"


def test_another_reply_is_no_opt_out(client, settings, dora):
    settings.CONTACT_SMS_WEBHOOK_SECRET = SECRET

    response = post_sms(client, {"from": "+4915112345678", "text": "Stop the fees"})

    assert response.json() == {"opted_out": 0}
    dora.refresh_from_db()
    assert dora.consent_sms is True


@pytest.mark.parametrize("secret", ["another-secret", ""])
def test_a_wrongly_signed_stop_is_refused(client, settings, dora, secret):
    settings.CONTACT_SMS_WEBHOOK_SECRET = SECRET

    response = post_sms(client, {"from": "+4915112345678", "text": "STOP"}, secret)

    assert response.status_code == 403
    assert not OptOut.objects.exists()


def test_without_a_secret_the_webhook_refuses_everything(client, settings, dora):
    settings.CONTACT_SMS_WEBHOOK_SECRET = ""

    response = post_sms(client, {"from": "+4915112345678", "text": "STOP"}, "")

    assert response.status_code == 503
    assert not OptOut.objects.exists()


def test_a_stop_without_sender_is_a_clear_error(client, settings):
    settings.CONTACT_SMS_WEBHOOK_SECRET = SECRET

    response = post_sms(client, {"text": "STOP"})

    assert response.status_code == 400
    assert "from" in response.json()["error"]
