"""Tokens, scopes and throttling, over real HTTP."""

import threading
from concurrent.futures import ThreadPoolExecutor

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


def throttle_answers(client, requests: int) -> list[bool]:
    """`requests` checks of the client's throttle at once, from as many threads."""
    from types import SimpleNamespace

    from api.access import ClientRateThrottle

    barrier = threading.Barrier(requests)

    def one(_):
        request = SimpleNamespace(auth=client)
        barrier.wait()
        return ClientRateThrottle().allow_request(request, None)

    with ThreadPoolExecutor(max_workers=requests) as pool:
        return list(pool.map(one, range(requests)))


def test_requests_arriving_together_pass_exactly_the_rate(creditor):
    """Twelve at once for a 5/min client: five pass, however they interleave."""
    client, _token = make_client("Busy ERP", [creditor], throttle_rate="5/min")

    answers = throttle_answers(client, 12)

    assert answers.count(True) == 5


def test_the_count_is_shared_through_redis(creditor, settings):
    """Two cache clients, as two hosts have: together they pass the rate once."""
    import socket
    import uuid

    from django.core.cache import caches

    from config.caches import caches_from_env

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        pytest.skip("no Redis at 127.0.0.1:6379 to share the count")
    settings.CACHES = caches_from_env(
        cache_url="redis://127.0.0.1:6379/15",
        redis_url=None,
        debug=True,
        key_prefix=f"test-{uuid.uuid4().hex[:8]}",
    )
    client, _token = make_client("Redis ERP", [creditor], throttle_rate="4/min")

    answers = throttle_answers(client, 10)

    assert answers.count(True) == 4
    caches["default"].clear()
