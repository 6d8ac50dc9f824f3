"""django-q2 tasks of personalisation."""

import logging

from django.utils import timezone

from personalisation.models import ModelVersion
from personalisation.registry import habit_retrain, propensity_retrain

logger = logging.getLogger(__name__)


def retrain_nightly() -> str:
    """Retrain the propensity, send-time and payment-method models on the
    product's history up to today; one line per kind says what happened."""
    as_of, actor = timezone.localdate(), "system:retrain-nightly"
    lines = [f"propensity: {propensity_retrain(as_of=as_of, actor=actor).reason}"]
    for kind in (
        ModelVersion.Kind.SEND_TIME,
        ModelVersion.Kind.PAYMENT_METHOD,
        ModelVersion.Kind.TONE,
    ):
        outcome = habit_retrain(kind=kind, as_of=as_of, actor=actor)
        lines.append(f"{kind}: {outcome.reason}")
    return "\n".join(lines)
