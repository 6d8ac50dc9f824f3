"""Working days and public holidays, from the `holidays` library."""

from datetime import date, timedelta
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
