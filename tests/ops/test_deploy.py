"""Production settings, read from the environment as a deployment sets it."""

import json
import os
import secrets
import subprocess
import sys

from tests.conftest import REPO_DIR

SCRIPT = """
import json
import django
from django.conf import settings
from django.core.management import call_command

django.setup()
call_command("check", "--deploy", "--fail-level", "WARNING")
names = [
    "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER", "SECURE_REFERRER_POLICY", "X_FRAME_OPTIONS",
    "PORTAL_PAYMENT_PROVIDER",
]
print(json.dumps({name: getattr(settings, name) for name in names}))
"""


def run_in_production(**overrides) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DEBUG", "SECURE_", "DJANGO_SETTINGS"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "dunning.example.com",
            **overrides,
        }
    )
    return subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = run_in_production()

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SECURE_REFERRER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
        "PORTAL_PAYMENT_PROVIDER": "",
    }


def test_check_deploy_fails_when_secure_cookies_are_turned_off():
    result = run_in_production(SECURE_COOKIES="false")

    assert result.returncode != 0
    assert "security.W012" in result.stderr
    assert "security.W016" in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = run_in_production(SECRET_KEY="")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
