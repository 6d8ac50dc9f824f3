"""Log records for operators: a request id on each, personal data masked, JSON.

`LOG_FORMAT=json` writes one JSON object per line (python-json-logger) with the
time in ISO 8601 with its zone, the level, the logger, the message, the request
id inside a request and any `extra` fields. Personal data never belongs in a
log message (STYLE.md), but an exception text or a third-party library can
carry an address anyway; `MaskPersonalData` is the net under that rule.
"""

import logging
import re
from contextvars import ContextVar

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

# Set by ops.middleware.request_id for the length of one request.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Country, check digits, then 11 to 30 letters and digits, grouped by four or
# written without spaces (DE89 3704 0044 0532 0130 00).
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
# International (+49 …, 0049 …) or national with a leading zero (0170 1234567,
# 030/123456): a bare run of digits is an invoice or customer number and stays.
PHONE = re.compile(r"(?<![\w.+(])\(?(?:\+|0)\d[\d ()/-]{5,18}\d(?![\w.])")


def mask(text: str) -> str:
    text = EMAIL.sub("[email]", text)
    text = IBAN.sub("[iban]", text)
    return PHONE.sub("[phone]", text)


# The attributes every LogRecord has; anything else came in through `extra`.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class MaskPersonalData(logging.Filter):
    """Masks e-mail addresses, IBANs and phone numbers in the message, the
    traceback and string `extra` fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            # Formatted here: a formatter prints `exc_text` when it is set. The
            # exception itself stays on the record for other handlers (tests,
            # error reporters); `json_formatter` masks its own formatting.
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask(record.exc_text)
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, mask(value))
        return True


class RequestId(logging.Filter):
    """Adds `request_id` to the records written while a request is served."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = request_id.get()
        if current is not None:
            record.request_id = current
        return True


class _MaskedJsonFormatter(JsonFormatter):
    """python-json-logger formats the exception again from `exc_info`."""

    def formatException(self, ei) -> str:  # noqa: N802 (logging's name)
        return mask(super().formatException(ei))


def json_formatter() -> JsonFormatter:
    return _MaskedJsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
        # Django's request loggers pass the request object along; its repr
        # holds the path, and a personal link's token with it.
        reserved_attrs=[*RESERVED_ATTRS, "request", "server_time"],
    )
