"""A trained classifier shared by the session, secrets, and a claim in dunning."""

from datetime import timedelta

import pytest

from tests.admin.helpers import open_case

GENERIC_SECRET = "generic-secret"
MAILGUN_KEY = "mailgun-signing-key"
TWILIO_TOKEN = "twilio-auth-token"


@pytest.fixture(scope="session")
def model_file(tmp_path_factory):
    """Trained on first use (as in a fresh clone), then reused by every test."""
    return tmp_path_factory.mktemp("models") / "reply_intent.joblib"


@pytest.fixture(autouse=True)
def replies_settings(settings, model_file):
    settings.REPLIES_MODEL_PATH = model_file
    settings.REPLIES_CONFIDENCE_THRESHOLD = 0.6
    settings.REPLIES_PAUSE_DAYS = 14
    settings.REPLIES_WEBHOOK_SECRET = GENERIC_SECRET
    settings.REPLIES_MAILGUN_SIGNING_KEY = MAILGUN_KEY
    settings.REPLIES_TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.REPLIES_SIGNATURE_MAX_AGE = 900
    return settings


@pytest.fixture
def today(creditor):
    return creditor.local_today()


@pytest.fixture
def claim(alice, make_invoice, today):
    """Alice's claim of EUR 120, three weeks overdue."""
    return make_invoice(
        alice, amount="120.00", due_on=today - timedelta(days=21), number="R-2025-0042"
    )


@pytest.fixture
def case(claim):
    return open_case(claim)
