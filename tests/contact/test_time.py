"""Time zones and daylight saving: local wall-clock times stay local."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from core.calendar import next_open_time, wall_time
from tests.contact.conftest import BERLIN, NEW_YORK

pytestmark = pytest.mark.django_db

MORNING, EVENING = time(6, 0), time(20, 0)


def test_a_6am_new_york_send_in_november_is_11_utc():
    """06:00 Eastern Standard Time (UTC-5) on Tuesday 4 November 2025."""
    night = datetime(2025, 11, 4, 2, 0, tzinfo=NEW_YORK)

    send_at = next_open_time(night, MORNING, EVENING, "US")

    assert send_at.astimezone(UTC) == datetime(2025, 11, 4, 11, 0, tzinfo=UTC)


def test_the_same_6am_in_july_is_10_utc():
    """Summer time (UTC-4): the local hour stays, the UTC hour moves."""
    night = datetime(2025, 7, 8, 2, 0, tzinfo=NEW_YORK)

    send_at = next_open_time(night, MORNING, EVENING, "US")

    assert send_at.astimezone(UTC) == datetime(2025, 7, 8, 10, 0, tzinfo=UTC)


def test_6am_on_the_night_the_clocks_go_back_is_after_the_change():
    """Sunday 2 November 2025: 02:00 EDT becomes 01:00 EST; 06:00 is EST."""
    night = datetime(2025, 11, 2, 0, 30, tzinfo=NEW_YORK)

    send_at = next_open_time(night, MORNING, EVENING, "US", weekends=True)

    assert send_at.astimezone(UTC) == datetime(2025, 11, 2, 11, 0, tzinfo=UTC)


def test_a_time_the_clocks_skip_becomes_the_real_time_after_the_change():
    """02:30 does not exist in Berlin on 30 March 2025; it is 03:30 CEST."""
    moment = wall_time(date(2025, 3, 30), time(2, 30), BERLIN)

    assert moment.astimezone(UTC) == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)
    assert (moment.hour, moment.minute) == (3, 30)


def test_a_policy_window_in_new_york_plans_11_utc_in_november(
    creditor, default_policy, decide_on
):
    """A business debtor in New York under a 06:00–07:00 window: 06:00 EST."""
    from customers.models import Customer

    default_policy.send_from, default_policy.send_until = time(6), time(7)
    default_policy.save()
    erin = Customer.objects.create(
        creditor=creditor,
        external_id="C-ERIN",
        kind="business",
        name="Erin Inc",
        email="ap@erin.example",
        country="US",
        time_zone="America/New_York",
    )
    now = datetime(2025, 11, 3, 5, 0, tzinfo=UTC)

    decision = decide_on(erin, date(2025, 11, 4), now=now)

    assert decision.send_at.astimezone(UTC) == datetime(2025, 11, 4, 11, 0, tzinfo=UTC)
    assert (
        "after the contact policy's hours 06:00–07:00"
        in (decision.reasons["send_time"])
    )


def _daily(first: datetime):
    from django_q.models import Schedule

    return Schedule(
        func="dunning.tasks.run_daily",
        schedule_type=Schedule.DAILY,
        next_run=first,
        repeats=-1,
    )


@pytest.mark.parametrize(
    "first",
    [
        datetime(2025, 3, 29, 6, 0, tzinfo=BERLIN),  # the night to summer time
        datetime(2025, 10, 25, 6, 0, tzinfo=BERLIN),  # the night to winter time
    ],
)
def test_the_daily_schedule_keeps_6am_local_across_the_change(first):
    """django-q2 moves a daily next_run by one local day in the cluster's zone."""
    schedule = _daily(first.astimezone(UTC))

    second = schedule.calculate_next_run(schedule.next_run)
    third = schedule.calculate_next_run(second)

    assert [run.astimezone(BERLIN).hour for run in (second, third)] == [6, 6]
    assert second.astimezone(BERLIN).date() == date(
        first.year, first.month, first.day + 1
    )
    assert (second - first).total_seconds() / 3600 in (23, 25)


def test_the_daily_run_is_scheduled_at_6am_in_the_clusters_zone():
    """The migration's daily schedule starts at 06:00 local, not 06:00 UTC."""
    from django_q.conf import Conf
    from django_q.models import Schedule

    daily = Schedule.objects.get(name="dunning-daily-run")

    local = daily.next_run.astimezone(ZoneInfo(Conf.TIME_ZONE))
    assert (local.hour, local.minute) == (6, 0)
