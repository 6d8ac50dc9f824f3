"""Step fees: fixed, or a percentage of the open principal within limits."""

from decimal import Decimal

import pytest

from dunning.models import Step
from payments.fees import step_fee

D = Decimal


def fee(principal, currency="EUR", **kw):
    terms = {
        "kind": "percent",
        "fixed": D("0"),
        "percent": D("0"),
        "minimum": None,
        "maximum": None,
    }
    terms.update(kw)
    return step_fee(open_principal=D(principal), currency=currency, **terms)


def test_a_fixed_fee_is_the_amount_in_the_claims_currency():
    assert fee("1000.00", kind="fixed", fixed=D("50")) == D("50.00")


def test_two_percent_of_1935_yen_is_39_yen():
    """¥38.70 rounds half up to ¥39: yen have no minor unit."""
    assert fee("1935", "JPY", percent=D("2")) == D("39")


def test_a_percentage_fee_is_rounded_once_half_up():
    """1.5 % of 333.00 is 4.995: 5.00."""
    assert fee("333.00", percent=D("1.5")) == D("5.00")


@pytest.mark.parametrize(
    ("principal", "expected"),
    [("100.00", "5.00"), ("1200.00", "12.00"), ("9000.00", "25.00")],
)
def test_minimum_and_maximum_bound_a_percentage_fee(principal, expected):
    limits = {"percent": D("1"), "minimum": D("5.00"), "maximum": D("25.00")}

    assert fee(principal, **limits) == D(expected)


def test_no_principal_left_means_no_percentage_fee_not_even_the_minimum():
    assert fee("0", percent=D("2"), minimum=D("5.00")) == 0


def test_three_decimal_currencies_keep_three_decimals():
    assert fee("100.005", "KWD", percent=D("1")) == D("1.000")


def test_the_step_computes_its_own_fee():
    step = Step(fee_kind="percent", fee_percent=D("2"), fee_maximum=D("10"))

    assert step.fee_for(D("1000.00"), "EUR") == D("10.00")
    assert Step(fee=D("2.50")).fee_for(D("1000.00"), "JPY") == D("3")
