"""Named django-q2 schedules, kept in step with the code after each migrate.

Each app lists its schedules (name, func, type, and an `hour` for a daily one or
`minutes` for an interval) and calls `keep_after_migrate`. get_or_create by
name: a restart or a second migrate never adds a duplicate, and an existing
schedule keeps its next run (moving it on every migrate would skip or repeat a
day) while its function and timing follow the code.

A daily schedule keeps its local wall-clock hour across daylight saving:
django-q2 stores next_run in UTC but moves a daily next_run by one local day in
the cluster's zone (Q_CLUSTER "time_zone", else TIME_ZONE), so 06:00 stays 06:00
in both winter and summer. The first run is placed in that same zone.
"""

from django.db.models.signals import post_migrate


def ensure_schedules(specs: list[dict]) -> None:
    from datetime import timedelta

    from django.utils import timezone
    from django_q.models import Schedule
    from django_q.utils import localtime

    # Adding a day to an aware datetime keeps its wall clock.
    now = localtime(timezone.now())
    for spec in specs:
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
            Schedule.objects.filter(pk=schedule.pk).update(**defaults)


def keep_after_migrate(app_label: str, specs: list[dict]) -> None:
    """Ensure `specs` after every migrate of `app_label`."""

    def on_post_migrate(sender, **kwargs):
        if sender.name == app_label:
            ensure_schedules(specs)

    post_migrate.connect(
        on_post_migrate, dispatch_uid=f"{app_label}-schedules", weak=False
    )
