"""Tokens, scopes and throttling, over real HTTP."""

import pytest
import requests
from django.utils import timezone

from api.models import ApiClient
from tests.api.conftest import invoice_item, make_client

pytestmark = pytest.mark.django_db(transaction=True)


def get(live_server, token=None, path="invoices/"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{live_server.url}/api/v1/{path}", headers=headers, timeout=30)


def test_a_valid_token_reads(live_server, token):
    response = get(live_server, token)

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_no_token_is_401_with_a_bearer_challenge(live_server, erp):
    response = get(live_server)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == "not_authenticated"


def test_an_unknown_token_is_401(live_server, erp):
    assert get(live_server, "dk_not-a-token").status_code == 401


def test_a_revoked_token_is_401(live_server, erp):
    client, token = erp
    client.revoked_at = timezone.now()
    client.save()

    response = get(live_server, token)

    assert response.status_code == 401
    assert response.json()["detail"] == "This token was revoked."


def test_only_the_hash_of_a_token_is_stored(erp):
    client, token = erp

    assert token not in {client.token_hash, client.token_hint}
    assert ApiClient.objects.filter(token_hash__contains=token[3:]).count() == 0


def test_a_read_only_token_cannot_write(live_server, creditor, alice):
    _client, token = make_client("Reporting", [creditor], scope="read")

    read = get(live_server, token)
    write = requests.post(
        f"{live_server.url}/api/v1/invoices/bulk/",
        json={"items": [invoice_item(1)]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )

    assert read.status_code == 200
    assert write.status_code == 403
    assert write.json()["detail"] == "This token may only read."


def test_each_client_is_throttled_at_its_own_rate(live_server, creditor, beta):
    """The fourth request in a minute is refused for a 3/min client only."""
    _slow, slow_token = make_client("Slow ERP", [creditor], throttle_rate="3/min")
    _fast, fast_token = make_client("Fast ERP", [beta], throttle_rate="100/min")

    codes = [get(live_server, slow_token).status_code for _ in range(4)]
    others = [get(live_server, fast_token).status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]
    assert others == [200] * 4
    refused = get(live_server, slow_token)
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json()["code"] == "throttled"
