"""Dunning fees: what a plan step charges on a claim.

A step charges either a fixed amount or a percentage of the claim's open
principal, kept between an optional minimum and maximum. All amounts are in the
claim's currency and the result is rounded half up to its minor unit once, after
the limits are applied. The database keeps a step's fee to once per claim
(`ledger_one_fee_per_step`); this module only says how much.
"""

from decimal import Decimal

from core.money import ZERO, round_money

FIXED = "fixed"
PERCENT = "percent"


def step_fee(
    *,
    kind: str,
    fixed: Decimal,
    percent: Decimal,
    minimum: Decimal | None,
    maximum: Decimal | None,
    open_principal: Decimal,
    currency: str,
) -> Decimal:
    """The fee of one step on a claim with `open_principal` left, never negative."""
    if kind == FIXED:
        return max(ZERO, round_money(fixed, currency))
    if kind != PERCENT:
        raise ValueError(f"unknown fee kind {kind!r}")

    if open_principal <= 0:
        # Only fees or interest are left: a percentage of nothing, no minimum.
        return ZERO
    fee = open_principal * percent / 100
    if minimum is not None:
        fee = max(fee, minimum)
    if maximum is not None:
        fee = min(fee, maximum)
    return max(ZERO, round_money(fee, currency))
