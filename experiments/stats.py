"""The statistics of an experiment: intervals, uplift and probability to be best.

Rates are conversions over assignments (intention to treat). Intervals are 95 %:
Wilson's score interval for one rate, Newcombe's hybrid score interval (method
10 of Newcombe 1998) for the difference of two rates. The probability to be
best is a Monte Carlo estimate over Beta(1 + converted, 1 + not converted)
posteriors with a seeded generator, so the same data give the same figures.
"""

import hashlib
import math

import numpy as np

Z95 = 1.959963984540054
DRAWS = 20_000


def wilson(converted: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for converted / n; (0, 1) without data."""
    if n == 0:
        return 0.0, 1.0
    p = converted / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def uplift(
    converted: int, n: int, base_converted: int, base_n: int, z: float = Z95
) -> tuple[float, float, float] | None:
    """Difference of rates (this − base) with Newcombe's hybrid score
    interval; None when either side has no assignments."""
    if n == 0 or base_n == 0:
        return None
    p1, p2 = converted / n, base_converted / base_n
    l1, u1 = wilson(converted, n, z)
    l2, u2 = wilson(base_converted, base_n, z)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return difference, low, high


def posterior(converted: int, n: int) -> tuple[int, int]:
    """Beta parameters after a uniform Beta(1, 1) prior."""
    return 1 + converted, 1 + n - converted


def seed_from(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def probability_best(
    posteriors: list[tuple[int, int]], *, seed: int, draws: int = DRAWS
) -> list[float]:
    """P(each posterior's rate is the highest), estimated from `draws` joint
    draws; ties (only possible with identical draws) go to the first."""
    if not posteriors:
        return []
    if len(posteriors) == 1:
        return [1.0]
    rng = np.random.default_rng(seed)
    alphas = np.array([a for a, _ in posteriors], dtype=float)
    betas = np.array([b for _, b in posteriors], dtype=float)
    samples = rng.beta(alphas, betas, size=(draws, len(posteriors)))
    wins = np.bincount(samples.argmax(axis=1), minlength=len(posteriors))
    return [round(float(w) / draws, 4) for w in wins]
