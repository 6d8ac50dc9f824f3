"""The Twilio-compatible HTTP adapter against a fake Messages API on 127.0.0.1."""

import logging

import pytest

from messaging.backends.sms import (
    SMSError,
    SMSInterrupted,
    SMSTransientError,
    TwilioSMSBackend,
    TwilioWhatsAppBackend,
    to_e164,
)

from .fakes import Answer, free_port, running_messages_api

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "secret-token"
PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"


@pytest.fixture
def api(settings):
    with running_messages_api() as fake:
        settings.TWILIO_BASE_URL = fake.base_url
        settings.TWILIO_ACCOUNT_SID = SID
        settings.TWILIO_AUTH_TOKEN = TOKEN
        settings.TWILIO_SMS_FROM = "+4930123456"
        settings.TWILIO_WHATSAPP_FROM = "+4930999999"
        settings.TWILIO_STATUS_CALLBACK_URL = ""
        settings.TWILIO_TIMEOUT_SECONDS = 1
        yield fake


def test_sms_is_posted_as_form_with_basic_auth_and_returns_the_sid(api):
    """One POST to the account's Messages resource: To, From, Body, basic auth."""
    sid = TwilioSMSBackend().send("+4915112345678", "Bitte zahlen: 12,00 €")

    assert sid == "SM" + "1".zfill(32)
    [request] = api.received
    assert request.path == PATH
    assert (request.user, request.password) == (SID, TOKEN)
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.form == {
        "To": "+4915112345678",
        "From": "+4930123456",
        "Body": "Bitte zahlen: 12,00 €",
    }


def test_whatsapp_addresses_carry_the_whatsapp_prefix(api):
    """WhatsApp goes through the same API with `whatsapp:` on both numbers."""
    TwilioWhatsAppBackend().send("+4915112345678", "Hallo")

    [request] = api.received
    assert request.form["To"] == "whatsapp:+4915112345678"
    assert request.form["From"] == "whatsapp:+4930999999"


def test_status_callback_is_sent_when_configured(api, settings):
    """The provider is told where to report delivery when a URL is set."""
    settings.TWILIO_STATUS_CALLBACK_URL = "https://dunning.example/delivery/twilio/"

    TwilioSMSBackend().send("+4915112345678", "Hallo")

    assert api.received[0].form["StatusCallback"] == (
        "https://dunning.example/delivery/twilio/"
    )


def test_one_backend_reuses_its_session_for_several_messages(api):
    """A dispatch batch sends several messages through one backend instance."""
    backend = TwilioSMSBackend()
    sids = [backend.send("+4915112345678", f"text {n}") for n in range(3)]

    assert len(set(sids)) == 3
    assert [r.form["Body"] for r in api.received] == ["text 0", "text 1", "text 2"]


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_overload_and_server_errors_are_transient(api, status):
    """429 and 5xx mean "try again later"."""
    api.answer(Answer(status=status, body={"code": 20429, "message": "busy"}))

    with pytest.raises(SMSTransientError) as raised:
        TwilioSMSBackend().send("+4915112345678", "Hallo")

    assert raised.value.transient
    assert f"HTTP {status}" in str(raised.value)


def test_a_refused_number_is_permanent_and_logged_without_the_number(api, caplog):
    """A 4xx refusal fails for good; the provider's text (with the number)
    is neither in the error nor in the log, its code is."""
    api.answer(
        Answer(
            status=400,
            body={
                "code": 21211,
                "message": "The 'To' number +4915112345678 is not valid.",
                "status": 400,
            },
        )
    )

    with caplog.at_level(logging.WARNING), pytest.raises(SMSError) as raised:
        TwilioSMSBackend().send("+4915112345678", "Hallo")

    assert not raised.value.transient
    assert str(raised.value) == "provider refused (HTTP 400, code 21211)"
    assert "4915112345678" not in caplog.text


def test_a_provider_that_does_not_answer_in_time_may_have_the_message(api):
    """A read timeout after the request went out is neither retried nor a
    refusal: the provider took the message and only its answer is missing."""
    api.answer(Answer(status=201, delay=1.5))

    with pytest.raises(SMSInterrupted, match="no answer from the provider") as raised:
        TwilioSMSBackend().send("+4915112345678", "Hallo")

    assert not raised.value.transient
    assert "ReadTimeout" in str(raised.value)
    assert len(api.received) == 1
    assert api.sids == 1


def test_a_connection_dropped_after_the_request_may_have_the_message(api):
    """The provider closing the connection instead of answering is as unsure."""
    api.answer(Answer(status=201, drop=True))

    with pytest.raises(SMSInterrupted, match="ConnectionError"):
        TwilioSMSBackend().send("+4915112345678", "Hallo")

    assert len(api.received) == 1


def test_an_unreachable_provider_is_transient(api, settings):
    """Connection refused (nobody listening) is retried later."""
    settings.TWILIO_BASE_URL = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(SMSTransientError, match="not reachable"):
        TwilioSMSBackend().send("+4915112345678", "Hallo")


def test_missing_account_settings_refuse_to_start(api, settings):
    """Without account, token or sender nothing is sent and the error says why."""
    settings.TWILIO_AUTH_TOKEN = ""

    with pytest.raises(SMSError, match="TWILIO_AUTH_TOKEN") as raised:
        TwilioSMSBackend()

    assert not raised.value.transient
    assert api.received == []


@pytest.mark.parametrize(
    ("number", "country", "expected"),
    [
        ("0151 12345678", "DE", "+4915112345678"),
        ("+49 151 1234-5678", "GB", "+4915112345678"),
        ("0049 151 12345678", "DE", "+4915112345678"),
        ("07400 123456", "GB", "+447400123456"),
        ("(212) 555-0134", "US", "+12125550134"),
    ],
)
def test_numbers_are_normalised_to_e164_in_the_customers_country(
    number, country, expected
):
    """National numbers are read in the debtor's country; international stay."""
    assert to_e164(number, country) == expected


@pytest.mark.parametrize("number", ["", "12", "not a number", "+49 1"])
def test_impossible_numbers_are_refused_for_good(number):
    """A number that cannot exist fails at once instead of on every attempt."""
    with pytest.raises(SMSError) as raised:
        to_e164(number, "DE")

    assert not raised.value.transient
