"""The named django-q2 schedules, kept in step with the code after each migrate.

update_or_create by name means a restart or a second migrate never adds a duplicate.

A daily schedule keeps its local wall-clock hour across daylight saving: django-q2
stores next_run in UTC but moves a daily next_run by one local day in the
cluster's zone (Q_CLUSTER "time_zone", else TIME_ZONE), so 06:00 stays 06:00 in
both winter and summer. The first run is placed in that same zone.
"""

from django.db.models.signals import post_migrate

SCHEDULES = [
    {
        "name": "dunning-daily-run",
        "func": "dunning.tasks.run_daily",
        "schedule_type": "D",
        "hour": 6,
    },
    {
        # Yesterday's letters for the print service, before the day's run.
        "name": "letters-print-batch",
        "func": "messaging.tasks.print_batch_daily",
        "schedule_type": "D",
        "hour": 5,
    },
    {
        "name": "messages-dispatch",
        "func": "messaging.tasks.dispatch_due",
        "schedule_type": "I",
        "minutes": 5,
        "hour": None,
    },
]


def ensure_schedules(**kwargs) -> None:
    from datetime import timedelta

    from django.utils import timezone
    from django_q.models import Schedule
    from django_q.utils import localtime

    # The cluster's zone, which django-q2 also uses to keep the hour across
    # daylight saving; adding a day to an aware datetime keeps its wall clock.
    now = localtime(timezone.now())
    for spec in SCHEDULES:
        if spec.get("hour") is not None:
            first = now.replace(hour=spec["hour"], minute=0, second=0, microsecond=0)
            if first <= now:
                first += timedelta(days=1)
        else:
            first = now
        defaults = {
            "func": spec["func"],
            "schedule_type": spec["schedule_type"],
            "minutes": spec.get("minutes"),
            "repeats": -1,
        }
        schedule, created = Schedule.objects.get_or_create(
            name=spec["name"], defaults={**defaults, "next_run": first}
        )
        if not created:
            # Keep next_run: moving it on every migrate would skip or repeat a day.
            Schedule.objects.filter(pk=schedule.pk).update(**defaults)


def connect() -> None:
    post_migrate.connect(_on_post_migrate, dispatch_uid="dunning-schedules")


def _on_post_migrate(sender, **kwargs):
    if sender.name == "dunning":
        ensure_schedules()
