"""API clients of two creditors, their tokens, and django-q2 run in-process."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from api.models import ApiClient
from customers.models import Customer
from payments.services import credit_note_post, payment_record
from tests.messaging.factories import make_message


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


@pytest.fixture
def beta_rows(beta, make_invoice):
    """One of everything, owned by creditor Beta."""
    from payments.instalments import instalment_plan_record

    customer = Customer.objects.create(
        creditor=beta, external_id="B-1", name="Berta Brandt", email="b@example.com"
    )
    invoice = make_invoice(customer, amount="300.00", number="B-INV-1")
    other = make_invoice(customer, amount="40.00", number="B-INV-2")
    message = make_message(customer, [(invoice, 1)])
    note = credit_note_post(
        invoice=other,
        external_id="B-CN-1",
        amount=Decimal("10"),
        currency="EUR",
        issued_on=date(2025, 3, 5),
        actor="test",
    )
    payment = payment_record(
        customer=customer,
        amount=Decimal("5"),
        currency="EUR",
        received_on=date(2025, 3, 6),
        actor="test",
        external_id="B-PAY-1",
        invoice=other,
    )
    plan, _ = instalment_plan_record(
        creditor=beta,
        invoice=other,
        external_id="B-PLAN-1",
        agreed_on=date(2025, 3, 7),
        instalments=[(date(2025, 4, 1), Decimal("25"))],
        actor="test",
    )
    return {
        "creditor": beta.pk,
        "customers": customer.pk,
        "invoices": invoice.pk,
        "cases": invoice.case.pk,
        "messages": message.pk,
        "credit-notes": note.pk,
        "payments": payment.pk,
        "instalment-plans": plan.pk,
    }
