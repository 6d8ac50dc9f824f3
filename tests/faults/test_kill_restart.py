"""A run or a dispatch killed with SIGKILL at a random point, then restarted,
ends exactly where an uninterrupted one ends: every due step once, every fee
once, one message per debtor, nothing sent twice, nothing lost."""

import random
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from dunning.models import CaseStep, Run
from dunning.run import run_dunning
from messaging.models import Message
from ops import health
from payments.models import LedgerEntry

from .conftest import (
    RUN_DATE,
    kill,
    make_portfolio,
    manage,
    outbox_recipients,
    outcome,
    postgresql_only,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)

RUN = ["run_dunning", "--date", RUN_DATE.isoformat(), "--plan-only", "--json"]


class _Rollback(Exception):
    pass


def uninterrupted_outcome() -> dict:
    """What one run in this process writes; rolled back afterwards."""
    try:
        with transaction.atomic():
            run_dunning(actor="test", run_date=RUN_DATE, plan_only=True)
            result = outcome()
            raise _Rollback
    except _Rollback:
        return result


def test_a_run_killed_mid_way_and_restarted_takes_each_step_once(
    standard_plan, outbox, tmp_path
):
    postgresql_only()
    due_ids = make_portfolio(standard_plan, creditors=6, customers=30)
    expected = uninterrupted_outcome()
    assert len(expected["steps"]) == len(due_ids)
    log = tmp_path / "run.log"

    first = manage(outbox, *RUN, log=log)
    # Killed once at least one creditor's batch has committed, after a random
    # extra moment: somewhere inside the run, never at a chosen line.
    # The moment stays short: the five batches left take well under 0.1 s on
    # a quiet machine, and a kill after the run's end proves nothing.
    wait_until(CaseStep.objects.exists, timeout=60, what="the first batch")
    time.sleep(random.uniform(0, 0.03))
    kill(first)
    taken_at_kill = CaseStep.objects.count()
    assert first.returncode == -9, log.read_text()
    assert 0 < taken_at_kill < len(due_ids), "the kill must land inside the run"
    # The killed run stays unfinished; /healthz reports it once it is older
    # than a run can take.
    killed = Run.objects.get()
    assert killed.status() == Run.Status.RUNNING
    Run.objects.filter(pk=killed.pk).update(
        started_at=killed.started_at
        - timedelta(hours=settings.DUNNING_RUN_MAX_HOURS, minutes=1)
    )
    assert health.dunning_run().reason == "last run did not finish"

    second = manage(outbox, *RUN, log=log)
    assert second.wait(timeout=120) == 0, log.read_text()
    assert health.dunning_run().status == health.OK

    assert outcome() == expected
    # Every due claim has its step, and each case step, fee and message key
    # exists once (the database refuses a second one; none was attempted).
    assert set(CaseStep.objects.values_list("case__invoice_id", flat=True)) == set(
        due_ids
    )
    assert not (
        CaseStep.objects.values("case", "step")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )
    assert not (
        LedgerEntry.objects.filter(kind="fee")
        .values("case_step")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )
    assert Message.objects.values("customer").distinct().count() == (
        Message.objects.count()
    )
    # The killed run never finished; the restart did, and took the rest.
    runs = list(Run.objects.order_by("id"))
    assert [run.finished_at is None for run in runs] == [True, False]
    assert sum(runs[1].summary["steps_taken"].values()) == (
        len(due_ids) - taken_at_kill
    )


def test_a_dispatch_killed_mid_batch_and_restarted_sends_each_message_at_most_once(
    standard_plan, outbox, tmp_path
):
    postgresql_only()
    make_portfolio(standard_plan, creditors=2, customers=60)
    run_dunning(actor="test", run_date=RUN_DATE, plan_only=True)
    planned = Message.objects.filter(status=Message.Status.PLANNED).count()
    assert planned == 120
    log = tmp_path / "dispatch.log"
    # Dispatch "now" is two days on: every message is due, and the restart is
    # more than DISPATCH_STUCK_SECONDS after the killed worker's claims.
    now = (timezone.now() + timedelta(days=2)).isoformat()
    command = ["dispatch_messages", "--now", now, "--json"]

    first = manage(outbox, *command, log=log, DISPATCH_BATCH_SIZE="25")
    sent_before = random.randint(5, 60)
    wait_until(
        lambda: (
            Message.objects.filter(status=Message.Status.SENT).count() >= sent_before
        ),
        timeout=90,
        what=f"{sent_before} messages sent",
    )
    kill(first)
    assert first.returncode == -9, log.read_text()
    at_kill = dict(
        Message.objects.values_list("status").annotate(n=Count("id")).order_by()
    )
    assert at_kill.get(Message.Status.PLANNED, 0) > 0, "killed before the end"

    second = manage(outbox, *command, log=log, DISPATCH_BATCH_SIZE="25")
    assert second.wait(timeout=120) == 0, log.read_text()

    emails = outbox_recipients(outbox)
    messages = list(Message.objects.select_related("customer"))
    # None lost: every message ended sent, or failed with the reason.
    assert {m.status for m in messages} <= {Message.Status.SENT, Message.Status.FAILED}
    for message in messages:
        address = message.customer.email
        if message.status == Message.Status.SENT:
            assert emails[address] == 1, address
        else:
            # Only one the killed worker held while sending: it may have gone
            # out (at most once), and is never sent again by itself.
            assert message.status_reason.startswith("interrupted while sending")
            assert emails[address] <= 1, address
    assert max(emails.values()) == 1
    failed = [m for m in messages if m.status == Message.Status.FAILED]
    assert len(failed) == at_kill.get(Message.Status.SENDING, 0)
