"""The debtor page benchmark for a couple of seconds on the test database."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def frozen_now():
    """Real time: gunicorn, a separate process, checks the links' expiry by
    its own clock."""
    return None


def test_the_benchmark_reports_the_page_under_load_without_errors(standard_plan):
    """Two debtors pass the second factor and read their pages from threads of
    this process, served by gunicorn in another; every answer is a 200."""
    if connection.vendor != "postgresql":
        pytest.skip("gunicorn's workers and the test share a PostgreSQL database")
    out = io.StringIO()

    call_command(
        "bench_portal",
        debtors=2,
        claims=1,
        users="2",
        seconds=2,
        warm_up=1,
        think=0.1,
        workers=1,
        json=True,
        stdout=out,
    )

    (level,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert level["errors"] == {}
    assert level["users"] == 2
    assert level["server"] == "gunicorn -w 1 gthread --threads 4"
    page = level["page"]
    assert page["requests"] >= 4
    assert page["per_second"] == pytest.approx(page["requests"] / 2, abs=0.01)
    assert 0 < page["p50_ms"] <= page["p95_ms"] <= page["p99_ms"]
    assert level["first_visit_median_ms"] > 0
    assert level["workers_cpu_ms_per_page"] > 0
    assert len(level["load"]) == 3


@pytest.mark.django_db
def test_the_benchmark_refuses_a_live_database(monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "NAME", "dunning")
    with pytest.raises(CommandError, match="only runs on a database named"):
        call_command("bench_portal", debtors=1, users="1")
