"""Typed environment readers: bad values stop the start-up, naming the variable."""

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_rate
from tests.conftest import REPO_DIR


@pytest.mark.parametrize("value", ["30/h", "5/10m", "100/d", "1/s"])
def test_a_rate_per_period_is_read(monkeypatch, value):
    monkeypatch.setenv("PORTAL_RATE_PER_IP", value)

    assert env_rate("PORTAL_RATE_PER_IP", "30/h") == value


@pytest.mark.parametrize("value", ["lots", "30", "30/week", "0/h", "-1/h", "h/30"])
def test_a_bad_rate_is_refused_with_the_variables_name(monkeypatch, value):
    monkeypatch.setenv("PORTAL_RATE_PER_IP", value)

    with pytest.raises(ImproperlyConfigured, match="PORTAL_RATE_PER_IP=.* not a rate"):
        env_rate("PORTAL_RATE_PER_IP", "30/h")


def test_an_unset_rate_is_the_default(monkeypatch):
    monkeypatch.delenv("PORTAL_RATE_PER_LINK", raising=False)

    assert env_rate("PORTAL_RATE_PER_LINK", "5/h") == "5/h"


def test_the_start_up_stops_on_a_bad_portal_rate():
    """Before, a bad rate passed `check` and made the link pages answer 500."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO_DIR,
        env={"PATH": "/usr/bin:/bin", "PORTAL_RATE_PER_LINK": "lots"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "PORTAL_RATE_PER_LINK='lots' is not a rate" in result.stderr
