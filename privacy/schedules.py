"""The daily retention erasure as a named django-q2 schedule (core/schedules.py).

03:00 in the cluster's zone, when no run or dispatch is busy with the debtors it
might erase. Running twice on a day erases nobody twice: an erased debtor is no
longer a candidate.
"""

from core.schedules import ensure_schedules, keep_after_migrate

SCHEDULES = [
    {
        "name": "privacy-retention-daily",
        "func": "privacy.tasks.retention_daily",
        "schedule_type": "D",
        "hour": 3,
    }
]


def ensure_schedule() -> None:
    ensure_schedules(SCHEDULES)


def connect() -> None:
    keep_after_migrate("privacy", SCHEDULES)
