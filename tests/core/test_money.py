"""Minor units come from ISO 4217 (babel); amounts are shown in the reader's locale."""

from decimal import Decimal

import pytest

from core.money import format_money, minor_units, parse_amount, round_money, to_minor


@pytest.mark.parametrize(
    ("currency", "digits"), [("JPY", 0), ("EUR", 2), ("GBP", 2), ("KWD", 3)]
)
def test_minor_units_follow_iso_4217(currency, digits):
    """JPY has no minor unit, EUR two decimals, KWD three."""
    assert minor_units(currency) == digits


def test_rounding_is_half_up_to_the_minor_unit():
    """0.5 of a minor unit rounds away from zero, in every currency."""
    assert round_money(Decimal("38.5"), "JPY") == Decimal("39")
    assert round_money(Decimal("10.275"), "EUR") == Decimal("10.28")
    assert round_money(Decimal("10.2749"), "EUR") == Decimal("10.27")
    assert round_money(Decimal("1.0005"), "KWD") == Decimal("1.001")


def test_payment_requests_use_integer_minor_units():
    """Providers get cents for EUR, yen for JPY and fils for KWD."""
    assert to_minor(Decimal("1050.00"), "EUR") == 105000
    assert to_minor(Decimal("1935"), "JPY") == 1935
    assert to_minor(Decimal("12.345"), "KWD") == 12345


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "shown"),
    [
        ("1935", "JPY", "en", "¥1,935"),
        ("1935", "JPY", "de", "1.935\xa0¥"),
        ("1050", "EUR", "en", "€1,050.00"),
        ("1050", "EUR", "de", "1.050,00\xa0€"),
        ("12.345", "KWD", "en", "KWD12.345"),
    ],
)
def test_amounts_are_formatted_per_locale_with_the_currencys_decimals(
    amount, currency, locale, shown
):
    """JPY never shows decimals; EUR shows two, in the debtor's locale."""
    assert format_money(Decimal(amount), currency, locale) == shown


def test_an_amount_with_more_decimals_than_the_currency_is_refused():
    """¥10.5 does not exist."""
    with pytest.raises(ValueError, match="more decimals than JPY allows"):
        parse_amount("10.5", "JPY")
    assert parse_amount("10.500", "KWD") == Decimal("10.500")
