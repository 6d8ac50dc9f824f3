"""A run that raises part-way: it is marked failed with its error, what its
batches committed stays, and the next run of the day takes what is left."""

from datetime import date

import pytest
from django.db import transaction

from dunning.models import CaseStep, Run
from dunning.run import run_dunning
from messaging.models import Message
from payments.models import LedgerEntry
from personalisation.services import decide
from tests.dunning.conftest import make_debtors

pytestmark = pytest.mark.django_db

DAY = date(2025, 4, 10)


@pytest.fixture
def portfolio(creditor, make_invoice):
    """Forty debtors with one to three claims each, due over two months."""
    make_debtors(creditor, make_invoice, count=40, prefix="F", base=100, step=7)


def outcome() -> dict:
    return {
        "steps": sorted(
            CaseStep.objects.values_list("case__invoice__number", "step__position")
        ),
        "fees": sorted(
            LedgerEntry.objects.filter(kind="fee").values_list(
                "invoice__number", "amount"
            )
        ),
        "messages": sorted(
            Message.objects.values_list("customer__external_id", "channel", "status")
        ),
    }


class _Rollback(Exception):
    pass


def uninterrupted_outcome() -> dict:
    try:
        with transaction.atomic():
            run_dunning(actor="test", run_date=DAY, plan_only=True)
            result = outcome()
            raise _Rollback
    except _Rollback:
        return result


def fail_on_customer(monkeypatch, n: int, error: BaseException):
    """The decision for the `n`th debtor the run reaches raises `error`."""
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise error
        return decide(*args, **kwargs)

    monkeypatch.setattr("dunning.run.decide", failing)


def test_a_run_that_raises_is_failed_and_keeps_its_committed_batches(
    portfolio, monkeypatch
):
    """Batches of ten debtors: the first two commit, the third raises on its
    fifth debtor and is rolled back; the run says so and counts what stayed."""
    expected = uninterrupted_outcome()
    fail_on_customer(monkeypatch, 25, RuntimeError("decision service down"))

    with pytest.raises(RuntimeError, match="decision service down"):
        run_dunning(actor="test", run_date=DAY, plan_only=True, batch_size=10)

    run = Run.objects.get()
    assert run.status() == Run.Status.FAILED
    assert run.error == "RuntimeError: decision service down"
    assert run.finished_at is not None
    taken = CaseStep.objects.count()
    assert 0 < taken < len(expected["steps"])
    assert sum(run.summary["steps_taken"].values()) == taken
    assert sum(run.summary["messages"].values()) == Message.objects.count() == 20


def test_running_again_after_a_failure_takes_exactly_the_steps_left(
    portfolio, monkeypatch
):
    expected = uninterrupted_outcome()
    fail_on_customer(monkeypatch, 25, RuntimeError("decision service down"))
    with pytest.raises(RuntimeError):
        run_dunning(actor="test", run_date=DAY, plan_only=True, batch_size=10)
    taken_before = CaseStep.objects.count()
    monkeypatch.undo()

    summary = run_dunning(actor="test", run_date=DAY, plan_only=True, batch_size=10)

    assert outcome() == expected
    assert sum(summary["steps_taken"].values()) == (
        len(expected["steps"]) - taken_before
    )
    assert [run.status() for run in Run.objects.order_by("id")] == [
        Run.Status.FAILED,
        Run.Status.FINISHED,
    ]


def test_an_interrupted_run_is_failed_too(portfolio, monkeypatch):
    """Ctrl-C on the command stops the run as an exception would."""
    fail_on_customer(monkeypatch, 3, KeyboardInterrupt())

    with pytest.raises(KeyboardInterrupt):
        run_dunning(actor="test", run_date=DAY, plan_only=True)

    assert Run.objects.get().error == "KeyboardInterrupt: "


def test_a_failed_partition_fails_the_split_run(portfolio, monkeypatch):
    # django-q2 runs each partition task at once, in this process, and raises
    # the task's error here (a cluster's failed task raises "partition task
    # ... failed" in `_run_partitions` instead).
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)
    fail_on_customer(monkeypatch, 1, RuntimeError("decision service down"))

    with pytest.raises(RuntimeError, match="decision service down"):
        run_dunning(actor="test", run_date=DAY, plan_only=True, workers=2)

    run = Run.objects.get()
    assert run.status() == Run.Status.FAILED
    assert "decision service down" in run.error


def test_a_failure_that_cannot_be_recorded_still_raises_the_run_s_error(
    portfolio, monkeypatch
):
    """With the database gone the row cannot change; the caller still sees
    why the run stopped, and the run stays unfinished."""
    fail_on_customer(monkeypatch, 1, RuntimeError("decision service down"))

    def unwritable(*args, **kwargs):
        raise ConnectionError("database gone")

    monkeypatch.setattr(Run.objects, "filter", unwritable)

    with pytest.raises(RuntimeError, match="decision service down"):
        run_dunning(actor="test", run_date=DAY, plan_only=True)

    monkeypatch.undo()
    run = Run.objects.get()
    assert run.status() == Run.Status.RUNNING
    assert run.finished_at is None
