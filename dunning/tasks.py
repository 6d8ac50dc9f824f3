"""django-q2 entry points; they take ids and dates, never model instances."""

import logging

from dunning.run import run_dunning

logger = logging.getLogger(__name__)


def run_daily() -> dict:
    """The scheduled daily run, for each creditor's own today."""
    return run_dunning(actor="system:schedule")
