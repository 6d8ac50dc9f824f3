"""Short-message backends: SMS and WhatsApp share one small interface.

A provider integration subclasses `BaseSMSBackend` and is named by its dotted path
in `settings.SMS_BACKEND` (or `WHATSAPP_BACKEND`). The file backends write one JSON
line per message, for development and tests; `TwilioSMSBackend` and
`TwilioWhatsAppBackend` talk to a Twilio-compatible Messages REST API.

A backend raises `SMSTransientError` when trying again later may work (the
provider is down or overloaded, or could not be reached at all), `SMSError` when
it will not (the provider refuses the number or the message), and
`SMSInterrupted` when the request went out but no answer came back: the
provider may have taken the message, so it must not be sent again by itself.

Twilio's Messages API takes no idempotency key from the sender
(`I-Twilio-Idempotency-Token` is a header Twilio puts on its own webhook
requests), so a blind retry after a read timeout could reach the debtor twice.
"""

import json
import logging
import uuid
from pathlib import Path

import phonenumbers
import requests
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string
from urllib3.exceptions import NewConnectionError

logger = logging.getLogger(__name__)


class SMSError(Exception):
    """The provider refused or failed to take a message."""

    transient = False


class SMSTransientError(SMSError):
    """The provider could not take the message now; a later attempt may work."""

    transient = True


class SMSInterrupted(SMSError):
    """The request reached the provider, its answer did not reach us.

    Whether the message went out is unknown: neither retried nor a plain
    failure (messaging.services marks it interrupted).
    """


def to_e164(number: str, country: str) -> str:
    """A phone number in E.164 (+4915112345678), national forms read in `country`.

    Raises SMSError for a number that cannot be a real one, so the message
    fails at once instead of being refused by the provider on every attempt.
    """
    raw = (number or "").strip()
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        parsed = phonenumbers.parse(raw, (country or "").upper() or None)
    except phonenumbers.NumberParseException:
        raise SMSError("phone number not readable") from None
    if not phonenumbers.is_valid_number(parsed):
        raise SMSError("phone number not valid")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class BaseSMSBackend:
    def send(self, to: str, text: str) -> str:
        """Hand one message to the provider; return the provider's id for it."""
        raise NotImplementedError


class FileSMSBackend(BaseSMSBackend):
    """Appends one JSON line per message to `SMS_FILE_PATH/<date>.jsonl`."""

    channel = "sms"
    file_prefix = ""

    def directory(self) -> Path:
        return Path(settings.SMS_FILE_PATH)

    def send(self, to: str, text: str) -> str:
        if not to:
            raise SMSError("no phone number")
        sent_at = timezone.now()
        message_id = uuid.uuid4().hex
        line = json.dumps(
            {
                "id": message_id,
                "channel": self.channel,
                "to": to,
                "text": text,
                "sent_at": sent_at.isoformat(),
            },
            ensure_ascii=False,
        )
        directory = self.directory()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.file_prefix}{timezone.localdate(sent_at)}.jsonl"
        # One write of one line in append mode: concurrent workers do not
        # interleave their lines on a local file system.
        with path.open("a", encoding="utf-8") as stream:
            stream.write(line + "\n")
        return message_id


class FileWhatsAppBackend(FileSMSBackend):
    """Like the SMS file backend, in its own `whatsapp-<date>.jsonl` file."""

    channel = "whatsapp"
    file_prefix = "whatsapp-"

    def directory(self) -> Path:
        return Path(
            getattr(settings, "WHATSAPP_FILE_PATH", None) or settings.SMS_FILE_PATH
        )


class TwilioSMSBackend(BaseSMSBackend):
    """SMS through a Twilio-compatible Messages API.

    `POST {TWILIO_BASE_URL}/2010-04-01/Accounts/{sid}/Messages.json` with the
    form fields To, From, Body and, if set, StatusCallback; HTTP basic auth
    with the account sid and auth token. One instance holds one HTTP session,
    so a dispatch batch reuses its connection.
    """

    channel = "sms"
    address_prefix = ""

    def __init__(self):
        self.base_url = settings.TWILIO_BASE_URL
        self.account_sid = settings.TWILIO_ACCOUNT_SID
        self.sender = self.sender_setting()
        self.status_callback = settings.TWILIO_STATUS_CALLBACK_URL
        self.timeout = settings.TWILIO_TIMEOUT_SECONDS
        if not (self.account_sid and settings.TWILIO_AUTH_TOKEN and self.sender):
            # A configuration problem: every message would fail the same way,
            # and a later attempt with the same settings cannot succeed.
            raise SMSError(
                f"{type(self).__name__} needs TWILIO_ACCOUNT_SID, "
                "TWILIO_AUTH_TOKEN and its sender number"
            )
        self.session = requests.Session()
        self.session.auth = (self.account_sid, settings.TWILIO_AUTH_TOKEN)

    def sender_setting(self) -> str:
        return settings.TWILIO_SMS_FROM

    def url(self) -> str:
        return f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def send(self, to: str, text: str) -> str:
        if not to:
            raise SMSError("no phone number")
        fields = {
            "To": f"{self.address_prefix}{to}",
            "From": f"{self.address_prefix}{self.sender}",
            "Body": text,
        }
        if self.status_callback:
            fields["StatusCallback"] = self.status_callback
        try:
            response = self.session.post(self.url(), data=fields, timeout=self.timeout)
        except (
            requests.Timeout,
            requests.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
        ) as exc:
            if _never_sent(exc):
                raise SMSTransientError(
                    f"provider not reachable ({type(exc).__name__})"
                ) from exc
            # A read timeout or a connection dropped after the request went
            # out: the provider may have queued the message already.
            raise SMSInterrupted(
                f"no answer from the provider ({type(exc).__name__})"
            ) from exc

        status = response.status_code
        if 200 <= status < 300:
            try:
                sid = response.json()["sid"]
            except (ValueError, KeyError, TypeError):
                # Accepted all the same: it must not be sent again.
                logger.warning("%s: accepted without a sid", self.channel)
                sid = ""
            return str(sid)
        code = _provider_code(response)
        detail = f"HTTP {status}" + (f", code {code}" if code else "")
        logger.warning("%s provider answered %s", self.channel, detail)
        if status == 429 or status >= 500:
            raise SMSTransientError(f"provider unavailable ({detail})")
        raise SMSError(f"provider refused ({detail})")


class TwilioWhatsAppBackend(TwilioSMSBackend):
    """WhatsApp through the same API: both addresses as `whatsapp:+49…`."""

    channel = "whatsapp"
    address_prefix = "whatsapp:"

    def sender_setting(self) -> str:
        return settings.TWILIO_WHATSAPP_FROM


def _never_sent(exc: Exception) -> bool:
    """Whether the request failed before any byte of it reached the provider:
    no connection could be made (refused, unresolvable, connect timeout)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError) or not exc.args:
        return False
    # requests wraps urllib3's MaxRetryError, whose reason is the cause.
    reason = getattr(exc.args[0], "reason", exc.args[0])
    return isinstance(reason, NewConnectionError)


def _provider_code(response) -> str:
    """The provider's error code from its JSON answer; its message is not used
    because it repeats the phone number."""
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return ""
    return str(code) if code is not None else ""


def get_sms_backend() -> BaseSMSBackend:
    return import_string(settings.SMS_BACKEND)()


def get_whatsapp_backend() -> BaseSMSBackend:
    path = getattr(settings, "WHATSAPP_BACKEND", None)
    return import_string(path or "messaging.backends.sms.FileWhatsAppBackend")()
