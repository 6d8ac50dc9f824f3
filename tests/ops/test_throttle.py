"""Admin login throttling: five wrong passwords a minute, then no login at all."""

from types import SimpleNamespace

import django_ratelimit.core
import pytest
from django.core.cache import cache

PASSWORD = "right-horse-battery"


@pytest.fixture(autouse=True)
def frozen_window(monkeypatch):
    """One fixed instant, so the attempts never straddle two windows."""
    monkeypatch.setattr(
        django_ratelimit.core, "time", SimpleNamespace(time=lambda: 1_750_000_000)
    )
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def olga(django_user_model):
    return django_user_model.objects.create_user(
        "olga", password=PASSWORD, is_staff=True, is_superuser=True
    )


def login(client, username, password):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR="203.0.113.9",
    )


@pytest.mark.django_db
def test_the_sixth_attempt_after_five_wrong_passwords_is_refused(client, olga):
    for _ in range(5):
        wrong = login(client, "olga", "guess")
        assert wrong.status_code == 200
        assert "_auth_user_id" not in client.session

    refused = login(client, "olga", PASSWORD)

    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_username_is_locked_from_another_address_too(client, olga):
    for _ in range(5):
        login(client, "Olga", "guess")

    refused = client.post(
        "/admin/login/",
        {"username": "olga", "password": PASSWORD},
        REMOTE_ADDR="198.51.100.4",
    )

    assert refused.status_code == 429


@pytest.mark.django_db
def test_four_wrong_passwords_still_let_the_right_one_in(client, olga):
    for _ in range(4):
        login(client, "olga", "guess")

    accepted = login(client, "olga", PASSWORD)

    assert accepted.status_code == 302
    assert client.session["_auth_user_id"] == str(olga.pk)


@pytest.mark.django_db
def test_the_lock_ends_with_the_window(client, olga, monkeypatch):
    for _ in range(5):
        login(client, "olga", "guess")

    monkeypatch.setattr(
        django_ratelimit.core, "time", SimpleNamespace(time=lambda: 1_750_000_120)
    )
    accepted = login(client, "olga", PASSWORD)

    assert accepted.status_code == 302
