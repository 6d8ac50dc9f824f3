"""Working days and public holidays, from the `holidays` library."""

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

import holidays

# The days a claim, payment or run may be dated: a year typed as 0202 or 20260
# is a typo, not a date in the books.
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


def book_date_problem(day: date, name: str) -> str:
    """Why `day` cannot be a booking date, or ""."""
    if EARLIEST <= day <= LATEST:
        return ""
    return f"{name} {day.isoformat()} is outside {EARLIEST.year}-{LATEST.year}"


@lru_cache(maxsize=256)
def _holidays(country: str, subdivision: str, year: int):
    try:
        return holidays.country_holidays(
            country, subdiv=subdivision or None, years=year
        )
    except NotImplementedError:
        if subdivision:
            # A region the library does not know (stored before it was
            # checked): the country's own holidays still hold.
            return _holidays(country, "", year)
        # A country the library does not know has no public holidays for us.
        return {}


@lru_cache(maxsize=1)
def _regions() -> dict[str, list[str]]:
    return holidays.list_supported_countries()


def subdivision_problem(country: str, subdivision: str) -> str:
    """Why `subdivision` is not a region of `country` with its own public
    holidays, or "" if it is one (or empty)."""
    if not subdivision:
        return ""
    known = _regions().get(country.upper())
    if not known:
        return f"{country} has no regions with holidays of their own"
    if subdivision not in known:
        return (
            f"{subdivision!r} is not a region of {country}: one of {', '.join(known)}"
        )
    return ""


def is_working_day(day: date, country: str, subdivision: str = "") -> bool:
    return day.weekday() < 5 and day not in _holidays(country, subdivision, day.year)


def next_working_day(day: date, country: str, subdivision: str = "") -> date:
    """The day itself if it is a working day, else the next one."""
    while not is_working_day(day, country, subdivision):
        day += timedelta(days=1)
    return day


def effective_due_date(due_on: date, country: str, subdivision: str = "") -> date:
    """A due date on a weekend or public holiday moves to the next working day."""
    return next_working_day(due_on, country, subdivision)


def is_overdue(due_on: date, on: date, country: str, subdivision: str = "") -> bool:
    """Overdue when the creditor-local date `on` is after the effective due date."""
    return on > effective_due_date(due_on, country, subdivision)


def days_overdue(due_on: date, on: date, country: str, subdivision: str = "") -> int:
    """Days since the effective due date, 0 while not overdue."""
    return max(0, (on - effective_due_date(due_on, country, subdivision)).days)


def next_working_time(
    moment: datetime, country: str, subdivision: str = ""
) -> datetime:
    """A send time on a non-working day moves to the next working day.

    The local wall-clock time stays the same (10:00 stays 10:00 across a change
    to summer time); `moment` must be aware, in the zone whose calendar counts.
    """
    if moment.tzinfo is None:
        raise ValueError("next_working_time needs an aware datetime")
    day = next_working_day(moment.date(), country, subdivision)
    if day == moment.date():
        return moment
    return datetime.combine(day, moment.timetz().replace(fold=0))


def closed_day_reason(
    day: date,
    country: str,
    subdivision: str = "",
    *,
    weekends: bool = False,
    holidays: bool = False,
) -> str:
    """Why nothing goes out on `day` ("a Sunday", "a public holiday …"), or "".

    `weekends` and `holidays` say whether Saturdays and Sundays and the public
    holidays of `country` (and its `subdivision`) are open for sending.
    """
    if not weekends and day.weekday() >= 5:
        return f"a {day:%A}"
    if not holidays:
        name = _holidays(country, subdivision, day.year).get(day)
        if name:
            region = f"{country}-{subdivision}" if subdivision else country
            return f"a public holiday in {region} ({name})"
    return ""


def wall_time(day: date, clock: time, zone: tzinfo) -> datetime:
    """`clock` on `day` in `zone`; a time that a change to summer time skips
    (02:30 on the last Sunday of March in Berlin) becomes the real time after it."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC).astimezone(zone)


def next_open_time(
    moment: datetime,
    opens: time,
    closes: time,
    country: str,
    subdivision: str = "",
    *,
    weekends: bool = False,
    holidays: bool = False,
) -> datetime:
    """The first moment at or after `moment` inside the daily window [opens,
    closes) on a day open for sending.

    `moment` must be aware and in the zone whose clock and calendar count (the
    debtor's): the window is local wall-clock time, so 08:00 stays 08:00 on
    both sides of a change to or from summer time.
    """
    if moment.tzinfo is None:
        raise ValueError("next_open_time needs an aware datetime")
    rules = {"weekends": weekends, "holidays": holidays}
    day, clock = moment.date(), moment.time()
    if not closed_day_reason(day, country, subdivision, **rules):
        if opens <= clock < closes:
            return moment
        if clock < opens:
            return wall_time(day, opens, moment.tzinfo)
    day += timedelta(days=1)
    while closed_day_reason(day, country, subdivision, **rules):
        day += timedelta(days=1)
    return wall_time(day, opens, moment.tzinfo)
