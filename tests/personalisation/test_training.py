"""Held-out evaluation of payment propensity on the real data sets."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from personalisation import training
from personalisation.models import ModelVersion

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_the_ibm_model_beats_the_base_rate_on_later_invoices(ibm_trained):
    """Trained on the earlier three quarters of the invoices by due date, it
    ranks the later quarter far better than chance and beats the base rate's
    Brier score."""
    metrics = ibm_trained.metrics

    assert metrics["split"] == "time"
    assert metrics["roc_auc"] > 0.8
    assert metrics["brier"] < metrics["base_rate_brier"] - 0.05
    assert sum(row["rows"] for row in metrics["calibration"]) == metrics["test_rows"]


def test_the_taiwan_model_beats_the_base_rate_and_is_calibrated(taiwan_file):
    """Default next month on a stratified held-out quarter: AUC above 0.65 and
    each decile's predicted payment rate within ten points of the observed."""
    trained = training.train(training.taiwan_dataset(taiwan_file))
    metrics = trained.metrics

    assert metrics["roc_auc"] > 0.65
    assert metrics["brier"] < metrics["base_rate_brier"]
    assert metrics["test_rows"] == 7500
    for row in metrics["calibration"]:
        assert abs(row["predicted"] - row["observed"]) < 0.1, row


def test_train_models_registers_a_candidate_and_can_promote_it(ibm_file):
    """The command reports the held-out figures of the version it registered."""
    out = StringIO()

    call_command(
        "train_models",
        "propensity",
        "--source",
        "ibm",
        "--file",
        str(ibm_file),
        "--promote",
        "--json",
        stdout=out,
    )

    reported = json.loads(out.getvalue())
    model = ModelVersion.objects.get(version=reported["version"])
    assert model.status == ModelVersion.Status.ACTIVE
    assert model.source == "ibm"
    assert reported["roc_auc"] == model.metrics["roc_auc"] > 0.8
