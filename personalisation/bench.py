"""Timing of the propensity model: training on N rows, batched scoring.

The rows are the Taiwan file's feature rows drawn with replacement (seeded)
until there are N of them, labels alongside; a resampled set has the real
file's mix of values and the real ratio of defaults, which is what the trees'
fitting and scoring time depends on.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from personalisation import training


@dataclass(frozen=True)
class BenchResult:
    rows: int
    batch: int
    train_seconds: float
    score_seconds: float

    @property
    def scored_per_second(self) -> float:
        return self.rows / self.score_seconds


def resampled(path: Path, rows: int, seed: int = 0) -> training.Dataset:
    source = training.taiwan_dataset(path)
    pick = np.random.default_rng(seed).integers(0, len(source), size=rows)
    features = source.features.iloc[pick].reset_index(drop=True)
    return training.Dataset("taiwan-resampled", features, source.paid[pick], None)


def run(path: Path, *, rows: int, batch: int) -> BenchResult:
    dataset = resampled(path, rows)
    with training.model_threads():
        started = time.perf_counter()
        pipeline = training.build_pipeline().fit(dataset.features, dataset.paid)
        train_seconds = time.perf_counter() - started

        started = time.perf_counter()
        for start in range(0, rows, batch):
            pipeline.predict_proba(dataset.features.iloc[start : start + batch])
        score_seconds = time.perf_counter() - started
    return BenchResult(rows, batch, train_seconds, score_seconds)
