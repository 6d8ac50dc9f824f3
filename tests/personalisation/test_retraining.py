"""Training from the product's own history and the nightly retraining."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from personalisation.models import ModelVersion
from personalisation.registry import propensity_retrain
from personalisation.tasks import retrain_nightly

pytestmark = pytest.mark.django_db

Status = ModelVersion.Status


def test_the_nightly_retraining_is_a_named_schedule():
    """Migrations leave one daily schedule that calls the retraining task."""
    schedule = Schedule.objects.get(name="personalisation-nightly-retrain")

    assert schedule.func == "personalisation.tasks.retrain_nightly"
    assert schedule.schedule_type == Schedule.DAILY


def test_without_enough_history_nothing_is_trained_and_rules_stay(alice):
    """Rules until a model has enough data: no candidate, the reason says so."""
    reason = retrain_nightly()

    lines = reason.splitlines()
    assert lines[0].startswith("propensity: not trained: 0 observed snapshots")
    assert lines[1] == (
        "send_time: not trained: 0 engagement events, fewer than the 200 needed"
    )
    assert lines[2] == (
        "payment_method: not trained: 0 payments with a known method, "
        "fewer than the 100 needed"
    )
    assert not ModelVersion.objects.exists()


@pytest.mark.slow
def test_retraining_on_the_imported_ibm_history_promotes_only_a_better_model(
    ibm_file,
):
    """The IBM file imported as the product's own claims trains a model far
    above chance; the first is promoted, an equal second one is not."""
    call_command(
        "import_portfolio", str(ibm_file), "--format", "ibm-ar", stdout=StringIO()
    )

    first = propensity_retrain(as_of=date(2014, 2, 28), actor="test")
    again = propensity_retrain(as_of=date(2014, 2, 28), actor="test")

    assert first.promoted and first.candidate.status == Status.ACTIVE
    metrics = first.candidate.metrics
    assert metrics["roc_auc"] > 0.75
    assert metrics["brier"] < metrics["base_rate_brier"]
    assert metrics["split"] == "time"
    assert first.candidate.window_end <= date(2014, 1, 29)
    assert not again.promoted, again.reason
    assert "does not beat" in again.reason
    again.candidate.refresh_from_db()
    assert again.candidate.status == Status.CANDIDATE
    assert again.candidate.reason == again.reason
