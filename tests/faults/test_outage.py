"""Four days without a run: the run on day five takes each due step once, books
its fee once, and the next step is timed from the day the step really happened."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from dunning.models import CaseStep
from dunning.run import run_dunning
from messaging.models import Message
from payments.models import LedgerEntry

pytestmark = pytest.mark.django_db(transaction=True)

DUE = date(2025, 3, 3)  # a Monday; steps at 3, 14, 28 and 42 days late


def run_days(first: date, last: date, *, skip=()) -> None:
    day = first
    while day <= last:
        if day not in skip:
            run_dunning(actor="test", run_date=day, plan_only=True)
        day += timedelta(days=1)


def taken() -> list[tuple[int, date, Decimal]]:
    return [
        (cs.step.position, cs.taken_on, cs.fee)
        for cs in CaseStep.objects.select_related("step").order_by("taken_on")
    ]


def fees() -> list[Decimal]:
    return sorted(
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.FEE).values_list(
            "amount", flat=True
        )
    )


def test_after_four_days_down_the_missed_step_is_taken_once(
    standard_plan, alice, make_invoice
):
    make_invoice(alice, Decimal("200.00"), due_on=DUE)
    outage = [date(2025, 3, 17) + timedelta(days=n) for n in range(4)]

    run_days(date(2025, 3, 4), date(2025, 3, 21), skip=outage)
    # The scheduler, a restart or a clerk may run the same day again.
    run_dunning(actor="test", run_date=date(2025, 3, 21), plan_only=True)

    assert taken() == [
        (1, date(2025, 3, 6), Decimal("0.00")),
        (2, date(2025, 3, 21), Decimal("2.50")),
    ]
    assert fees() == [Decimal("2.50")]
    assert Message.objects.count() == 2

    # Step 3 is 14 days after step 2 on the plan: 14 days after 21 March, not
    # on its nominal 31 March.
    run_days(date(2025, 3, 22), date(2025, 4, 10))

    assert taken()[2:] == [(3, date(2025, 4, 4), Decimal("5.00"))]
    assert fees() == [Decimal("2.50"), Decimal("5.00")]
    assert Message.objects.count() == 3


def test_an_outage_over_two_due_steps_takes_one_and_spaces_the_next(
    standard_plan, alice, make_invoice
):
    make_invoice(alice, Decimal("200.00"), due_on=DUE)
    run_days(date(2025, 3, 4), date(2025, 3, 16))
    # Down from 17 March to 3 April: steps 2 (17 March) and 3 (31 March) are
    # both past their days when the run comes back.
    run_days(date(2025, 4, 4), date(2025, 4, 20))

    assert taken() == [
        (1, date(2025, 3, 6), Decimal("0.00")),
        (2, date(2025, 4, 4), Decimal("2.50")),
        (3, date(2025, 4, 18), Decimal("5.00")),
    ]
    assert fees() == [Decimal("2.50"), Decimal("5.00")]
    assert Message.objects.count() == 3
