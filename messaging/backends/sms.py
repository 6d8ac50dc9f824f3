"""Short-message backends: SMS and WhatsApp share one small interface.

A provider integration subclasses `BaseSMSBackend` and is named by its dotted path
in `settings.SMS_BACKEND` (or `WHATSAPP_BACKEND`). The file backends write one JSON
line per message, for development and tests.
"""

import json
import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


class SMSError(Exception):
    """The provider refused or failed to take a message."""


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


def get_sms_backend() -> BaseSMSBackend:
    return import_string(settings.SMS_BACKEND)()


def get_whatsapp_backend() -> BaseSMSBackend:
    path = getattr(settings, "WHATSAPP_BACKEND", None)
    return import_string(path or "messaging.backends.sms.FileWhatsAppBackend")()
