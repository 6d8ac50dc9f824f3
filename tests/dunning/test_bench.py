"""The scale benchmark on a tiny portfolio: its JSON lines and what they count."""

import io
import json
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Q

from customers.models import Customer


def bench_lines(**options) -> list[dict]:
    out = io.StringIO()
    call_command("bench", json=True, stdout=out, **options)
    return [json.loads(line) for line in out.getvalue().splitlines() if line]


@pytest.mark.django_db(transaction=True)
def test_the_bench_prints_the_seed_the_floor_and_the_run(standard_plan):
    """One JSON line per figure, with the environment; the run and the floor
    act on the same claims, about one in ten of the portfolio."""
    if connection.vendor != "postgresql":
        pytest.skip("the bench seeds with generate_series in PostgreSQL")

    lines = bench_lines(claims="200", workers="1", batch_size=20)

    assert [line["figure"] for line in lines] == ["seed", "floor", "run"]
    seed, floor, run = lines
    for line in lines:
        assert line["env"]["cpus"] >= 1
        assert line["env"]["postgres"]
        assert line["env"]["python"].startswith("3.")
    assert seed["claims"] == 200 and seed["customers"] == 80
    assert floor["messages"] == floor["claims"] == 20
    assert floor["seconds"] == min(floor["timings"]) and len(floor["timings"]) == 3
    # Each seeded case has its step 1 as a case step.
    assert seed["case_steps"] == seed["cases"] == 70
    assert run["workers"] == 1 and run["claims_total"] == 200
    # 10 claims open a case and take step 1, 10 take step 2: one message
    # per debtor, as many as the floor inserts.
    assert run["cases_opened"] == 10
    assert run["steps"] == run["messages"] == floor["messages"]
    assert run["batches"] >= 2
    assert run["queries_per_batch"] == pytest.approx(
        run["queries"] / run["batches"], abs=0.1
    )
    assert run["ratio"] == pytest.approx(run["seconds"] / run["floor_seconds"], rel=0.1)
    assert run["peak_rss_mib"] >= run["rss_before_mib"] > 0
    # The bench leaves the database empty behind it.
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_the_bench_refuses_a_database_without_generate_series():
    if connection.vendor == "postgresql":
        pytest.skip("the refusal is for SQLite")
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("bench", claims="10", workers="1")


@pytest.mark.django_db
def test_the_bench_refuses_a_list_of_sizes_that_is_not_one():
    with pytest.raises(CommandError, match="not a list of positive numbers"):
        call_command("bench", claims="0", workers="1")


@pytest.mark.django_db(transaction=True)
def test_seed_demo_sql_seeds_the_daily_portfolio_in_one_pass(standard_plan):
    """`seed_demo --sql` makes the bench's portfolio: the claims, one principal
    row each, and the cases of the claims already in dunning."""
    if connection.vendor != "postgresql":
        pytest.skip("the SQL seeding uses generate_series in PostgreSQL")
    from dunning.models import Case, CaseStep
    from payments.models import Invoice, LedgerEntry

    out = io.StringIO()
    call_command(
        "seed_demo", customers=40, invoices=100, sql=True, json=True, stdout=out
    )

    seeded = json.loads(out.getvalue())
    assert seeded["claims"] == Invoice.objects.count() == 100
    assert Customer.objects.count() == 40
    assert LedgerEntry.objects.filter(kind="principal").count() == 100
    # Shares 6-8 and 16-18 of every 20 claims, and 19: 35 cases at step 1.
    assert seeded["cases"] == Case.objects.filter(current_step__position=1).count()
    assert seeded["cases"] == 35
    assert Invoice.objects.filter(status="paid").count() == 10
    assert CaseStep.objects.filter(step__position=1).count() == 35
    # The ten claims that act today belong to ten debtors of both parities:
    # two workers of the run (customer id modulo 2) both get work. Of the five
    # blocks of 20 claims, three put their two at odd offsets, two at even.
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_date")
        today = cursor.fetchone()[0]
    acting = list(
        Invoice.objects.filter(
            Q(case__isnull=True, status="open", due_on__lt=today)
            | Q(case__last_step_on=today - timedelta(days=20))
        ).values_list("customer_id", flat=True)
    )
    assert len(set(acting)) == len(acting) == 10
    assert sorted(Counter(c % 2 for c in acting).values()) == [4, 6]
