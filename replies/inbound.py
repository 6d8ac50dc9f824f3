"""Inbound formats: a provider's request → `Inbound`, and its signature check.

- generic: our own JSON, signed with HMAC-SHA256 over the body
  (`X-Replies-Signature: sha256=<hex>`, secret `REPLIES_WEBHOOK_SECRET`).
- Mailgun: a route's `forward()` POST (form fields `from`, `subject`,
  `body-plain`, `message-headers`, or `body-mime` for a URL ending in "mime"),
  signed with HMAC-SHA256 of timestamp + token under the webhook signing key;
  stale timestamps and reused tokens are refused (the cache must be shared by
  all web processes for the latter to hold across them).
- Twilio: the inbound SMS / WhatsApp form POST (`MessageSid`, `From`, `Body`),
  signed in `X-Twilio-Signature`: base64 HMAC-SHA1 of the URL followed by the
  sorted form fields, under the account's auth token.

A missing secret refuses every request: an unsigned webhook would let anyone
pause a case.
"""

import base64
import hashlib
import hmac
import json
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from replies.services import Inbound
from replies.text import address_of, header_date, parse_email


class InboundError(ValueError):
    """The request is signed but not a reply we can read."""


def _equal(expected: str, given: str) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), given.encode())


def email_inbound(raw: bytes, *, provider: str) -> Inbound:
    """A whole RFC 5322 message, as a mailbox or a raw-MIME webhook hands it over."""
    parsed = parse_email(raw)
    return Inbound(
        channel="email",
        provider=provider,
        provider_message_id=parsed.message_id,
        sender=parsed.sender,
        subject=parsed.subject,
        text=parsed.text,
        received_at=parsed.received_at,
        raw=raw.decode("utf-8", "replace"),
        in_reply_to=parsed.in_reply_to,
        references=parsed.references,
    )


# --- generic JSON -------------------------------------------------------------------


def generic_signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def generic_verified(secret: str, body: bytes, signature: str) -> bool:
    return bool(secret) and _equal(generic_signature(secret, body), signature)


def generic_inbound(body: bytes) -> Inbound:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InboundError(f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise InboundError("the body must be a JSON object")
    missing = [name for name in ("channel", "id", "from") if not data.get(name)]
    if missing:
        raise InboundError(f"missing: {', '.join(missing)}")
    if data["channel"] not in ("email", "sms", "whatsapp"):
        raise InboundError(f"unknown channel {data['channel']!r}")
    received_at = timezone.now()
    if data.get("received_at"):
        try:
            received_at = datetime.fromisoformat(str(data["received_at"]))
        except ValueError:
            raise InboundError("received_at is not an ISO date-time") from None
        if timezone.is_naive(received_at):
            raise InboundError("received_at needs a UTC offset")
    return Inbound(
        channel=data["channel"],
        provider="generic",
        provider_message_id=str(data["id"]),
        sender=str(data["from"]).strip().lower(),
        subject=str(data.get("subject") or ""),
        text=str(data.get("text") or ""),
        received_at=received_at,
        raw=body.decode(),
        in_reply_to=str(data.get("in_reply_to") or ""),
        references=str(data.get("references") or ""),
    )


# --- Mailgun ------------------------------------------------------------------------


def mailgun_signature(key: str, timestamp: str, token: str) -> str:
    return hmac.new(
        key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
    ).hexdigest()


def mailgun_verified(key: str, fields, *, max_age: int, now: float) -> bool:
    """The signature is Mailgun's and fresh; it covers timestamp and token only,
    so a captured one could carry another body: `mailgun_token_used` refuses a
    token seen before, the age limit bounds how long tokens are remembered."""
    timestamp, token = fields.get("timestamp", ""), fields.get("token", "")
    if not (key and timestamp.isdigit() and token):
        return False
    if abs(now - int(timestamp)) > max_age:
        return False
    return _equal(mailgun_signature(key, timestamp, token), fields.get("signature"))


def _token_key(token: str) -> str:
    return "replies:mailgun-token:" + hashlib.sha256(token.encode()).hexdigest()


def mailgun_token_used(token: str) -> bool:
    return cache.get(_token_key(token)) is not None


def mailgun_token_remember(token: str, *, max_age: int) -> None:
    """Remember a token once its request was stored: a failed attempt that
    Mailgun retries with the same token is still accepted."""
    cache.set(_token_key(token), 1, timeout=2 * max_age)


def mailgun_inbound(fields) -> Inbound:
    if fields.get("body-mime"):
        return email_inbound(fields["body-mime"].encode(), provider="mailgun")
    headers = _mailgun_headers(fields.get("message-headers", ""))
    if not headers.get("message-id"):
        raise InboundError("message-headers has no Message-Id")
    return Inbound(
        channel="email",
        provider="mailgun",
        provider_message_id=headers["message-id"],
        sender=address_of(fields.get("from") or fields.get("sender")),
        subject=fields.get("subject", ""),
        text=fields.get("body-plain", ""),
        received_at=header_date(headers.get("date")),
        raw=json.dumps({name: fields.get(name) for name in fields}, ensure_ascii=False),
        in_reply_to=headers.get("in-reply-to", ""),
        references=headers.get("references", ""),
    )


def _mailgun_headers(value: str) -> dict[str, str]:
    """`message-headers` is a JSON list of [name, value]; names compared lower."""
    try:
        pairs = json.loads(value or "[]")
    except json.JSONDecodeError:
        raise InboundError("message-headers is not JSON") from None
    headers: dict[str, str] = {}
    for pair in pairs:
        if isinstance(pair, list) and len(pair) == 2:
            headers.setdefault(str(pair[0]).lower(), str(pair[1]))
    return headers


# --- Twilio -------------------------------------------------------------------------


def twilio_signature(token: str, url: str, fields) -> str:
    data = url + "".join(
        f"{name}{value}" for name in sorted(fields) for value in fields.getlist(name)
    )
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_verified(token: str, url: str, fields, signature: str) -> bool:
    return bool(token) and _equal(twilio_signature(token, url, fields), signature)


def twilio_inbound(fields) -> Inbound:
    sid, sender = fields.get("MessageSid", ""), fields.get("From", "")
    if not (sid and sender):
        raise InboundError("missing MessageSid or From")
    channel = "sms"
    if sender.startswith("whatsapp:"):
        channel, sender = "whatsapp", sender.removeprefix("whatsapp:")
    return Inbound(
        channel=channel,
        provider="twilio",
        provider_message_id=sid,
        sender=sender,
        subject="",
        text=fields.get("Body", ""),
        received_at=timezone.now(),
        raw=json.dumps({name: fields.get(name) for name in fields}),
    )
