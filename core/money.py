"""Money: exact amounts in a currency's own minor unit, and their display.

Amounts are `Decimal`; the number of decimals comes from ISO 4217 through babel
(JPY 0, EUR 2, KWD 3). Rounding is always half up and happens here only.
`currency_problem` is the one check of a currency code that every entry point
(API, admin, imports) applies.
"""

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from babel.core import get_global
from babel.numbers import (
    format_currency,
    get_currency_name,
    get_currency_precision,
    get_territory_currencies,
    is_currency,
)
from django.core.exceptions import ValidationError

ZERO = Decimal("0")
CURRENCY_CODE = re.compile(r"[A-Z]{3}")
# How an amount is written: ASCII digits, a dot before the decimals, perhaps a
# minus. `Decimal` also reads "1e3", "NaN", "Infinity", "1_000" and other
# scripts' digits; none of them is how a claim's amount is written.
PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
PLAIN_HINT = "a plain decimal such as 1234.50 (no exponent, NaN or infinity)"
# Money columns hold 18 digits, 6 of them decimals (payments.models.MONEY).
MAX_WHOLE_DIGITS = 12


@cache
def _tender() -> frozenset[str]:
    # Legal tender of any territory, now or before (CLDR, through babel). ISO
    # 4217 also lists codes that are no money and that CLDR marks as tender
    # nowhere: XXX (no currency), the metals XAU, XAG, XPT and XPD, XTS for
    # testing, units of account (XDR, XSU, XUA) and fund codes (CHE, BOV, USN).
    # Former currencies (DEM) stay: they were money, and old books hold them.
    codes: set[str] = set()
    for territory in get_global("territory_currencies"):
        codes.update(
            get_territory_currencies(territory, start_date=date.min, end_date=date.max)
        )
    return frozenset(codes)


def is_money(code: str) -> bool:
    """An ISO 4217 code that is or was some territory's legal tender."""
    return code in _tender()


def currency_problem(code) -> str | None:
    """Why a claim, payment or credit note cannot be in `code`, or None."""
    if isinstance(code, str) and is_money(code):
        return None
    if not isinstance(code, str) or not CURRENCY_CODE.fullmatch(code):
        return f"{code!r} is not an ISO 4217 code (three capital letters, e.g. EUR)."
    if not is_currency(code):
        return f"{code} is not an ISO 4217 currency."
    name = get_currency_name(code, locale="en")
    return f"{code} ({name}) is not a currency a claim can be paid in."


def validate_currency(value: str) -> None:
    """`currency_problem` as a model and form field validator."""
    problem = currency_problem(value)
    if problem:
        raise ValidationError(problem, code="currency")


def minor_units(currency: str) -> int:
    """Decimals of the currency's minor unit, per ISO 4217."""
    return get_currency_precision(currency.upper())


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half up to the currency's minor unit."""
    return Decimal(amount).quantize(quantum(currency), rounding=ROUND_HALF_UP)


def to_minor(amount: Decimal, currency: str) -> int:
    """Amount as an integer count of minor units, for payment providers."""
    return int(round_money(amount, currency).scaleb(minor_units(currency)))


def from_minor(count: int, currency: str) -> Decimal:
    """A provider's integer count of minor units as an amount."""
    return (
        Decimal(int(count)).scaleb(-minor_units(currency)).quantize(quantum(currency))
    )


def parse_amount(raw: str, currency: str) -> Decimal:
    """Parse a plain decimal string; refuse more decimals than the currency has."""
    from decimal import InvalidOperation

    text = raw.strip().replace(" ", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{raw!r} is not an amount") from None
    if not PLAIN_DECIMAL.fullmatch(text):
        raise ValueError(f"{raw!r} is not {PLAIN_HINT}")
    if value.adjusted() >= MAX_WHOLE_DIGITS:
        raise ValueError(
            f"{raw!r} is too large (at most {MAX_WHOLE_DIGITS} digits before the "
            "decimal point)"
        )
    if value != round_money(value, currency):
        digits = minor_units(currency)
        raise ValueError(f"{raw!r} has more decimals than {currency} allows ({digits})")
    return round_money(value, currency)


def plain_money(amount: Decimal, currency: str) -> str:
    """Amount in the currency's decimals and its code ("120.00 EUR"), for error
    texts read beside an amount and currency sent as separate fields."""
    return f"{round_money(amount, currency)} {currency.upper()}"


def format_money(amount: Decimal, currency: str, locale: str = "en") -> str:
    """Amount with its currency, in the reader's locale and the currency's decimals."""
    return format_currency(
        round_money(amount, currency),
        currency.upper(),
        locale=locale or "en",
        currency_digits=True,
    )
