"""Experiments as a manager sets them up, and the due items decide sees."""

from datetime import date
from decimal import Decimal

import pytest

from personalisation.services import DueItem


@pytest.fixture
def make_experiment(db):
    def make(name="Wording", arms=("a", "b", "c"), status="running", **kw):
        """`arms` are values (key = value) or (key, value, weight) triples."""
        from django.utils import timezone

        from experiments.models import Arm, Experiment

        if status == "running":
            kw.setdefault("started_at", timezone.now())
            kw.setdefault("started_by", "user:test")
        experiment = Experiment.objects.create(name=name, status=status, **kw)
        for arm in arms:
            key, value, weight = (arm, arm, 1) if isinstance(arm, str) else arm
            Arm.objects.create(
                experiment=experiment,
                key=key,
                label=f"Variant {key}",
                value=value,
                weight=Decimal(weight),
            )
        return experiment

    return make


@pytest.fixture
def reminder_items(db):
    """A 100 EUR claim at the Standard plan's first step."""
    from dunning.models import Step

    step = Step.objects.get(plan__name="Standard", position=1)

    def items(invoice_id=1):
        return [DueItem(invoice_id, step, Decimal("100.00"), "EUR", 5)]

    return items


DAY = date(2025, 3, 6)
