"""Provider status formats → the fields of a `DeliveryEvent`.

- Mailgun's e-mail events webhook: a JSON body with `signature` (timestamp,
  token, signature: HMAC-SHA256 of timestamp + token under the webhook signing
  key) and `event-data` (`event`, `id`, `timestamp`, `severity` for failures,
  `message.headers.message-id`).
- Twilio's status callback for SMS and WhatsApp: the form fields `MessageSid`,
  `MessageStatus` and `ErrorCode`, signed in `X-Twilio-Signature`.

The signature checks are those of the replies webhooks (`replies.inbound`).
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils import timezone

from delivery.models import DeliveryEvent

Kind = DeliveryEvent.Kind
Bounce = DeliveryEvent.Bounce


class StatusError(ValueError):
    """The request is signed but not a status report that can be read."""


@dataclass
class Status:
    provider_message_id: str
    provider_event_id: str
    kind: str
    occurred_at: datetime
    bounce: str = ""
    detail: dict = field(default_factory=dict)


MAILGUN_EVENTS = {
    "accepted": Kind.QUEUED,
    "delivered": Kind.DELIVERED,
    "opened": Kind.OPENED,
    "clicked": Kind.CLICKED,
    "complained": Kind.COMPLAINED,
}


def mailgun_body(raw: bytes) -> dict:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StatusError(f"not JSON: {error}") from None
    if not isinstance(body, dict):
        raise StatusError("the body must be a JSON object")
    return body


def mailgun_status(body: dict) -> Status | None:
    """The event of a Mailgun webhook, or None for an event not tracked here
    (unsubscribed, stored)."""
    data = body.get("event-data")
    if not isinstance(data, dict):
        raise StatusError("missing event-data")
    event, event_id = data.get("event"), data.get("id")
    message_id = ((data.get("message") or {}).get("headers") or {}).get("message-id")
    if not (event and event_id and message_id):
        raise StatusError("event-data needs event, id and message.headers.message-id")
    try:
        occurred_at = datetime.fromtimestamp(float(data.get("timestamp")), UTC)
    except (TypeError, ValueError):
        raise StatusError("event-data.timestamp is not a Unix time") from None
    status = (data.get("delivery-status") or {}) if event == "failed" else {}
    detail = {
        "event": event,
        "severity": data.get("severity", ""),
        "reason": data.get("reason", ""),
        "code": status.get("code"),
        "description": str(status.get("description") or status.get("message") or "")[
            :300
        ],
    }
    if event == "failed":
        # Mailgun gives up on a permanent failure (a hard bounce) and retries a
        # temporary one (a soft bounce).
        bounce = Bounce.HARD if data.get("severity") == "permanent" else Bounce.SOFT
        detail["reason"] = detail["reason"] or f"{bounce} bounce"
        return Status(message_id, event_id, Kind.BOUNCED, occurred_at, bounce, detail)
    if event not in MAILGUN_EVENTS:
        return None
    return Status(message_id, event_id, MAILGUN_EVENTS[event], occurred_at, "", detail)


TWILIO_STATUSES = {
    "accepted": Kind.QUEUED,
    "queued": Kind.QUEUED,
    "sent": Kind.SENT,
    "delivered": Kind.DELIVERED,
    "read": Kind.OPENED,
}
# Error codes that say the number itself cannot receive messages (unknown
# destination, landline, invalid or non-mobile number, not on WhatsApp); others
# (carrier outage, queue overflow, account problems) are not the debtor's.
TWILIO_PERMANENT_ERRORS = {"21211", "21612", "21614", "30005", "30006", "63024"}


def twilio_status(fields) -> Status | None:
    sid, status = fields.get("MessageSid", ""), fields.get("MessageStatus", "")
    if not (sid and status):
        raise StatusError("missing MessageSid or MessageStatus")
    code = fields.get("ErrorCode", "") or ""
    detail = {"status": status, "error_code": code}
    # A status callback carries no event id: each status of a message is
    # reported once, so the pair identifies the report.
    event_id = f"{sid}:{status}"
    now = timezone.now()
    if status in ("undelivered", "failed"):
        if code in TWILIO_PERMANENT_ERRORS:
            detail["reason"] = f"{status}, error {code}"
            return Status(sid, event_id, Kind.BOUNCED, now, Bounce.HARD, detail)
        return Status(sid, event_id, Kind.FAILED, now, "", detail)
    if status not in TWILIO_STATUSES:
        return None
    return Status(sid, event_id, TWILIO_STATUSES[status], now, "", detail)
