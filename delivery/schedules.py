"""The failure-rate check as a named django-q2 schedule (core/schedules.py)."""

from core.schedules import keep_after_migrate

SCHEDULES = [
    {
        "name": "delivery-failure-alerts",
        "func": "delivery.tasks.alerts_check",
        "schedule_type": "I",
        "minutes": 60,
    }
]


def connect() -> None:
    keep_after_migrate("delivery", SCHEDULES)
