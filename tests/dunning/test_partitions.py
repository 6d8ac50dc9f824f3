"""The run split into partitions gives exactly what the single run gives."""

import threading
from datetime import date

import pytest
from django.db import connection, transaction

from dunning.models import CaseStep, Run
from dunning.run import Partition, run_dunning, run_partition
from messaging.models import Message
from payments.models import LedgerEntry
from tests.dunning.conftest import make_debtors

DAYS = [date(2025, 3, 1), date(2025, 3, 20), date(2025, 4, 10)]


@pytest.fixture
def portfolio(creditor, make_invoice):
    """Forty debtors with one to three claims each, due over two months."""
    make_debtors(creditor, make_invoice, count=40, prefix="P", base=100, step=7)


def outcome() -> dict:
    return {
        "steps": sorted(
            (cs.case.invoice.number, cs.step.position, str(cs.fee), cs.taken_on)
            for cs in CaseStep.objects.select_related("case__invoice", "step")
        ),
        "fees": sorted(
            (e.invoice.number, str(e.amount))
            for e in LedgerEntry.objects.filter(kind="fee").select_related("invoice")
        ),
        "messages": sorted(
            (
                m.customer.external_id,
                m.channel,
                m.status,
                m.action_date,
                tuple(sorted(i.invoice.number for i in m.items.all())),
            )
            for m in Message.objects.select_related("customer").prefetch_related(
                "items__invoice"
            )
        ),
    }


class _Rollback(Exception):
    pass


def single_run_outcome() -> dict:
    """What the run in one process does over DAYS; rolled back afterwards."""
    try:
        with transaction.atomic():
            for day in DAYS:
                run_dunning(actor="test", run_date=day, plan_only=True)
            result = outcome()
            raise _Rollback
    except _Rollback:
        return result


@pytest.mark.django_db
def test_a_run_over_two_workers_takes_the_same_steps(portfolio, monkeypatch):
    # django-q2 runs each partition task at once, in this process; it reads its
    # settings once, at import, so the flag is set on its configuration.
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)
    expected = single_run_outcome()

    summaries = [
        run_dunning(actor="test", run_date=day, plan_only=True, workers=2)
        for day in DAYS
    ]

    assert expected["steps"], "the portfolio must give the run something to do"
    assert outcome() == expected
    assert sum(sum(s["steps_taken"].values()) for s in summaries) == len(
        expected["steps"]
    )
    assert sum(s["claims_examined"] for s in summaries) > 0


def test_a_partition_must_exist():
    with pytest.raises(ValueError, match="partition 2 of 2 does not exist"):
        Partition(2, 2)


def partitions_at_once(run: Run, day: date) -> list:
    """Run both partitions in two threads released by one barrier."""
    from django.db import connections
    from django.utils import timezone

    barrier = threading.Barrier(2)
    errors = []
    now = timezone.now()

    def work(index):
        try:
            barrier.wait()
            run_partition(
                run_id=run.pk, partition=Partition(index, 2), run_date=day, now=now
            )
        except Exception as error:  # reported by the test, with the partition
            errors.append((index, error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_on_postgresql(standard_plan, portfolio):
    """Both partitions at the same moment, each on its own connection."""
    if connection.vendor != "postgresql":
        pytest.skip("needs a database server for real concurrency")
    expected = single_run_outcome()

    for day in DAYS:
        run = Run.objects.create(run_date=day, actor="test")
        assert partitions_at_once(run, day) == []

    assert outcome() == expected
