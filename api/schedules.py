"""The overdue check as a named django-q2 schedule, kept after each migrate.

get_or_create by name: a restart or a second migrate never adds a duplicate,
and an existing schedule keeps its next run.
"""

from django.db.models.signals import post_migrate

SCHEDULE = {
    "name": "api-overdue-claims",
    "func": "api.tasks.claims_overdue_dun",
    "schedule_type": "I",
    # Claims fall due at local midnight of their creditor: a quarter of an hour
    # later they are dunned, not at the next morning's run.
    "minutes": 15,
    "repeats": -1,
}


def ensure_schedule(**kwargs) -> None:
    from django.utils import timezone
    from django_q.models import Schedule

    defaults = {k: v for k, v in SCHEDULE.items() if k != "name"}
    schedule, created = Schedule.objects.get_or_create(
        name=SCHEDULE["name"], defaults={**defaults, "next_run": timezone.now()}
    )
    if not created:
        Schedule.objects.filter(pk=schedule.pk).update(**defaults)


def connect() -> None:
    post_migrate.connect(_on_post_migrate, dispatch_uid="api-schedules")


def _on_post_migrate(sender, **kwargs):
    if sender.name == "api":
        ensure_schedule()
