"""Log records: personal data masked, JSON lines, the request id."""

import io
import json
import logging
import os
import subprocess
import sys
from datetime import datetime

import pytest

from ops.logs import MaskPersonalData, RequestId, json_formatter, mask
from tests.conftest import REPO_DIR


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bounce for anna.berg+inv@example.co.uk", "bounce for [email]"),
        ("mandate DE89 3704 0044 0532 0130 00 signed", "mandate [iban] signed"),
        ("mandate DE89370400440532013000.", "mandate [iban]."),
        ("SMS to +49 170 1234567 failed", "SMS to [phone] failed"),
        ("call 0170/1234567 today", "call [phone] today"),
        ("call (030) 1234-5678", "call [phone]"),
        ("Twilio said +4915112345678: invalid", "Twilio said [phone]: invalid"),
    ],
)
def test_personal_data_is_masked(text, expected):
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "claim 9784423697 paid 1234.56 EUR on 2013-07-15",
        "run 42: 1500 claims, 0.75 s, batch 0",
        "message 12 planned for 2025-03-03T09:00:00+01:00",
    ],
)
def test_numbers_that_are_no_phone_numbers_stay(text):
    assert mask(text) == text


def record(msg, *args, **extra) -> logging.LogRecord:
    made = logging.getLogger("dunning.run").makeRecord(
        "dunning.run", logging.WARNING, __file__, 1, msg, args, None, extra=extra
    )
    return made


def test_the_filter_masks_arguments_and_extra_fields():
    made = record("reply from %s", "alice@example.com", iban="DE89370400440532013000")

    assert MaskPersonalData().filter(made)

    assert made.getMessage() == "reply from [email]"
    assert made.iban == "[iban]"


def test_the_filter_masks_a_traceback():
    logger = logging.getLogger("tests.ops.masked")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskPersonalData())
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("no account for bob@example.org")
        except ValueError:
            logger.exception("import failed")
    finally:
        logger.removeHandler(handler)

    written = stream.getvalue()
    assert "ValueError: no account for [email]" in written
    assert "bob@example.org" not in written


def test_json_lines_carry_time_level_logger_message_and_extras():
    made = record("run %d: %d steps", 7, 120, run_id=7)

    line = json_formatter().format(made)

    data = json.loads(line)
    assert "\n" not in line
    assert data["level"] == "WARNING"
    assert data["logger"] == "dunning.run"
    assert data["message"] == "run 7: 120 steps"
    assert data["run_id"] == 7
    assert datetime.fromisoformat(data["time"]).utcoffset() is not None


def test_json_lines_leave_out_the_request_object():
    made = record("Not Found: /p/[token]/", request=object(), status_code=404)

    data = json.loads(json_formatter().format(made))

    assert "request" not in data
    assert data["status_code"] == 404


def test_the_request_id_is_added_inside_a_request_only():
    from ops import logs

    outside = record("tick")
    RequestId().filter(outside)
    token = logs.request_id.set("req-1")
    try:
        inside = record("tick")
        RequestId().filter(inside)
    finally:
        logs.request_id.reset(token)

    assert not hasattr(outside, "request_id")
    assert inside.request_id == "req-1"


def test_log_format_json_configures_the_console_with_masking():
    script = (
        "import django, logging; django.setup(); "
        "logging.getLogger('dunning.run').warning("
        "'reply from %s', 'alice@example.com', extra={'run_id': 3})"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_DIR,
        env={**os.environ, "LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    [line] = result.stderr.splitlines()
    data = json.loads(line)
    assert data["message"] == "reply from [email]"
    assert data["run_id"] == 3
    assert data["logger"] == "dunning.run"
