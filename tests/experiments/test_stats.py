"""The interval, uplift and probability-to-be-best maths against values
computed by hand or published (Newcombe 1998, Stat. Med. 17: 857-872 and
873-890)."""

import math

import pytest

from experiments import stats


@pytest.mark.parametrize(
    "converted, n, low, high",
    [
        # Newcombe's single-proportion examples, Wilson score interval.
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_the_published_values(converted, n, low, high):
    result = stats.wilson(converted, n)

    assert result == pytest.approx((low, high), abs=5e-5)


def test_wilson_interval_by_hand():
    """8/10: centre (0.8 + z²/20) / (1 + z²/10), half-width
    z·√(0.016 + z²/400) / (1 + z²/10)."""
    z = stats.Z95
    centre = (0.8 + z * z / 20) / (1 + z * z / 10)
    half = z * math.sqrt(0.8 * 0.2 / 10 + z * z / 400) / (1 + z * z / 10)

    assert stats.wilson(8, 10) == pytest.approx((centre - half, centre + half))
    assert stats.wilson(8, 10) == pytest.approx((0.4902, 0.9433), abs=5e-5)


def test_no_assignments_give_the_whole_range():
    assert stats.wilson(0, 0) == (0.0, 1.0)
    assert stats.uplift(0, 0, 3, 10) is None


@pytest.mark.parametrize(
    "a, n1, b, n2, low, high",
    [
        # Newcombe's examples for a difference of proportions, method 10.
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (5, 56, 0, 29, -0.0381, 0.1926),
    ],
)
def test_uplift_interval_matches_newcombe(a, n1, b, n2, low, high):
    difference, lower, upper = stats.uplift(a, n1, b, n2)

    assert difference == pytest.approx(a / n1 - b / n2)
    assert (lower, upper) == pytest.approx((low, high), abs=5e-5)


def test_posterior_after_a_uniform_prior():
    assert stats.posterior(3, 10) == (4, 8)


def _log_beta(x, y) -> float:
    return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)


def _exact_two_arm(a1, b1, a2, b2) -> float:
    """P(X2 > X1) for X1 ~ Beta(a1, b1), X2 ~ Beta(a2, b2) with integer a2
    (Evan Miller's closed form): the sum over i < a2 of
    B(a1 + i, b1 + b2) / ((b2 + i) B(1 + i, b2) B(a1, b1))."""
    return sum(
        math.exp(
            _log_beta(a1 + i, b1 + b2)
            - math.log(b2 + i)
            - _log_beta(1 + i, b2)
            - _log_beta(a1, b1)
        )
        for i in range(a2)
    )


def test_probability_best_matches_the_closed_form_for_two_arms():
    """20/100 against 30/100: P(B best) from the exact formula, the Monte
    Carlo estimate within three standard errors of it."""
    a, b = stats.posterior(20, 100), stats.posterior(30, 100)
    exact = _exact_two_arm(*a, *b)

    chances = stats.probability_best([a, b], seed=7)

    standard_error = math.sqrt(exact * (1 - exact) / stats.DRAWS)
    assert 0.9 < exact < 0.97
    assert chances[1] == pytest.approx(exact, abs=3 * standard_error)
    assert sum(chances) == pytest.approx(1.0)


def test_probability_best_of_equal_arms_is_shared_and_seeded():
    posteriors = [stats.posterior(10, 50)] * 3

    first = stats.probability_best(posteriors, seed=1)

    assert first == stats.probability_best(posteriors, seed=1)
    for chance in first:
        assert chance == pytest.approx(1 / 3, abs=0.02)
