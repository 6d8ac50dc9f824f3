"""django-q2 entry points; they take ids and dates, never model instances."""

import logging

from django.conf import settings

from dunning.run import RunStats, run_dunning, run_partition

logger = logging.getLogger(__name__)


def run_daily() -> dict:
    """The scheduled daily run, for each creditor's own today."""
    return run_dunning(actor="system:schedule", workers=settings.DUNNING_WORKERS)


def run_partition_task(**kwargs) -> RunStats:
    """One partition of a split run, taken by whichever worker is free."""
    return run_partition(**kwargs)
