"""dispatch_due with retries: transient failures wait and come back, permanent
ones fail at once, an accepted message is never sent twice."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse

from customers.models import Customer
from messaging.models import Message
from messaging.services import dispatch_due
from payments.services import payment_record
from portal.models import PortalLink

from .factories import SCHEDULED_AT, make_message
from .fakes import Answer, running_messages_api, running_smtp_server

NOW = SCHEDULED_AT + timedelta(minutes=10)
SID = "AC0123456789abcdef0123456789abcdef"


@pytest.fixture
def carla(creditor):
    """A consumer in Hamburg with a national mobile number, SMS agreed."""
    return Customer.objects.create(
        creditor=creditor,
        external_id="C-CARLA",
        name="Carla Conrad",
        phone="0151 12345678",
        country="DE",
        email="carla@example.com",
        city="Hamburg",
        language="en",
        consent_sms=True,
        consent_whatsapp=True,
    )


@pytest.fixture
def api(settings):
    """The Twilio adapter for SMS, pointed at a fake provider; 3 attempts."""
    with running_messages_api() as fake:
        settings.SMS_BACKEND = "messaging.backends.sms.TwilioSMSBackend"
        settings.TWILIO_BASE_URL = fake.base_url
        settings.TWILIO_ACCOUNT_SID = SID
        settings.TWILIO_AUTH_TOKEN = "token"
        settings.TWILIO_SMS_FROM = "+4930123456"
        settings.TWILIO_TIMEOUT_SECONDS = 1
        settings.DISPATCH_MAX_ATTEMPTS = 3
        settings.DISPATCH_RETRY_BASE_SECONDS = 300
        settings.DISPATCH_RETRY_FACTOR = 3
        yield fake


def sms_message(customer, make_invoice, amount="40.00", **kw):
    return make_message(
        customer, [(make_invoice(customer, amount), 1)], channel="sms", **kw
    )


def test_a_provider_error_is_retried_after_the_backoff_and_then_sent(
    carla, make_invoice, api
):
    """503 puts the message back with its attempt, error and next time; the
    dispatch at that time sends it, once, to the E.164 number."""
    api.answer(Answer(status=503, body={"code": 20503}))
    message = sms_message(carla, make_invoice)

    first = dispatch_due(now=NOW)

    assert first["total"] == {"retried": 1}
    message.refresh_from_db()
    assert message.status == Message.Status.PLANNED
    assert message.attempts == 1
    assert message.next_attempt_at == NOW + timedelta(minutes=5)
    assert message.last_error == (
        "SMSTransientError: provider unavailable (HTTP 503, code 20503)"
    )
    assert PortalLink.objects.get(message=message).revoked_at is not None

    early = dispatch_due(now=NOW + timedelta(minutes=4))
    assert early["total"] == {}
    assert len(api.received) == 1

    second = dispatch_due(now=NOW + timedelta(minutes=5))

    assert second["total"] == {"sent": 1}
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.attempts == 2
    assert message.next_attempt_at is None
    assert message.provider_id == "SM" + "1".zfill(32)
    assert message.recipient == "+4915112345678"
    assert [r.form["To"] for r in api.received] == ["+4915112345678"] * 2
    links = PortalLink.objects.filter(message=message)
    assert [link.revoked_at is None for link in links.order_by("id")] == [False, True]
    assert dispatch_due(now=NOW + timedelta(days=1))["total"] == {}
    assert len(api.received) == 2


def test_backoff_grows_and_the_last_attempt_fails_with_the_reason(
    carla, make_invoice, api
):
    """5 min, then 15 min; the third failure of three fails the message."""
    api.answer(*[Answer(status=500)] * 3)
    message = sms_message(carla, make_invoice)
    waits = []

    moment = NOW
    for _attempt in range(3):
        dispatch_due(now=moment)
        message.refresh_from_db()
        if message.next_attempt_at:
            waits.append(message.next_attempt_at - moment)
            moment = message.next_attempt_at

    assert waits == [timedelta(minutes=5), timedelta(minutes=15)]
    assert message.status == Message.Status.FAILED
    assert message.attempts == 3
    assert message.next_attempt_at is None
    assert message.status_reason == (
        "SMSTransientError: provider unavailable (HTTP 500) (after 3 attempts)"
    )
    assert len(api.received) == 3


def test_a_refused_number_fails_at_once(carla, make_invoice, api):
    """A 4xx from the provider is not retried."""
    api.answer(Answer(status=400, body={"code": 21211}))
    message = sms_message(carla, make_invoice)

    result = dispatch_due(now=NOW)

    assert result["total"] == {"failed": 1}
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert message.attempts == 1
    assert message.status_reason == "SMSError: provider refused (HTTP 400, code 21211)"
    assert dispatch_due(now=NOW + timedelta(hours=3))["total"] == {}
    assert len(api.received) == 1


def test_an_impossible_number_fails_without_asking_the_provider(
    carla, make_invoice, api
):
    """A phone number that cannot exist is a permanent failure before sending."""
    Customer.objects.filter(pk=carla.pk).update(phone="12")
    message = sms_message(carla, make_invoice)

    assert dispatch_due(now=NOW)["total"] == {"failed": 1}
    message.refresh_from_db()
    assert message.status_reason == "phone number not valid"
    assert api.received == []


def test_a_claim_paid_before_the_retry_cancels_it(carla, make_invoice, api):
    """Every attempt checks the claims again: paid in between → cancelled."""
    api.answer(Answer(status=502))
    invoice = make_invoice(carla, "40.00")
    message = make_message(carla, [(invoice, 1)], channel="sms")
    dispatch_due(now=NOW)

    invoice.refresh_from_db()
    payment_record(
        customer=carla,
        invoice=invoice,
        amount=invoice.open_amount,
        currency=invoice.currency,
        received_on=NOW.date(),
        actor="test",
    )
    result = dispatch_due(now=NOW + timedelta(minutes=5))

    assert result["total"] == {"cancelled": 1}
    message.refresh_from_db()
    assert message.status == Message.Status.CANCELLED
    assert message.status_reason == "paid"
    assert len(api.received) == 1


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (Answer(status=201, delay=1.5), "no answer from the provider (ReadTimeout)"),
        (
            Answer(status=201, drop=True),
            "no answer from the provider (ConnectionError)",
        ),
    ],
)
def test_an_sms_the_provider_took_without_answering_is_never_sent_again(
    carla, make_invoice, api, answer, error
):
    """The provider queued the SMS, then stalled past the read timeout (or
    dropped the connection): the message fails as interrupted, with its link
    left valid, and no later dispatch sends it a second time."""
    api.answer(answer)
    message = sms_message(carla, make_invoice)

    result = dispatch_due(now=NOW)

    assert result["total"] == {"failed": 1}
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert message.status_reason == (
        f"interrupted while sending ({error}): the provider may have it, so it "
        "is not sent again by itself: check the provider, then plan it again"
    )
    assert message.last_error == f"interrupted: {error}"
    assert (message.attempts, message.next_attempt_at) == (1, None)
    assert PortalLink.objects.get(message=message).revoked_at is None
    for later in (timedelta(minutes=5), timedelta(hours=2), timedelta(days=1)):
        assert dispatch_due(now=NOW + later)["total"] == {}
    assert len(api.received) == 1
    assert api.sids == 1


# A database that refuses to store a message's body: the failure comes from the
# database itself, inside the test's transaction.
REFUSE_BODY_TRIGGER = {
    "sqlite": [
        "CREATE TRIGGER refuse_body BEFORE UPDATE OF body ON messaging_message "
        "WHEN NEW.body != '' BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_body() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN IF NEW.body <> '' THEN RAISE EXCEPTION 'disk full'; END IF; "
        "RETURN NEW; END $$",
        "CREATE TRIGGER refuse_body BEFORE UPDATE ON messaging_message "
        "FOR EACH ROW EXECUTE FUNCTION refuse_body()",
    ],
}


def test_a_message_the_provider_accepted_is_sent_even_if_storing_it_fails(
    carla, make_invoice, api
):
    """The provider has the message: a failure while recording the details
    still leaves it sent (with the provider's id), never planned again."""
    message = sms_message(carla, make_invoice)
    with connection.cursor() as cursor:
        for statement in REFUSE_BODY_TRIGGER[connection.vendor]:
            cursor.execute(statement)

    result = dispatch_due(now=NOW)

    assert result["total"] == {"sent": 1}
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.provider_id == "SM" + "1".zfill(32)
    assert message.body == ""
    assert dispatch_due(now=NOW + timedelta(hours=1))["total"] == {}
    assert len(api.received) == 1


def test_batches_go_oldest_due_first_and_stop_at_the_limit(
    carla, make_invoice, api, settings
):
    """Batches of two, at most three in all: the three oldest by due time,
    a retry counting from its next attempt, not its first planned time."""
    settings.DISPATCH_BATCH_SIZE = 2
    api.answer(Answer(status=503))
    retried = sms_message(carla, make_invoice, "10.00")
    dispatch_due(now=NOW)  # retried is due again at NOW + 5 min
    later = NOW + timedelta(minutes=30)
    planned = [
        sms_message(carla, make_invoice, f"{20 + n}.00", scheduled_at=at)
        for n, at in enumerate(
            [
                NOW + timedelta(minutes=10),
                NOW - timedelta(minutes=5),
                NOW + timedelta(minutes=1),
                NOW + timedelta(minutes=20),
            ]
        )
    ]

    result = dispatch_due(now=later, limit=3)

    assert result["total"] == {"sent": 3}
    sent = Message.objects.filter(status="sent").order_by("sent_at", "id")
    # The retry was planned first, but is due only from its next attempt.
    assert list(sent.values_list("pk", flat=True)) == [
        planned[1].pk,
        planned[2].pk,
        retried.pk,
    ]
    assert set(
        Message.objects.filter(status="planned").values_list("pk", flat=True)
    ) == {planned[0].pk, planned[3].pk}
    rest = dispatch_due(now=later)
    assert rest["total"] == {"sent": 2}


def test_whatsapp_goes_through_the_same_api_with_prefixed_numbers(
    carla, make_invoice, api, settings
):
    """A WhatsApp message is posted as `whatsapp:+49…` from the WhatsApp sender."""
    settings.WHATSAPP_BACKEND = "messaging.backends.sms.TwilioWhatsAppBackend"
    settings.TWILIO_WHATSAPP_FROM = "+4930999999"
    message = make_message(
        carla, [(make_invoice(carla, "40.00"), 1)], channel="whatsapp"
    )

    assert dispatch_due(now=NOW)["total"] == {"sent": 1}

    [request] = api.received
    assert request.form["To"] == "whatsapp:+4915112345678"
    assert request.form["From"] == "whatsapp:+4930999999"
    assert "40" in request.form["Body"]
    message.refresh_from_db()
    assert message.provider_id == "SM" + "1".zfill(32)
    assert message.body == request.form["Body"]


@pytest.mark.parametrize(
    ("rcpt_reply", "outcome"),
    [("451 4.7.1 greylisted, try later", "retried"), ("550 5.1.1 no user", "failed")],
)
def test_smtp_temporary_errors_are_retried_and_permanent_ones_fail(
    carla, make_invoice, settings, rcpt_reply, outcome
):
    """An SMTP server's 4xx puts the e-mail back; a 5xx fails it."""
    with running_smtp_server(rcpt_reply) as smtp:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = smtp.port
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        message = make_message(carla, [(make_invoice(carla, "40.00"), 1)])

        result = dispatch_due(now=NOW)

    assert result["total"] == {outcome: 1}
    message.refresh_from_db()
    assert message.attempts == 1
    assert rcpt_reply.split()[0] in message.last_error
    assert smtp.accepted == 0
    if outcome == "retried":
        assert message.status == Message.Status.PLANNED
        assert message.next_attempt_at == NOW + timedelta(minutes=5)
    else:
        assert message.status == Message.Status.FAILED


def smtp_settings(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""


def test_an_email_cut_off_after_its_data_is_never_sent_again(
    carla, make_invoice, settings
):
    """The server took the message and hung up before answering: the e-mail
    may be queued there, so it fails as interrupted and no later dispatch
    hands it over a second time."""
    with running_smtp_server(drop_after_data=True) as smtp:
        smtp_settings(settings, smtp.port)
        message = make_message(carla, [(make_invoice(carla, "40.00"), 1)])

        first = dispatch_due(now=NOW)
        later = dispatch_due(now=NOW + timedelta(hours=3))

    assert first["total"] == {"failed": 1}
    assert later["total"] == {}
    assert smtp.accepted == 1
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert message.status_reason.startswith("interrupted while sending")
    assert message.last_error.startswith("interrupted: SMTPServerDisconnected")


def test_an_smtp_session_closed_while_idle_is_retried(carla, make_invoice, settings):
    """A dead session is found before anything is sent: a plain retry."""
    with running_smtp_server(drop_on_noop=True) as smtp:
        smtp_settings(settings, smtp.port)
        message = make_message(carla, [(make_invoice(carla, "40.00"), 1)])

        result = dispatch_due(now=NOW)

    assert result["total"] == {"retried": 1}
    assert smtp.accepted == 0
    message.refresh_from_db()
    assert message.status == Message.Status.PLANNED
    assert "SMTPServerDisconnected" in message.last_error


def test_the_admin_shows_attempts_next_attempt_and_last_error(
    admin_client, carla, make_invoice, api
):
    """An operator sees why a message waits and when it is tried again."""
    api.answer(Answer(status=503, body={"code": 20503}))
    message = sms_message(carla, make_invoice)
    dispatch_due(now=NOW)

    response = admin_client.get(
        reverse("admin:messaging_message_change", args=[message.pk])
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'Attempts:</label>\s*<div class="readonly">1</div>', html)
    assert "Next attempt at" in html
    assert "provider unavailable (HTTP 503, code 20503)" in html
