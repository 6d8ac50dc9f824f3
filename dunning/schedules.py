"""The run, the print batch and dispatch as named django-q2 schedules
(core/schedules.py: kept after each migrate, daily ones at their local hour
across daylight saving)."""

from core.schedules import ensure_schedules as _ensure
from core.schedules import keep_after_migrate

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


def ensure_schedules() -> None:
    _ensure(SCHEDULES)


def connect() -> None:
    keep_after_migrate("dunning", SCHEDULES)
