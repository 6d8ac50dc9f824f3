"""API clients of two creditors, their tokens, and django-q2 run in-process."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from api.models import ApiClient


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Throttle counters live in the cache; each test starts at zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def sync_tasks(settings, monkeypatch):
    """django-q2 runs each queued task at once, in this process."""
    from django_q.conf import Conf

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def beta(db):
    """A second creditor, whose data client A must never see."""
    from customers.models import Creditor

    return Creditor.objects.create(
        name="Beta AG", country="DE", time_zone="Europe/Berlin"
    )


def make_client(name, creditors, scope=ApiClient.Scope.WRITE, **kw):
    client = ApiClient(name=name, scope=scope, **kw)
    token = client.new_token()
    client.save()
    client.creditors.set(creditors)
    return client, token


@pytest.fixture
def erp(creditor):
    """Acme's ERP: reads and writes Acme's data. Returns (client, token)."""
    return make_client("Acme ERP", [creditor])


@pytest.fixture
def token(erp) -> str:
    return erp[1]


@pytest.fixture
def api(token) -> APIClient:
    """A DRF test client authenticated as Acme's ERP."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def beta_api(beta) -> APIClient:
    _client, token = make_client("Beta ERP", [beta])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def invoice_item(n: int, customer="C-ALICE", amount="100.00", **kw) -> dict:
    return {
        "external_id": f"INV-{n:05d}",
        "customer_external_id": customer,
        "currency": "EUR",
        "amount": amount,
        "issued_on": "2025-02-01",
        "due_on": "2025-03-03",
        **kw,
    }
