"""Replies built as the inbound channels hand them over."""

import uuid

from django.utils import timezone

from replies.services import Inbound


def inbound(text: str, *, sender="alice@example.com", channel="email", **fields):
    values = {
        "channel": channel,
        "provider": "generic",
        "provider_message_id": f"<{uuid.uuid4().hex}@mail.example>",
        "sender": sender,
        "subject": "",
        "text": text,
        "received_at": timezone.now(),
        "raw": text,
    }
    return Inbound(**{**values, **fields})
