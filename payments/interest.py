"""Interest on late payment, computed from a claim's principal history.

Pure functions, no database: callers pass the principal's changes (the claim's
ledger rows on the principal component, by booking date), the annual rate per
period, the day count and the days the claim was disputed.

The rules, as docs/LEDGER.md states them:

- Interest runs from the day after the effective due date up to and including
  the payment date: an accrual covers the days `start < day <= end`.
- It is owed on the open principal only. A change booked on a day (a payment, a
  credit note) counts from the next day, so the payment day still bears interest
  on what was open that morning.
- The rate is the one in force on each day; a new rate (the base rate changes
  on 1 January and 1 July) splits the period.
- Days on which the claim was disputed bear no interest.
- The total is rounded once, half up, to the currency's minor unit; the
  segments keep their exact amounts so that the rounding is explainable.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from core.money import ZERO, format_money, round_money

ACT_365 = "act/365"
ACT_360 = "act/360"
THIRTY_360 = "30/360"
DAY_COUNTS = (ACT_365, ACT_360, THIRTY_360)

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class RatePeriod:
    """An annual rate in percent, in force from `valid_from` to the next period."""

    valid_from: date
    rate: Decimal


@dataclass(frozen=True)
class Segment:
    """Days with one principal and one rate: `first_day` to `last_day` inclusive."""

    first_day: date
    last_day: date
    days: int
    principal: Decimal
    rate: Decimal
    amount: Decimal

    def as_json(self, currency: str) -> dict:
        """Exact strings: the principal in minor units, the amount unrounded."""
        return {
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
            "days": self.days,
            "principal": str(round_money(self.principal, currency)),
            "rate": rate_text(self.rate),
            "amount": str(self.amount),
        }


@dataclass(frozen=True)
class Accrual:
    """Interest for the days after `start` up to and including `end`."""

    start: date
    end: date
    currency: str
    day_count: str
    segments: tuple[Segment, ...]
    total: Decimal
    unrated_days: int = 0

    @property
    def days(self) -> int:
        return sum(segment.days for segment in self.segments)

    @property
    def first_day(self) -> date | None:
        return self.segments[0].first_day if self.segments else None

    @property
    def last_day(self) -> date | None:
        return self.segments[-1].last_day if self.segments else None

    def describe(self, locale: str = "en") -> str:
        """Rate and days per segment, e.g. "12.50 % p.a. on €1,000.00, 30 days"."""
        return "; ".join(
            segment_text(segment, self.currency, self.day_count, locale)
            for segment in self.segments
        )

    def as_json(self) -> dict:
        return {
            "day_count": self.day_count,
            "segments": [segment.as_json(self.currency) for segment in self.segments],
            "total": str(self.total),
            "unrated_days": self.unrated_days,
        }


def rate_text(rate: Decimal) -> str:
    """A rate as an exact string with at least two decimals: "12.50", "3.125"."""
    cents = rate.quantize(Decimal("0.01"))
    return str(cents if cents == rate else rate.normalize())


def format_rate(rate: Decimal, locale: str = "en") -> str:
    """A rate in percent with at least two decimals: 12.50, 3,62 in German."""
    from babel.numbers import format_decimal

    return format_decimal(rate, format="#,##0.00##", locale=locale or "en")


def segment_text(segment, currency: str, day_count: str, locale: str = "en") -> str:
    """One segment (a `Segment` or its JSON) as a reader sees it."""
    if isinstance(segment, dict):
        rate, principal, days = (
            Decimal(segment["rate"]),
            Decimal(segment["principal"]),
            segment["days"],
        )
    else:
        rate, principal, days = segment.rate, segment.principal, segment.days
    german = (locale or "en").lower().startswith("de")
    per_year = "p. a." if german else "p.a."
    on = "auf" if german else "on"
    unit = (
        ("Tag" if days == 1 else "Tage") if german else "day" if days == 1 else "days"
    )
    return (
        f"{format_rate(rate, locale)} % {per_year} {on} "
        f"{format_money(principal, currency, locale)}, {days} {unit} ({day_count})"
    )


def thirty_360_days(start: date, end: date) -> int:
    """Days from `start` to `end` by the 30/360 bond basis (ISDA)."""
    d1 = min(start.day, 30)
    d2 = min(end.day, 30) if d1 == 30 else end.day
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + d2 - d1


def day_fraction(start: date, end: date, day_count: str) -> tuple[int, int]:
    """Days counted for `start < day <= end`, and the days of a year."""
    if day_count == ACT_365:
        return (end - start).days, 365
    if day_count == ACT_360:
        return (end - start).days, 360
    if day_count == THIRTY_360:
        return thirty_360_days(start, end), 360
    raise ValueError(f"unknown day count {day_count!r}")


def rate_on(day: date, rates: Sequence[RatePeriod]) -> Decimal | None:
    """The rate in force on `day`; None before the first known period."""
    found = None
    for period in rates:
        if period.valid_from > day:
            break
        found = period.rate
    return found


def _paused(day: date, pauses) -> bool:
    return any(
        begin <= day and (until is None or day < until) for begin, until in pauses
    )


def accrue(
    *,
    principal_changes: Iterable[tuple[date, Decimal]],
    start: date,
    end: date,
    rates: Sequence[RatePeriod],
    day_count: str,
    currency: str,
    pauses: Iterable[tuple[date, date | None]] = (),
) -> Accrual:
    """Interest for the days after `start` up to and including `end`.

    `principal_changes` are (booked on, signed amount) of the principal
    component; `pauses` are [begin, until) date ranges (until None: still
    running) without interest, e.g. while the claim is disputed.
    """
    if day_count not in DAY_COUNTS:
        raise ValueError(f"unknown day count {day_count!r}")
    changes = sorted(principal_changes)
    rates = sorted(rates, key=lambda period: period.valid_from)
    pauses = list(pauses)
    if end <= start:
        return Accrual(start, end, currency, day_count, (), ZERO)

    # Boundaries: a period (a, b] has one principal, one rate and is either
    # paused or not. A change booked on day c counts from c + 1; a rate or a
    # pause beginning on day v starts a period after v - 1.
    cuts = {start, end}
    cuts.update(booked_on for booked_on, _ in changes if start < booked_on < end)
    starts = [period.valid_from for period in rates]
    for begin, until in pauses:
        starts.append(begin)
        if until is not None:
            starts.append(until)
    cuts.update(day - ONE_DAY for day in starts if start < day <= end)
    cuts = sorted(cuts)

    pieces: list[list] = []
    unrated = 0
    for a, b in zip(cuts, cuts[1:], strict=False):
        first = a + ONE_DAY
        if _paused(first, pauses):
            continue
        principal = sum(
            (amount for booked_on, amount in changes if booked_on <= a), ZERO
        )
        if principal <= 0:
            continue
        rate = rate_on(first, rates)
        if rate is None:
            unrated += (b - a).days
            continue
        if pieces and pieces[-1][1] == a and pieces[-1][2:] == [principal, rate]:
            # The same principal and rate go on: one segment, one line to read.
            pieces[-1][1] = b
        else:
            pieces.append([a, b, principal, rate])

    segments = []
    for a, b, principal, rate in pieces:
        days, year = day_fraction(a, b, day_count)
        amount = principal * max(rate, ZERO) / 100 * days / year
        segments.append(Segment(a + ONE_DAY, b, days, principal, rate, amount))
    total = round_money(sum((s.amount for s in segments), ZERO), currency)
    return Accrual(
        start, end, currency, day_count, tuple(segments), total, unrated_days=unrated
    )
