"""Two schedulers over one PostgreSQL database start a due schedule once, and
a schedule that was due four days ago starts once, not once per missed day."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import OrmQ, Schedule, Task
from django_q.scheduler import scheduler

from dunning.models import CaseStep, Run
from dunning.schedules import SCHEDULES

from .conftest import kill, make_portfolio, manage, postgresql_only, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

DAILY = next(s for s in SCHEDULES if s["name"] == "dunning-daily-run")
DISPATCH = next(s for s in SCHEDULES if s["name"] == "messages-dispatch")


def due_schedule(spec=DAILY, *, due_since: timedelta) -> Schedule:
    return Schedule.objects.create(
        name=spec["name"],
        func=spec["func"],
        schedule_type=spec["schedule_type"],
        minutes=spec.get("minutes"),
        repeats=-1,
        next_run=timezone.now() - due_since,
    )


def test_two_qclusters_run_a_due_daily_run_once(standard_plan, outbox, tmp_path):
    postgresql_only()
    claims = make_portfolio(standard_plan, creditors=1, customers=10)
    # Only these two, due now (migrate's schedules are not all due).
    Schedule.objects.all().delete()
    schedules = [
        due_schedule(spec, due_since=timedelta(minutes=1)) for spec in (DAILY, DISPATCH)
    ]
    logs = [tmp_path / f"qcluster-{n}.log" for n in range(2)]
    # INFO shows each cluster's start and every task it creates from a schedule.
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.faults.qcluster_settings",
        "LOG_LEVEL": "INFO",
    }

    clusters = [manage(outbox, "qcluster", log=log, **env) for log in logs]
    try:
        wait_until(
            lambda: (
                Run.objects.filter(finished_at__isnull=False).exists()
                and Task.objects.exists()
            ),
            timeout=60,
            every=0.2,
            what="the scheduled run",
        )
        # Both clusters past their first scheduler pass, with time to start a
        # second task if either would.
        wait_until(
            lambda: all("running" in log.read_text() for log in logs),
            timeout=30,
            every=0.2,
            what="both clusters running",
        )
        time.sleep(3)
    finally:
        for cluster in clusters:
            kill(cluster)

    assert Run.objects.filter(actor="system:schedule").count() == 1
    assert sorted(Task.objects.values_list("func", "success")) == sorted(
        [(DAILY["func"], True), (DISPATCH["func"], True)]
    )
    assert not OrmQ.objects.exists()
    assert CaseStep.objects.count() == len(claims)
    for schedule in schedules:
        schedule.refresh_from_db()
        assert schedule.next_run > timezone.now()
    # Each schedule was turned into a task by one cluster only.
    created = [log.read_text().count("created task") for log in logs]
    assert sum(created) == 2, created


def schedulers_at_once() -> list:
    barrier = threading.Barrier(2)
    errors = []

    def work():
        try:
            broker = get_broker()
            barrier.wait()
            scheduler(broker=broker)
        except Exception as error:  # reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_two_schedulers_released_together_queue_the_due_task_once():
    postgresql_only()
    for _ in range(5):
        OrmQ.objects.all().delete()
        Schedule.objects.all().delete()
        due_schedule(due_since=timedelta(seconds=1))

        assert schedulers_at_once() == []

        assert OrmQ.objects.count() == 1


def test_a_daily_run_due_four_days_ago_is_queued_once(settings):
    """catch_up is off: the missed days are not run one by one afterwards."""
    assert settings.Q_CLUSTER["catch_up"] is False
    Schedule.objects.all().delete()
    schedule = due_schedule(due_since=timedelta(days=4, minutes=1))

    scheduler(broker=get_broker())
    scheduler(broker=get_broker())

    assert OrmQ.objects.count() == 1
    schedule.refresh_from_db()
    assert timezone.now() < schedule.next_run <= timezone.now() + timedelta(days=1)
