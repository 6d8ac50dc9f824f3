"""Interest: days after the effective due date to the payment day, principal only."""

from datetime import date
from decimal import Decimal

import pytest

from payments.interest import (
    RatePeriod,
    accrue,
    day_fraction,
    thirty_360_days,
)

D = Decimal
CONTRACT = [RatePeriod(date.min, D("12.50"))]
BOOKED = [(date(2025, 1, 1), D("1000.00"))]


def interest(end, *, changes=BOOKED, rates=CONTRACT, day_count="act/365", **kw):
    return accrue(
        principal_changes=changes,
        start=kw.pop("start", date(2025, 1, 31)),
        end=end,
        rates=rates,
        day_count=day_count,
        currency=kw.pop("currency", "EUR"),
        **kw,
    )


def test_thirty_days_at_12_5_percent_act_365_are_10_27():
    """Due Friday 2025-01-31, paid 2025-03-02: 1 February to 2 March is 30 days."""
    accrual = interest(date(2025, 3, 2))

    assert accrual.days == 30
    assert accrual.total == D("10.27")
    [segment] = accrual.segments
    assert (segment.first_day, segment.last_day) == (date(2025, 2, 1), date(2025, 3, 2))
    assert segment.rate == D("12.50")
    assert segment.principal == D("1000.00")


def test_paid_after_ten_days_the_interest_is_3_42():
    """1 000.00 x 12.5 % x 10/365 = 3.4246..., rounded half up once."""
    accrual = interest(date(2025, 2, 10))

    assert accrual.days == 10
    assert accrual.total == D("3.42")


def test_no_interest_on_or_before_the_due_date():
    assert interest(date(2025, 1, 31)).total == 0
    assert interest(date(2025, 1, 20)).segments == ()


def test_a_partial_payment_lowers_the_principal_from_the_next_day():
    """400 paid on 10 February: the 10th still bears interest on 1 000."""
    changes = [*BOOKED, (date(2025, 2, 10), D("-400.00"))]

    accrual = interest(date(2025, 3, 2), changes=changes)

    first, second = accrual.segments
    assert (first.days, first.principal) == (10, D("1000.00"))
    assert (second.first_day, second.days, second.principal) == (
        date(2025, 2, 11),
        20,
        D("600.00"),
    )
    expected = (D(1000) * 10 + D(600) * 20) * D("0.125") / 365
    assert accrual.total == expected.quantize(D("0.01"))


def test_a_new_base_rate_splits_the_period_on_1_july():
    """German base rate 2.27 % to 30 June 2025, 1.27 % from 1 July; + 9 points."""
    rates = [
        RatePeriod(date(2025, 1, 1), D("11.27")),
        RatePeriod(date(2025, 7, 1), D("10.27")),
    ]

    accrual = interest(date(2025, 7, 10), start=date(2025, 6, 20), rates=rates)

    first, second = accrual.segments
    assert (first.first_day, first.last_day, first.days) == (
        date(2025, 6, 21),
        date(2025, 6, 30),
        10,
    )
    assert (second.first_day, second.days, second.rate) == (
        date(2025, 7, 1),
        10,
        D("10.27"),
    )
    expected = D(1000) * (D("11.27") * 10 + D("10.27") * 10) / 100 / 365
    assert accrual.total == expected.quantize(D("0.01"))


def test_an_unchanged_rate_does_not_split_the_segment():
    """A new row with the same rate leaves one line to read."""
    rates = [
        RatePeriod(date(2025, 1, 1), D("6.27")),
        RatePeriod(date(2025, 7, 1), D("6.27")),
    ]

    accrual = interest(date(2025, 7, 10), start=date(2025, 6, 20), rates=rates)

    assert len(accrual.segments) == 1
    assert accrual.days == 20


def test_disputed_days_bear_no_interest():
    """Disputed from 11 to 20 February (resolved on the 21st): 20 of 30 days."""
    pauses = [(date(2025, 2, 11), date(2025, 2, 21))]

    accrual = interest(date(2025, 3, 2), pauses=pauses)

    assert accrual.days == 20
    assert [(s.first_day, s.last_day) for s in accrual.segments] == [
        (date(2025, 2, 1), date(2025, 2, 10)),
        (date(2025, 2, 21), date(2025, 3, 2)),
    ]
    assert accrual.total == (D(1000) * D("0.125") * 20 / 365).quantize(D("0.01"))


def test_a_dispute_still_open_stops_interest_until_today():
    accrual = interest(date(2025, 3, 2), pauses=[(date(2025, 2, 11), None)])

    assert accrual.days == 10
    assert accrual.total == D("3.42")


def test_days_before_the_first_known_rate_are_reported_not_charged():
    rates = [RatePeriod(date(2025, 2, 21), D("10"))]

    accrual = interest(date(2025, 3, 2), rates=rates)

    assert accrual.unrated_days == 20
    assert accrual.days == 10


def test_a_settled_principal_bears_no_interest():
    changes = [*BOOKED, (date(2025, 1, 15), D("-1000.00"))]

    assert interest(date(2025, 3, 2), changes=changes).segments == ()


@pytest.mark.parametrize(
    ("day_count", "expected"),
    [("act/365", "10.27"), ("act/360", "10.42"), ("30/360", "11.11")],
)
def test_day_counts(day_count, expected):
    """30 actual days over 365 or 360; 30/360 counts 31 January to 2 March as 32."""
    accrual = interest(date(2025, 3, 2), day_count=day_count)

    assert accrual.total == D(expected)


def test_thirty_360_counts_every_month_as_30_days():
    assert thirty_360_days(date(2025, 1, 31), date(2025, 2, 28)) == 28
    assert thirty_360_days(date(2025, 1, 30), date(2025, 3, 31)) == 60
    assert thirty_360_days(date(2025, 1, 15), date(2025, 7, 15)) == 180
    assert day_fraction(date(2025, 1, 15), date(2025, 7, 15), "30/360") == (180, 360)
    assert day_fraction(date(2025, 1, 15), date(2025, 7, 15), "act/365") == (181, 365)


def test_yen_interest_is_rounded_to_whole_yen():
    accrual = interest(
        date(2025, 3, 2), changes=[(date(2025, 1, 1), D("1935"))], currency="JPY"
    )

    # 1 935 x 12.5 % x 30/365 = 19.88...
    assert accrual.total == D("20")


def test_the_description_shows_rate_principal_and_days():
    accrual = interest(date(2025, 3, 2))

    assert accrual.describe() == "12.50 % p.a. on €1,000.00, 30 days (act/365)"
    assert (
        accrual.describe("de") == "12,50 % p. a. auf 1.000,00\xa0€, 30 Tage (act/365)"
    )
