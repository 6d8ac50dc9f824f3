"""A debtor's region (Bavaria, Texas …): stored, checked against the country's
regions, and its public holidays kept when the message is timed."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from core.calendar import is_working_day, subdivision_problem
from customers.models import Customer
from tests.customers.test_import import run_import, write

EPIPHANY = date(2025, 1, 6)  # a holiday in Bavaria, not in Berlin


def test_a_region_of_the_country_passes_and_others_are_named():
    assert subdivision_problem("DE", "BY") == ""
    assert subdivision_problem("DE", "") == ""
    assert "'TX' is not a region of DE: one of BB, BE" in subdivision_problem(
        "DE", "TX"
    )
    assert subdivision_problem("US", "TX") == ""


def test_an_unknown_region_keeps_the_country_s_holidays():
    """A region stored before it was checked does not erase the holidays."""
    assert not is_working_day(date(2025, 12, 25), "DE", "XX")
    assert not is_working_day(EPIPHANY, "DE", "BY")
    assert is_working_day(EPIPHANY, "DE", "BE")


@pytest.mark.django_db
def test_the_admin_form_refuses_a_region_of_another_country(alice):
    alice.country, alice.subdivision = "FR", "BY"

    with pytest.raises(ValidationError) as refused:
        alice.full_clean()

    assert "subdivision" in refused.value.message_dict


@pytest.mark.django_db
def test_the_csv_import_stores_the_region_and_refuses_a_wrong_one(tmp_path):
    header = (
        "customer_id,customer_name,country,subdivision,invoice_id,amount,"
        "issued_on,due_on\n"
    )
    good = write(
        tmp_path,
        "good.csv",
        header + "C1,Anna Bauer,DE,BY,INV-1,100.00,2025-01-10,2025-02-10\n",
    )
    bad = write(
        tmp_path,
        "bad.csv",
        header + "C2,Ben Roth,DE,Texas,INV-2,100.00,2025-01-10,2025-02-10\n",
    )

    run_import(good, "--format", "csv")
    with pytest.raises(CommandError) as refused:
        run_import(bad, "--format", "csv")

    assert Customer.objects.get(external_id="C1").subdivision == "BY"
    assert "bad.csv line 2: subdivision: 'Texas' is not a region of DE" in str(
        refused.value
    )
    assert not Customer.objects.filter(external_id="C2").exists()
