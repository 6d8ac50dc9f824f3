"""Per-arm results from the database, and the stop rule's verdicts."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Customer
from experiments.models import Assignment, Experiment
from experiments.results import (
    HOLDOUT,
    Outcome,
    experiment_results,
    outcomes,
    stop_rule,
)
from payments.services import payment_record
from tests.admin.helpers import open_case, send_message, take_step

pytestmark = pytest.mark.django_db

STEP_ON = date(2025, 3, 6)


def assign(experiment, arm_key, customer, invoice, *, status="sent"):
    """A debtor assigned by the message of their claim's first step."""
    case_step = take_step(open_case(invoice), 1, STEP_ON)
    message = send_message(case_step, status=status)
    decision = message.decision
    arm = experiment.arms.get(key=arm_key) if arm_key != HOLDOUT else None
    decision.scores["experiment"] = {"experiment": experiment.pk, "arm": arm_key}
    decision.save()
    Assignment.objects.create(
        experiment=experiment,
        arm=arm,
        customer=customer,
        decision=decision,
        method="weights",
        assigned_at=timezone.now(),
    )
    return message


def pay(customer, invoice, on, amount=None):
    return payment_record(
        customer=customer,
        amount=amount or invoice.open_amount,
        currency="EUR",
        received_on=on,
        actor="test",
        invoice=invoice,
    )


@pytest.fixture
def debtors(creditor):
    def make(n):
        return [
            Customer.objects.create(
                creditor=creditor,
                external_id=f"D-{i}",
                kind="consumer",
                name=f"Debtor {i}",
                email=f"d{i}@example.com",
                country="DE",
                language="de",
                time_zone="Europe/Berlin",
            )
            for i in range(n)
        ]

    return make


def test_conversions_count_claims_paid_in_full_inside_the_window(
    make_experiment, debtors, make_invoice
):
    """Window of 14 days from the 6 March message: paid on the 10th counts,
    paid on the 25th does not, half paid does not; the amount collected is
    what was paid on the converted claims."""
    experiment = make_experiment(arms=["a", "b"], window_days=14)
    people = debtors(5)
    on_time, late, partly, held, unsent = people
    claims = {d.pk: make_invoice(d, "100.00") for d in people}
    assign(experiment, "a", on_time, claims[on_time.pk])
    assign(experiment, "a", late, claims[late.pk])
    assign(experiment, "b", partly, claims[partly.pk])
    assign(experiment, HOLDOUT, held, claims[held.pk])
    assign(experiment, "b", unsent, claims[unsent.pk], status="cancelled")
    pay(on_time, claims[on_time.pk], date(2025, 3, 10))
    pay(late, claims[late.pk], date(2025, 3, 25))
    pay(partly, claims[partly.pk], date(2025, 3, 10), Decimal("40.00"))
    pay(held, claims[held.pk], date(2025, 3, 20))

    a, b, holdout = outcomes(experiment)

    assert (a.assigned, a.sent, a.converted) == (2, 2, 1)
    assert (b.assigned, b.sent, b.converted) == (2, 1, 0)
    assert (holdout.assigned, holdout.sent, holdout.converted) == (1, 1, 1)
    assert dict(a.collected) == {"EUR": claims[on_time.pk].amount}
    assert dict(b.collected) == {}


def test_any_payment_counts_a_part_payment(make_experiment, debtors, make_invoice):
    experiment = make_experiment(arms=["a"], metric="any_payment")
    (partly,) = debtors(1)
    claim = make_invoice(partly, "100.00")
    assign(experiment, "a", partly, claim)
    pay(partly, claim, date(2025, 3, 8), Decimal("40.00"))

    a, _ = outcomes(experiment)

    assert a.converted == 1
    assert a.collected["EUR"] == Decimal("40.00")


def rows(*figures):
    """(key, assigned, converted, p_best) → outcome rows."""
    made = []
    for key, assigned, converted, p_best in figures:
        row = Outcome(key, key, key, assigned=assigned, converted=converted)
        row.p_best = p_best
        made.append(row)
    return made


RULE = {"min_sample": 100, "max_sample": 1000, "p_best": Decimal("0.95")}


@pytest.mark.parametrize(
    "figures, verdict, stop",
    [
        (
            [("a", 150, 30, 0.2), ("b", 90, 30, 0.8), (HOLDOUT, 120, 20, 0.0)],
            "keep running: n < 100 (b has 90)",
            False,
        ),
        (
            [("a", 400, 40, 0.01), ("b", 400, 80, 0.97), (HOLDOUT, 120, 12, 0.02)],
            "stop: arm b is best with P ≥ 0.95",
            True,
        ),
        (
            [("a", 400, 40, 0.5), ("b", 400, 41, 0.5), (HOLDOUT, 120, 30, 0.96)],
            "stop: the holdout (standard) is best with P ≥ 0.95",
            True,
        ),
        (
            [("a", 1000, 100, 0.5), ("b", 1200, 120, 0.45), (HOLDOUT, 120, 12, 0.05)],
            "stop: no difference after 1000 per arm",
            True,
        ),
        (
            [("a", 400, 40, 0.5), ("b", 400, 41, 0.45), (HOLDOUT, 120, 12, 0.05)],
            "keep running: no arm is best with P ≥ 0.95 yet",
            False,
        ),
    ],
)
def test_the_stop_rule(figures, verdict, stop):
    experiment = Experiment(name="Wording", **RULE)
    table = rows(*figures)
    leader = max(table, key=lambda r: r.p_best)

    assert stop_rule(experiment, table, leader) == (verdict, stop)


def test_results_give_rates_intervals_uplift_and_the_leader(
    make_experiment, debtors, make_invoice
):
    """Two of two converted on arm b against none of two in the holdout."""
    experiment = make_experiment(arms=["a", "b"], min_sample=1)
    people = debtors(6)
    for person, key in zip(people, ["a", "a", "b", "b", HOLDOUT, HOLDOUT], strict=True):
        claim = make_invoice(person, "50.00")
        assign(experiment, key, person, claim)
        if key == "b":
            pay(person, claim, date(2025, 3, 9))

    results = experiment_results(experiment)

    a, b, holdout = results.rows
    assert b.rate == 1.0 and a.rate == 0.0 == holdout.rate
    assert (b.low, b.high) == pytest.approx((0.3424, 1.0), abs=5e-5)
    assert b.uplift[0] == 1.0
    assert results.leader is b
    assert b.p_best > 0.8
    assert sum(r.p_best for r in results.rows) == pytest.approx(1.0, abs=1e-3)
