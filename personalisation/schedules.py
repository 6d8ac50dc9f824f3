"""The nightly retraining as a named django-q2 schedule (core/schedules.py).

02:00 in the cluster's zone, before the print batch (05:00) and the daily run
(06:00) that the new models score.
"""

from core.schedules import keep_after_migrate

SCHEDULES = [
    {
        "name": "personalisation-nightly-retrain",
        "func": "personalisation.tasks.retrain_nightly",
        "schedule_type": "D",
        "hour": 2,
    }
]


def connect() -> None:
    keep_after_migrate("personalisation", SCHEDULES)
