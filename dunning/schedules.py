"""The named django-q2 schedules, kept in step with the code after each migrate.

update_or_create by name means a restart or a second migrate never adds a duplicate.
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
        "name": "messages-dispatch",
        "func": "messaging.tasks.dispatch_due",
        "schedule_type": "I",
        "minutes": 5,
        "hour": None,
    },
]


def ensure_schedules(**kwargs) -> None:
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.utils import timezone
    from django_q.models import Schedule

    zone = ZoneInfo(settings.TIME_ZONE)
    now = timezone.now().astimezone(zone)
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
