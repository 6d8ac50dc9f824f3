"""The ERP API load benchmark: its mix, and a couple of seconds of it against
gunicorn on the test database."""

import io
import json
import random
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from api.management.commands.bench_api_load import (
    BULK,
    LIST,
    MIX,
    PAYMENT,
    UPSERT,
    Claim,
    Erp,
    Portfolio,
)
from payments.models import Invoice, Payment

PORTFOLIO = Portfolio(
    creditor_id=7,
    token="dk_test",
    claims=[Claim(11, "AL-000000-0", 21, "AL-000000")],
    customer_external_ids=["AL-000000"],
)


class Answer:
    """What the list endpoint answers, as far as the ERP reads it."""

    def __init__(self, next_url):
        self.next_url = next_url

    def json(self):
        return {"next": self.next_url, "results": []}


def test_the_connections_ask_for_each_request_by_its_weight():
    erp = Erp(PORTFOLIO, "t", random.Random(3))

    drawn = Counter(erp.next(None).label for _ in range(20_000))

    assert set(drawn) == set(MIX)
    for label, weight in MIX.items():
        assert drawn[label] / 20_000 == pytest.approx(weight / 100, abs=0.01)


def test_the_claim_list_is_walked_by_its_cursor_and_started_again_at_the_end():
    erp = Erp(PORTFOLIO, "t", random.Random(3))
    erp.labels, erp.weights = [LIST], [1]

    first = erp.next(None)
    second = erp.next(Answer("http://127.0.0.1:8123/api/v1/invoices/?cursor=cD0x"))
    third = erp.next(Answer(None))

    assert first.path.startswith("/api/v1/invoices/?status=open&")
    assert second.path == "/api/v1/invoices/?cursor=cD0x"
    assert third.path == first.path


def test_every_write_names_the_creditor_and_carries_its_own_idempotency_key():
    erp = Erp(PORTFOLIO, "t", random.Random(3))
    erp.labels, erp.weights = [UPSERT, BULK, PAYMENT], [1, 1, 1]

    writes = [erp.next(None) for _ in range(30)]

    keys = {write.headers["Idempotency-Key"] for write in writes}
    assert len(keys) == 30
    for write in writes:
        body = json.loads(write.body)
        assert write.method == "POST" and body["creditor"] == 7
        assert len(body["items"]) == (50 if write.label == BULK else 1)


@pytest.mark.django_db(transaction=True)
def test_the_benchmark_measures_the_mix_without_errors(standard_plan):
    """Three ERP connections in threads of this process against gunicorn in
    another: every answer is a 200 (no 429 from the client's throttle), each
    request kind has its figures, and the writes reached the database."""
    if connection.vendor != "postgresql":
        pytest.skip("gunicorn's workers and the test share a PostgreSQL database")
    out = io.StringIO()

    call_command(
        "bench_api_load",
        customers=4,
        claims=2,
        users="3",
        seconds=3,
        warm_up=1,
        think=0.05,
        workers=1,
        json=True,
        stdout=out,
    )

    (level,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert level["errors"] == {}
    assert level["users"] == 3 and level["throttle_rate"] == "500/s"
    assert set(level["endpoints"]) == set(MIX)
    endpoints = level["endpoints"].values()
    assert sum(row["requests"] for row in endpoints) == level["all"]["requests"]
    assert level["all"]["requests"] >= 10
    for row in [*endpoints, level["all"]]:
        assert row["per_second"] == pytest.approx(row["requests"] / 3, abs=0.01)
        if row["requests"]:
            assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
    assert level["workers_cpu_ms_per_request"] > 0
    assert level["database_cpu_ms_per_request"] > 0
    assert level["client_cpu_ms_per_request"] > 0
    assert len(level["load"]) == 3

    # The prepared claims were dunned once; the measured writes are booked
    # (the warm-up's writes come on top).
    prepared = Invoice.objects.filter(external_id__startswith="AL-")
    assert prepared.count() == 8
    assert prepared.filter(case__isnull=False).count() == 8
    new_claims = level["endpoints"][UPSERT]["requests"]
    new_claims += 50 * level["endpoints"][BULK]["requests"]
    assert Invoice.objects.filter(external_id__startswith="LN-").count() >= new_claims
    payments = Payment.objects.filter(external_id__startswith="LP-").count()
    assert payments >= level["endpoints"][PAYMENT]["requests"]


@pytest.mark.django_db
def test_the_benchmark_refuses_a_live_database(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "NAME", "dunning")
    with pytest.raises(CommandError, match="only runs on a database named"):
        call_command("bench_api_load", customers=1, users="1")
