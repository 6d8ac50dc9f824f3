"""The SQL pre-filter of the run: a claim is read only when its next step may be due.

The filter uses the claim's due date where the exact rule uses the effective
due date (moved past weekends and holidays), so it may keep a claim that is not
due yet but must never drop one that is; the run's Python check decides.
"""

from datetime import date, timedelta

import pytest

from core.calendar import effective_due_date
from dunning.models import Case, CaseStep, Plan, Step
from dunning.run import ACTIONABLE, PlanBook, _candidates, _step_is_due, run_dunning

pytestmark = pytest.mark.django_db


def run(on):
    return run_dunning(actor="test", run_date=on)


def candidates(creditor, on) -> set[int]:
    return set(_candidates(creditor, on, PlanBook()).values_list("id", flat=True))


def test_a_step_due_exactly_today_is_read_and_taken(alice, make_invoice):
    """Step 2 is due 14 days after the due date: read that day, not the day before."""
    invoice = make_invoice(alice, due_on=date(2025, 3, 3))
    run(date(2025, 3, 6))

    assert invoice.id not in candidates(alice.creditor, date(2025, 3, 16))
    assert invoice.id in candidates(alice.creditor, date(2025, 3, 17))
    assert run(date(2025, 3, 17))["steps_taken"] == {"2:First notice": 1}


def test_a_step_due_tomorrow_is_not_read(alice, make_invoice):
    """The case waits at step 1: the run does not even read its claim."""
    make_invoice(alice, due_on=date(2025, 3, 3))
    run(date(2025, 3, 6))

    summary = run(date(2025, 3, 16))

    assert summary["claims_examined"] == 0
    assert summary["steps_taken"] == {}


def test_a_due_date_moved_by_holidays_is_read_early_and_the_run_decides(
    alice, make_invoice
):
    """Due on Good Friday 2025, effectively due Tuesday after Easter Monday.

    The filter counts from Good Friday, so it reads the claim a working day
    early; the step waits for three days after the Tuesday all the same.
    """
    invoice = make_invoice(alice, due_on=date(2025, 4, 18))
    assert effective_due_date(invoice.due_on, "DE") == date(2025, 4, 22)
    assert run(date(2025, 4, 23))["cases_opened"] == 1

    early = run(date(2025, 4, 24))

    assert early["claims_examined"] == 1
    assert early["steps_taken"] == {}
    assert run(date(2025, 4, 25))["steps_taken"] == {"1:Friendly reminder": 1}


def test_a_step_after_one_taken_late_keeps_its_spacing(alice, make_invoice):
    """Step 1 taken two months late: step 2 comes 11 days after it, not on day 14."""
    invoice = make_invoice(alice, due_on=date(2025, 1, 2))
    run(date(2025, 3, 3))

    assert invoice.id not in candidates(alice.creditor, date(2025, 3, 13))
    assert run(date(2025, 3, 13))["claims_examined"] == 0
    assert run(date(2025, 3, 14))["steps_taken"] == {"2:First notice": 1}


def test_a_step_counted_from_the_previous_one_is_read_on_its_day(
    creditor, alice, make_invoice
):
    """Step 2 counts five days from step 1, however late step 1 was."""
    plan = Plan.objects.create(name="Spaced", creditor=creditor)
    Step.objects.create(
        plan=plan,
        position=1,
        name="Reminder",
        action="reminder",
        days=3,
        channels=["email"],
    )
    Step.objects.create(
        plan=plan,
        position=2,
        name="Notice",
        action="notice",
        days=5,
        counts_from="previous",
        channels=["email"],
    )
    creditor.default_plan = plan
    creditor.save(update_fields=["default_plan"])
    invoice = make_invoice(alice, due_on=date(2025, 3, 3))
    run(date(2025, 3, 10))

    assert invoice.id not in candidates(creditor, date(2025, 3, 14))
    assert run(date(2025, 3, 15))["steps_taken"] == {"2:Notice": 1}


@pytest.fixture
def spread(creditor, alice, standard_plan, make_invoice):
    """Claims at every step of two plans, due over five months (with holidays),
    their last steps taken on time, late or never."""
    spaced = Plan.objects.create(name="Spaced", creditor=creditor)
    for position, days, counts_from in [
        (1, -2, "due"),
        (2, 6, "previous"),
        (3, 30, "due"),
        (4, 4, "previous"),
    ]:
        Step.objects.create(
            plan=spaced,
            position=position,
            name=f"S{position}",
            action="notice",
            days=days,
            counts_from=counts_from,
            channels=["email"],
        )
    plans = [standard_plan, spaced]
    holidays = [
        date(2025, 1, 1),
        date(2025, 4, 18),
        date(2025, 4, 21),
        date(2025, 5, 1),
        date(2025, 5, 29),
    ]
    due_dates = [date(2025, 1, 1) + timedelta(days=k) for k in range(0, 150, 4)]
    for n, due_on in enumerate(due_dates + holidays):
        invoice = make_invoice(alice, due_on=due_on)
        plan = plans[n % 2]
        steps = list(plan.steps.order_by("position"))
        at = n % (len(steps) + 1)
        Case.objects.create(
            invoice=invoice,
            customer=alice,
            creditor=creditor,
            plan=plan,
            state=Case.State.IN_DUNNING if n % 7 else Case.State.OPEN,
            current_step=steps[at - 1] if at else None,
            last_step_on=due_on + timedelta(days=(n * 5) % 40) if at else None,
            opened_on=due_on,
        )


def test_the_filter_never_drops_a_due_claim(creditor, spread):
    """Day by day over six months the filter keeps every claim whose step is
    due, and all it keeps besides are claims whose due date moved."""
    book = PlanBook()
    cases = list(Case.objects.select_related("invoice"))
    checked = 0
    for day in range(180):
        on = date(2025, 1, 1) + timedelta(days=day)
        kept = candidates(creditor, on)
        for case in cases:
            invoice = case.invoice
            effective = effective_due_date(invoice.due_on, "DE")
            step, previous = book.next_step(case)
            due = (
                case.state in ACTIONABLE
                and step is not None
                and invoice.due_on <= book.horizon(on)
                and _step_is_due(case, step, previous, (on - effective).days, on)
            )
            if due:
                checked += 1
                assert invoice.id in kept, (on, case.current_step, invoice.due_on)
            elif invoice.id in kept:
                assert effective != invoice.due_on, (on, case.current_step)
    assert checked > 100


def test_the_run_reads_fewer_claims_and_takes_the_same_steps(creditor, spread):
    """The steps the run takes are those the exact rule says are due."""
    on = date(2025, 4, 25)
    book = PlanBook()
    expected = sorted(
        (case.invoice_id, step.id)
        for case in Case.objects.select_related("invoice")
        for step, previous in [book.next_step(case)]
        if case.state in ACTIONABLE
        and step is not None
        and case.invoice.due_on <= book.horizon(on)
        and _step_is_due(
            case,
            step,
            previous,
            (on - effective_due_date(case.invoice.due_on, "DE")).days,
            on,
        )
    )

    summary = run(on)

    taken = sorted(CaseStep.objects.values_list("case__invoice_id", "step_id"))
    assert taken == expected
    assert 0 < summary["claims_examined"] < Case.objects.count()


def test_a_note_before_the_due_date_goes_out_on_its_day(creditor, alice, make_invoice):
    """A note three days before the due date: read and taken exactly then."""
    plan = Plan.objects.create(name="Early", creditor=creditor)
    Step.objects.create(
        plan=plan,
        position=1,
        name="Heads-up",
        action="reminder",
        days=-3,
        channels=["email"],
    )
    creditor.default_plan = plan
    creditor.save(update_fields=["default_plan"])
    invoice = make_invoice(alice, due_on=date(2025, 3, 13))

    assert invoice.id not in candidates(creditor, date(2025, 3, 9))
    assert invoice.id in candidates(creditor, date(2025, 3, 10))
    assert run(date(2025, 3, 10))["steps_taken"] == {"1:Heads-up": 1}
