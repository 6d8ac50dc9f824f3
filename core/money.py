"""Money: exact amounts in a currency's own minor unit, and their display.

Amounts are `Decimal`; the number of decimals comes from ISO 4217 through babel
(JPY 0, EUR 2, KWD 3). Rounding is always half up and happens here only.
"""

from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, get_currency_precision

ZERO = Decimal("0")


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
    if not value.is_finite():
        raise ValueError(f"{raw!r} is not an amount")
    if value != round_money(value, currency):
        digits = minor_units(currency)
        raise ValueError(f"{raw!r} has more decimals than {currency} allows ({digits})")
    return round_money(value, currency)


def format_money(amount: Decimal, currency: str, locale: str = "en") -> str:
    """Amount with its currency, in the reader's locale and the currency's decimals."""
    return format_currency(
        round_money(amount, currency),
        currency.upper(),
        locale=locale or "en",
        currency_digits=True,
    )
