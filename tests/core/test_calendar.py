"""Due dates and send dates move past weekends and the creditor's public holidays."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from core.calendar import (
    days_overdue,
    effective_due_date,
    is_overdue,
    is_working_day,
    next_working_time,
)


def test_a_due_date_on_saturday_moves_to_monday():
    """Due Saturday 2025-03-15 in Germany: effective Monday 2025-03-17."""
    assert effective_due_date(date(2025, 3, 15), "DE") == date(2025, 3, 17)


def test_a_claim_due_on_saturday_is_one_day_overdue_on_tuesday():
    """Monday is the effective due date: not overdue on Monday, 1 day on Tuesday."""
    due = date(2025, 3, 15)

    assert not is_overdue(due, date(2025, 3, 17), "DE")
    assert days_overdue(due, date(2025, 3, 17), "DE") == 0
    assert is_overdue(due, date(2025, 3, 18), "DE")
    assert days_overdue(due, date(2025, 3, 18), "DE") == 1


def test_christmas_holidays_and_the_weekend_move_the_due_date_to_the_29th():
    """25 and 26 December are holidays, the 27th and 28th a weekend."""
    assert effective_due_date(date(2025, 12, 25), "DE") == date(2025, 12, 29)


def test_regional_holidays_count_for_the_creditors_region():
    """6 January (Epiphany) is a holiday in Bavaria, not in Berlin."""
    assert effective_due_date(date(2025, 1, 6), "DE", "BY") == date(2025, 1, 7)
    assert effective_due_date(date(2025, 1, 6), "DE", "BE") == date(2025, 1, 6)


def test_a_country_the_library_does_not_know_only_skips_weekends():
    """No holiday table: Saturday still moves to Monday."""
    assert is_working_day(date(2025, 3, 14), "XX")
    assert effective_due_date(date(2025, 3, 15), "XX") == date(2025, 3, 17)


def test_a_send_time_on_a_holiday_moves_to_the_next_working_day_same_local_time():
    """Good Friday 09:30 in Berlin becomes Tuesday 09:30 after Easter Monday."""
    berlin = ZoneInfo("Europe/Berlin")
    planned = datetime(2025, 4, 18, 9, 30, tzinfo=berlin)

    moved = next_working_time(planned, "DE")

    assert moved == datetime(2025, 4, 22, 9, 30, tzinfo=berlin)


def test_a_send_time_keeps_the_local_hour_across_a_clock_change():
    """Saturday 29 March 10:00 CET moves to Monday 31 March 10:00 CEST."""
    berlin = ZoneInfo("Europe/Berlin")
    planned = datetime(2025, 3, 29, 10, 0, tzinfo=berlin)

    moved = next_working_time(planned, "DE")

    assert moved.astimezone(berlin).hour == 10
    assert moved.date() == date(2025, 3, 31)
    assert moved.utcoffset().total_seconds() == 7200


def test_a_send_time_on_a_working_day_stays():
    berlin = ZoneInfo("Europe/Berlin")
    planned = datetime(2025, 3, 18, 8, 0, tzinfo=berlin)

    assert next_working_time(planned, "DE") == planned
