"""The overdue check as a named django-q2 schedule (core/schedules.py)."""

from core.schedules import ensure_schedules, keep_after_migrate

SCHEDULES = [
    {
        "name": "api-overdue-claims",
        "func": "api.tasks.claims_overdue_dun",
        "schedule_type": "I",
        # Claims fall due at local midnight of their creditor: a quarter of an
        # hour later they are dunned, not at the next morning's run.
        "minutes": 15,
    }
]


def ensure_schedule() -> None:
    ensure_schedules(SCHEDULES)


def connect() -> None:
    keep_after_migrate("api", SCHEDULES)
