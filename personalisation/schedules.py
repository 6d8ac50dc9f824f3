"""The nightly retraining as a named django-q2 schedule, kept after each migrate.

get_or_create by name: a restart or a second migrate never adds a duplicate,
and an existing schedule keeps its next run. 02:00 in the cluster's zone, before
the print batch (05:00) and the daily run (06:00) that the new model scores.
"""

from django.db.models.signals import post_migrate

SCHEDULE = {
    "name": "personalisation-nightly-retrain",
    "func": "personalisation.tasks.retrain_nightly",
    "schedule_type": "D",
    "repeats": -1,
}
HOUR = 2


def ensure_schedule(**kwargs) -> None:
    from datetime import timedelta

    from django.utils import timezone
    from django_q.models import Schedule
    from django_q.utils import localtime

    now = localtime(timezone.now())
    first = now.replace(hour=HOUR, minute=0, second=0, microsecond=0)
    if first <= now:
        first += timedelta(days=1)
    defaults = {k: v for k, v in SCHEDULE.items() if k != "name"}
    schedule, created = Schedule.objects.get_or_create(
        name=SCHEDULE["name"], defaults={**defaults, "next_run": first}
    )
    if not created:
        Schedule.objects.filter(pk=schedule.pk).update(**defaults)


def connect() -> None:
    post_migrate.connect(_on_post_migrate, dispatch_uid="personalisation-schedules")


def _on_post_migrate(sender, **kwargs):
    if sender.name == "personalisation":
        ensure_schedule()
