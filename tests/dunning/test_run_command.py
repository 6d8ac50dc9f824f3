"""`run_dunning --date`: a date it can count deadlines from, or a clear refusal."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dunning.models import Run

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_date_at_the_calendar_s_ends_is_refused_and_leaves_no_run(day, alice):
    with pytest.raises(CommandError, match=f"--date {day} is outside 1900-01-01"):
        call_command("run_dunning", "--date", day)

    assert not Run.objects.exists()


@pytest.mark.parametrize("day", ["2025-02-30", "15.07.2013"])
def test_a_date_that_is_no_iso_date_is_refused(day):
    with pytest.raises(CommandError, match="is not YYYY-MM-DD"):
        call_command("run_dunning", "--date", day)
