"""The model registry: register a trained model, promote it, roll it back.

A model file is written once under `PERSONALISATION_MODEL_DIR` and never
changed; a version's status says whether decisions use it. The database allows
one active version per kind, so two promotions racing each other cannot both
win: the second waits on the row lock and then retires the first.
"""

import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import joblib
import sklearn
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from personalisation.models import ModelVersion

logger = logging.getLogger(__name__)

Status = ModelVersion.Status


def _save(bundle: dict, path: Path) -> None:
    """Write the model so that a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(handle)
    try:
        joblib.dump(bundle, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def model_register(*, kind: str, trained, actor: str, reason: str = "") -> ModelVersion:
    """A new candidate from a `training.Trained`, its file saved first."""
    now = timezone.now()
    version = f"{kind}-{trained.source}-{now:%Y%m%d%H%M%S%f}"
    path = Path(settings.PERSONALISATION_MODEL_DIR) / f"{version}.joblib"
    _save(
        {
            "pipeline": trained.pipeline,
            "version": version,
            "features": trained.features,
            "sklearn": sklearn.__version__,
        },
        path,
    )
    model = ModelVersion.objects.create(
        kind=kind,
        version=version,
        source=trained.source,
        algorithm=trained.algorithm,
        window_start=trained.window_start,
        window_end=trained.window_end,
        features=trained.features,
        metrics=trained.metrics,
        path=str(path),
        reason=reason[:300],
        trained_at=now,
        created_by=actor,
    )
    logger.info("registered model %s (AUC %s)", version, trained.metrics.get("roc_auc"))
    return model


def model_promote(*, model: ModelVersion, actor: str, reason: str = "") -> bool:
    """Make `model` the active one of its kind; the one before it retires.
    False when it already was active."""
    now = timezone.now()
    with transaction.atomic():
        current = list(
            ModelVersion.objects.select_for_update().filter(
                kind=model.kind, status=Status.ACTIVE
            )
        )
        if any(m.pk == model.pk for m in current):
            return False
        ModelVersion.objects.filter(pk__in=[m.pk for m in current]).update(
            status=Status.RETIRED, retired_at=now
        )
        why = reason or f"promoted by {actor}"
        ModelVersion.objects.filter(pk=model.pk).update(
            status=Status.ACTIVE, activated_at=now, retired_at=None, reason=why[:300]
        )
    model.refresh_from_db()
    logger.info("model %s is active (%s)", model.version, actor)
    return True


def model_rollback(*, kind: str, actor: str) -> ModelVersion | None:
    """Retire the active model and bring back the one that was active before
    it (the most recently retired); None when there is none to go back to, in
    which case decisions fall back to the rules."""
    now = timezone.now()
    with transaction.atomic():
        current = (
            ModelVersion.objects.select_for_update()
            .filter(kind=kind, status=Status.ACTIVE)
            .first()
        )
        if current is None:
            return None
        previous = (
            ModelVersion.objects.select_for_update()
            .filter(kind=kind, status=Status.RETIRED, activated_at__isnull=False)
            .order_by("-retired_at", "-id")
            .first()
        )
        ModelVersion.objects.filter(pk=current.pk).update(
            status=Status.RETIRED,
            retired_at=now,
            reason=f"rolled back by {actor}"[:300],
        )
        if previous is None:
            logger.info("model %s rolled back, rules only", current.version)
            return None
        ModelVersion.objects.filter(pk=previous.pk).update(
            status=Status.ACTIVE,
            activated_at=now,
            retired_at=None,
            reason=f"reactivated by {actor} in a rollback of {current.version}"[:300],
        )
    previous.refresh_from_db()
    logger.info("model %s rolled back to %s", current.version, previous.version)
    return previous


@dataclass(frozen=True)
class LoadedModel:
    version: str
    pipeline: object


_lock = threading.Lock()
_cache: dict[str, LoadedModel] = {}


def load(model: ModelVersion) -> LoadedModel | None:
    """The version's pipeline, read once per process (files never change)."""
    with _lock:
        cached = _cache.get(model.version)
        if cached is not None:
            return cached
        try:
            bundle = joblib.load(model.path)
        except Exception:
            logger.exception("model file of %s is unreadable", model.version)
            return None
        if bundle.get("sklearn") != sklearn.__version__:
            logger.warning(
                "model %s was saved by scikit-learn %s, this is %s; not used",
                model.version,
                bundle.get("sklearn"),
                sklearn.__version__,
            )
            return None
        loaded = LoadedModel(model.version, bundle["pipeline"])
        _cache[model.version] = loaded
        return loaded


def active_model(kind: str) -> LoadedModel | None:
    model = ModelVersion.objects.filter(kind=kind, status=Status.ACTIVE).first()
    return load(model) if model is not None else None


def propensity_train(
    *, source: str, as_of, actor: str, path: Path | None = None
) -> ModelVersion:
    """Train a propensity model on `source` and register it as a candidate."""
    from personalisation import training

    dataset = training.load_dataset(source, path=path, as_of=as_of)
    trained = training.train(dataset)
    return model_register(
        kind=ModelVersion.Kind.PROPENSITY,
        trained=trained,
        actor=actor,
        reason=f"trained on {len(dataset)} {source} rows",
    )


@dataclass(frozen=True)
class Retraining:
    candidate: ModelVersion | None
    promoted: bool
    reason: str


def propensity_retrain(*, as_of, actor: str) -> Retraining:
    """The nightly retraining on the product's own history: a candidate is
    trained and promoted only if its held-out ROC AUC beats the active
    model's on the same held-out rows."""
    from personalisation import training

    dataset = training.load_dataset("product", as_of=as_of)
    try:
        trained = training.train(dataset)
    except training.NotEnoughData as error:
        logger.info("no propensity retraining: %s", error)
        return Retraining(None, False, f"not trained: {error}")

    auc = trained.metrics["roc_auc"]
    active = ModelVersion.objects.filter(
        kind=ModelVersion.Kind.PROPENSITY, status=Status.ACTIVE
    ).first()
    loaded = load(active) if active is not None else None
    if loaded is None:
        promote, why = True, f"no usable active model; held-out AUC {auc}"
    else:
        theirs = training.held_out_auc(loaded.pipeline, dataset)
        promote = auc > theirs
        verb = "beats" if promote else "does not beat"
        why = f"held-out AUC {auc} {verb} {theirs} of {active.version} on the same rows"
    candidate = model_register(
        kind=ModelVersion.Kind.PROPENSITY, trained=trained, actor=actor, reason=why
    )
    if promote:
        model_promote(model=candidate, actor=actor, reason=why)
    logger.info("propensity retraining: %s", why)
    return Retraining(candidate, promote, why)


# The habits: send time and payment method (personalisation/habits.py).

# The held-out figure each habit kind is judged by, and the rules' figure on
# the same rows.
HABIT_SCORES = {
    ModelVersion.Kind.SEND_TIME: ("hit_rate_1h", "rules_hit_rate_1h"),
    ModelVersion.Kind.PAYMENT_METHOD: ("accuracy", "rules_accuracy"),
    # Observational: the held-out messages in the tone it would choose against
    # those in another (personalisation/tone.py).
    ModelVersion.Kind.TONE: ("chosen_tone_paid_rate", "other_tone_paid_rate"),
}


def habit_train(*, kind: str, as_of, actor: str) -> ModelVersion:
    """Train a send-time, payment-method or tone model on the product's
    history and register it as a candidate; `training.NotEnoughData` when it
    is too thin."""
    from personalisation import habits, tone

    train = {
        ModelVersion.Kind.SEND_TIME: habits.train_send_time,
        ModelVersion.Kind.PAYMENT_METHOD: habits.train_payment_method,
        ModelVersion.Kind.TONE: tone.train_tone,
    }[kind]
    trained = train(as_of=as_of)
    score, rules = HABIT_SCORES[kind]
    m = trained.metrics
    return model_register(
        kind=kind,
        trained=trained,
        actor=actor,
        reason=(
            f"{m['train_rows']} rows; held out {score} {m[score]} against the "
            f"rules' {m[rules]}"
        ),
    )


def habit_retrain(*, kind: str, as_of, actor: str) -> Retraining:
    """The nightly retraining of a habit model: the candidate is promoted when
    it beats the rules on its held-out rows and does at least as well there
    as the active version did on its own."""
    from personalisation.training import NotEnoughData

    try:
        candidate = habit_train(kind=kind, as_of=as_of, actor=actor)
    except NotEnoughData as error:
        logger.info("no %s retraining: %s", kind, error)
        return Retraining(None, False, f"not trained: {error}")
    score, rules = HABIT_SCORES[kind]
    mine, theirs = candidate.metrics[score], candidate.metrics[rules]
    active = ModelVersion.objects.filter(kind=kind, status=Status.ACTIVE).first()
    if mine is None or theirs is None:
        promote, why = False, f"{score} {mine} against {theirs}: nothing to compare"
    elif mine <= theirs:
        promote, why = False, f"{score} {mine} does not beat the rules' {theirs}"
    elif active is not None and mine < active.metrics.get(score, 0):
        promote = False
        why = f"{score} {mine} is below {active.version}'s {active.metrics[score]}"
    else:
        promote, why = True, f"{score} {mine} beats the rules' {theirs}"
    ModelVersion.objects.filter(pk=candidate.pk).update(reason=why[:300])
    if promote:
        model_promote(model=candidate, actor=actor, reason=why)
    logger.info("%s retraining: %s", kind, why)
    return Retraining(candidate, promote, why)


# The channel uplift (personalisation/uplift.py).


def uplift_train(
    *, data_dir: Path, source: str, as_of, actor: str, path: Path | None = None
) -> ModelVersion:
    """Estimate the persuasion rates from the real files in `data_dir` and
    register them as a candidate, with the share of claims paid in `source`'s
    history as the base rate for debtors without a propensity score."""
    from personalisation import training, uplift

    dataset = training.load_dataset(source, path=path, as_of=as_of)
    training.check_enough(dataset)
    base_rate = float(dataset.paid.mean())
    trained = uplift.train(
        estimate=uplift.estimate(data_dir), base_rate=base_rate, source=source
    )
    rates = trained.metrics["persuasion"]
    return model_register(
        kind=ModelVersion.Kind.CHANNEL_UPLIFT,
        trained=trained,
        actor=actor,
        reason=(
            f"persuasion e-mail {rates['email']['all']}, SMS {rates['sms']['all']} "
            f"from the real files; base rate {base_rate:.4f} from {source}"
        ),
    )
