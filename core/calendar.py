"""Working days and public holidays, from the `holidays` library."""

from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=256)
def _holidays(country: str, subdivision: str, year: int):
    try:
        return holidays.country_holidays(
            country, subdiv=subdivision or None, years=year
        )
    except NotImplementedError:
        # A country the library does not know has no public holidays for us.
        return {}


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
