"""The intent classifier: its labelled set, held-out accuracy, training and cache."""

from collections import Counter
from io import StringIO

import joblib
import pytest
from django.core.management import call_command

from replies import classifier
from replies.models import Reply

ACCURACY_FLOOR = 0.8


def test_the_labelled_set_covers_every_intent_in_both_languages():
    rows = classifier.load_labelled()
    counts = Counter((row.intent, row.language) for row in rows)

    assert len(rows) >= 400
    assert {row.language for row in rows} == {"de", "en"}
    for intent in Reply.Intent.values:
        assert counts[(intent, "de")] >= 35, intent
        assert counts[(intent, "en")] >= 35, intent


def test_held_out_accuracy_is_reported_and_above_the_floor():
    """A quarter of the labelled set, stratified by intent, never seen in training."""
    evaluation = classifier.evaluate(classifier.load_labelled(), test_share=0.25)

    print(
        f"\nheld-out accuracy {evaluation.accuracy:.3f} on {evaluation.test_size} "
        f"replies ({evaluation.accuracy_by_language})\n{evaluation.report}"
    )
    assert evaluation.test_size >= 100
    assert evaluation.accuracy >= ACCURACY_FLOOR
    assert min(evaluation.accuracy_by_language.values()) >= ACCURACY_FLOOR - 0.05


def test_the_command_reports_and_saves_the_model(tmp_path):
    path = tmp_path / "nested" / "model.joblib"
    out = StringIO()

    call_command("train_reply_classifier", "--output", str(path), stdout=out)

    output = out.getvalue()
    assert "held-out accuracy: 0." in output
    assert "5-fold accuracy: mean 0." in output
    assert "promise_to_pay" in output
    bundle = joblib.load(path)
    assert bundle["version"] == classifier.data_version()
    assert bundle["held_out_accuracy"] >= ACCURACY_FLOOR


def test_without_a_saved_model_one_is_trained_once_and_saved(settings, tmp_path):
    settings.REPLIES_MODEL_PATH = tmp_path / "models" / "fresh.joblib"

    first = classifier.get_classifier()
    second = classifier.get_classifier()

    assert settings.REPLIES_MODEL_PATH.exists()
    assert first is second
    prediction = first.predict("Ich habe gestern schon überwiesen.")
    assert prediction.intent == Reply.Intent.ALREADY_PAID
    assert sum(prediction.scores.values()) == pytest.approx(1, abs=0.01)


def test_a_retrained_model_is_picked_up(settings, tmp_path):
    settings.REPLIES_MODEL_PATH = path = tmp_path / "model.joblib"
    before = classifier.get_classifier()

    bundle = joblib.load(path)
    bundle["version"] = "retrained"
    classifier.save(bundle, path)
    after = classifier.get_classifier()

    assert before is not after
    assert after.version == "retrained"
