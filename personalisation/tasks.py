"""django-q2 tasks of personalisation."""

import logging

from django.utils import timezone

from personalisation.registry import propensity_retrain

logger = logging.getLogger(__name__)


def retrain_nightly() -> str:
    """Retrain the propensity model on the product's history up to today."""
    outcome = propensity_retrain(
        as_of=timezone.localdate(), actor="system:retrain-nightly"
    )
    return outcome.reason
