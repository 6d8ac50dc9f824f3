"""The named django-q2 schedules."""

import pytest
from django.conf import settings
from django_q.models import Schedule

from dunning.schedules import ensure_schedules

pytestmark = pytest.mark.django_db


def test_migrate_creates_each_named_schedule_once():
    """Migrations leave one daily run, one print batch and one dispatch schedule."""
    names = list(Schedule.objects.values_list("name", flat=True))

    # Other apps (delivery) add schedules of their own beside these.
    for name in ("dunning-daily-run", "letters-print-batch", "messages-dispatch"):
        assert names.count(name) == 1, name


def test_a_restart_adds_no_duplicate_and_keeps_the_next_run():
    """ensure_schedules is idempotent and does not move a pending next run."""
    daily = Schedule.objects.get(name="dunning-daily-run")

    ensure_schedules()
    ensure_schedules()

    assert Schedule.objects.filter(name="dunning-daily-run").count() == 1
    assert Schedule.objects.get(pk=daily.pk).next_run == daily.next_run


def test_the_cluster_never_catches_up_missed_runs():
    """After downtime a missed daily run happens once, not once per missed day."""
    assert settings.Q_CLUSTER["catch_up"] is False
    assert settings.Q_CLUSTER["retry"] > settings.Q_CLUSTER["timeout"]


def test_the_daily_task_runs_the_dunning_run(alice, make_invoice):
    """The scheduled function runs the cycle for each creditor's today."""
    from django_q.tasks import async_task, result

    settings.Q_CLUSTER["sync"] = True
    try:
        make_invoice(alice)
        task_id = async_task("dunning.tasks.run_daily", sync=True)
        summary = result(task_id)
    finally:
        settings.Q_CLUSTER.pop("sync", None)

    assert summary["claims_examined"] == 1
    assert summary["cases_opened"] == 1
