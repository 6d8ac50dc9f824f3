"""The Idempotency-Key header: a retried write gets its first answer again."""

import pytest

from api.models import IdempotencyKey
from payments.models import Invoice
from tests.api.conftest import invoice_item

pytestmark = pytest.mark.django_db


def bulk(api, items, key):
    return api.post(
        "/api/v1/invoices/bulk/",
        {"items": items},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_the_same_key_and_body_replay_the_first_response(api, alice):
    """The replay says "created" as the first answer did, and books nothing."""
    items = [invoice_item(1), invoice_item(2)]
    first = bulk(api, items, "key-1")

    Invoice.objects.update(description="changed since")
    again = bulk(api, items, "key-1")

    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    assert again.json()["created"] == 2
    assert again["Idempotent-Replayed"] == "true"
    assert Invoice.objects.count() == 2


def test_the_same_key_with_another_body_is_refused(api, alice):
    bulk(api, [invoice_item(1)], "key-1")

    response = bulk(api, [invoice_item(2)], "key-1")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Invoice.objects.count() == 1


def test_a_refused_request_does_not_spend_its_key(api, alice):
    """A batch refused as invalid wrote nothing; corrected, it goes through."""
    bad = bulk(api, [invoice_item(1, amount="0")], "key-1")

    good = bulk(api, [invoice_item(1)], "key-1")

    assert bad.status_code == 400
    assert good.status_code == 200
    assert good.json()["created"] == 1


def test_keys_belong_to_their_client(api, beta_api, alice, beta):
    """Another client's key of the same name is another key."""
    bulk(api, [invoice_item(1)], "shared-name")

    response = beta_api.post(
        "/api/v1/customers/bulk/",
        {"items": [{"external_id": "B-1", "name": "Berta"}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="shared-name",
    )

    assert response.status_code == 200
    assert IdempotencyKey.objects.filter(key="shared-name").count() == 2


def test_an_overlong_key_is_refused(api, alice):
    response = bulk(api, [invoice_item(1)], "k" * 256)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
