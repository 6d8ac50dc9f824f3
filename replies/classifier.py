"""The intent classifier: which of six intents a debtor's reply expresses.

TF-IDF over words (1–2 grams) and characters (2–5 grams within words; they carry
German compounds, inflections and typos) feeds a linear SVM whose scores are
calibrated to probabilities by cross-validation (Platt scaling), so that the
confidence threshold means the same across retrainings. One model serves German
and English; the labelled set is `replies/data/labelled_replies.csv`.

`train_reply_classifier` trains, reports held-out accuracy and saves the model;
a process that finds no saved model trains one on first use and saves it.
"""

import csv
import hashlib
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import joblib
import sklearn
from django.conf import settings
from django.utils import timezone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, classification_report
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from replies.text import clean_reply

logger = logging.getLogger(__name__)

DATA_FILE = Path(__file__).resolve().parent / "data" / "labelled_replies.csv"
ALGORITHM = "tfidf-svm-1"
SEED = 0


@dataclass(frozen=True)
class Labelled:
    text: str
    language: str
    intent: str


@dataclass(frozen=True)
class Prediction:
    intent: str
    confidence: float
    scores: dict[str, float]
    version: str


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    accuracy_by_language: dict[str, float]
    report: str
    train_size: int
    test_size: int


def load_labelled(path: Path = DATA_FILE) -> list[Labelled]:
    with open(path, encoding="utf-8", newline="") as stream:
        return [
            Labelled(row["text"], row["language"], row["intent"])
            for row in csv.DictReader(stream)
        ]


def data_version(path: Path = DATA_FILE) -> str:
    """The algorithm and a digest of the labelled set: what a reply was read by."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]
    return f"{ALGORITHM}/{digest}"


def build_pipeline() -> Pipeline:
    common = {"sublinear_tf": True, "strip_accents": "unicode", "lowercase": True}
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), **common)),
            (
                "chars",
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), **common),
            ),
        ]
    )
    model = CalibratedClassifierCV(
        LinearSVC(C=0.5, class_weight="balanced", random_state=SEED),
        method="sigmoid",
        cv=5,
    )
    return Pipeline([("features", features), ("model", model)])


def _texts(rows: list[Labelled]) -> list[str]:
    # Trained on what triage reads: the reply without quotes and signature.
    return [clean_reply(row.text) or row.text for row in rows]


def evaluate(rows: list[Labelled], test_share: float = 0.25) -> Evaluation:
    """Accuracy on a stratified held-out share the model never saw."""
    train, test = train_test_split(
        rows,
        test_size=test_share,
        random_state=SEED,
        stratify=[row.intent for row in rows],
    )
    pipeline = build_pipeline().fit(_texts(train), [row.intent for row in train])
    predicted = pipeline.predict(_texts(test))
    expected = [row.intent for row in test]
    by_language = {}
    for language in sorted({row.language for row in test}):
        pairs = [
            (e, p)
            for row, e, p in zip(test, expected, predicted, strict=True)
            if row.language == language
        ]
        by_language[language] = accuracy_score(*zip(*pairs, strict=True))
    return Evaluation(
        accuracy=accuracy_score(expected, predicted),
        accuracy_by_language=by_language,
        report=classification_report(expected, predicted, digits=3, zero_division=0),
        train_size=len(train),
        test_size=len(test),
    )


def cross_validated_accuracy(rows: list[Labelled], folds: int = 5) -> list[float]:
    """Accuracy on each of `folds` stratified folds: how much one split's figure
    depends on which replies happened to be held out."""
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    intents = [row.intent for row in rows]
    scores = []
    for train_index, test_index in splitter.split(rows, intents):
        train = [rows[i] for i in train_index]
        test = [rows[i] for i in test_index]
        pipeline = build_pipeline().fit(_texts(train), [row.intent for row in train])
        expected = [row.intent for row in test]
        scores.append(accuracy_score(expected, pipeline.predict(_texts(test))))
    return scores


def train(rows: list[Labelled], *, version: str, accuracy: float | None = None):
    """A model fitted on every labelled reply, as the bundle that is saved."""
    pipeline = build_pipeline().fit(_texts(rows), [row.intent for row in rows])
    return {
        "pipeline": pipeline,
        "version": version,
        "trained_at": timezone.now().isoformat(),
        "held_out_accuracy": accuracy,
        "sklearn": sklearn.__version__,
    }


def save(bundle: dict, path: Path) -> None:
    """Write the model so that a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(handle)
    try:
        joblib.dump(bundle, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _load(path: Path) -> dict | None:
    try:
        return joblib.load(path)
    except Exception:
        logger.exception("the saved reply classifier at %s is unreadable", path)
        return None


class IntentClassifier:
    def __init__(self, bundle: dict):
        self.pipeline = bundle["pipeline"]
        self.version = bundle["version"]

    def predict(self, text: str) -> Prediction:
        """The most likely intent of a cleaned reply and its probability."""
        probabilities = self.pipeline.predict_proba([text])[0]
        scores = {
            str(intent): round(float(p), 4)
            for intent, p in zip(self.pipeline.classes_, probabilities, strict=True)
        }
        intent = max(scores, key=scores.get)
        return Prediction(intent, scores[intent], scores, self.version)


_lock = threading.Lock()
_cache: dict[str, tuple[tuple[int, int], IntentClassifier]] = {}


def _stamp(path: Path) -> tuple[int, int] | None:
    """Changes when the file is replaced (`save` writes a new inode)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def model_path() -> Path:
    return Path(settings.REPLIES_MODEL_PATH)


def get_classifier() -> IntentClassifier:
    """The saved model, loaded once per process and again when it was retrained.

    Without a usable saved model (a fresh clone, another scikit-learn version)
    one is trained from the labelled set and saved, once per process.
    """
    path = model_path()
    with _lock:
        stamp = _stamp(path)
        cached = _cache.get(str(path))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        bundle = _load(path) if stamp is not None else None
        if bundle is None or bundle.get("sklearn") != sklearn.__version__:
            logger.info("training the reply classifier on first use")
            bundle = train(load_labelled(), version=data_version())
            save(bundle, path)
            stamp = _stamp(path)
        classifier = IntentClassifier(bundle)
        _cache[str(path)] = (stamp, classifier)
        return classifier
