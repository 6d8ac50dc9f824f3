"""Assignment: sticky, the holdout's share within binomial bounds, weights,
and Thompson sampling shifting towards the best arm after the burn-in."""

import math
import random
from collections import Counter
from types import SimpleNamespace

import pytest
from django.utils import timezone

from experiments import stats
from experiments.allocation import ExperimentBook, posterior_table
from experiments.models import Assignment
from experiments.results import Outcome
from personalisation.models import Decision

pytestmark = pytest.mark.django_db


def debtor(pk, creditor_id=None):
    return SimpleNamespace(pk=pk, creditor_id=creditor_id)


def within_binomial(count, n, p, sigmas=4):
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


def test_the_holdout_and_the_weights_hold_over_2000_debtors(
    make_experiment, reminder_items
):
    """10 % holdout, arms weighted 2:1:1: each count within four standard
    deviations of its expectation."""
    experiment = make_experiment(arms=[("a", "a", 2), ("b", "b", 1), ("c", "c", 1)])
    book = ExperimentBook([experiment])

    placed = Counter()
    for pk in range(1, 2001):
        allotment = book.allot(debtor(pk), reminder_items(), "reminder")
        placed[allotment.arm.key if allotment.arm else "holdout"] += 1

    assert within_binomial(placed["holdout"], 2000, 0.10)
    assert within_binomial(placed["a"], 2000, 0.90 * 0.5)
    assert within_binomial(placed["b"], 2000, 0.90 * 0.25)
    assert within_binomial(placed["c"], 2000, 0.90 * 0.25)
    assert sum(placed.values()) == 2000


def test_the_same_debtor_lands_in_the_same_place_in_a_new_book(
    make_experiment, reminder_items
):
    """The hash of salt and customer decides, not the order of arrival."""
    experiment = make_experiment()
    forwards, backwards = ExperimentBook([experiment]), ExperimentBook([experiment])

    first = {
        pk: forwards.allot(debtor(pk), reminder_items(), "reminder").arm
        for pk in range(1, 201)
    }
    second = {
        pk: backwards.allot(debtor(pk), reminder_items(), "reminder").arm
        for pk in reversed(range(1, 201))
    }

    assert first == second


def test_another_experiment_shuffles_the_debtors_afresh(
    make_experiment, reminder_items
):
    one = ExperimentBook([make_experiment("One", holdout_percent=50)])
    two = ExperimentBook([make_experiment("Two", holdout_percent=50)])

    held = [
        (
            one.allot(debtor(pk), reminder_items(), "reminder").arm is None,
            two.allot(debtor(pk), reminder_items(), "reminder").arm is None,
        )
        for pk in range(1, 401)
    ]

    both = sum(1 for a, b in held if a and b)
    assert within_binomial(both, 400, 0.25)


def test_an_assigned_debtor_keeps_their_arm_from_the_database(
    make_experiment, reminder_items, alice, creditor
):
    """Once recorded, the assignment is read back, whatever the hash says
    now; no second assignment row is written."""
    experiment = make_experiment(holdout_percent=0)
    book = ExperimentBook.load([alice.pk], creditor=creditor)
    first = book.allot(alice, reminder_items(), "reminder")
    decision = Decision(customer=alice, action="reminder", tone="empathetic")
    first.apply(decision)
    decision.save()
    book.record(now=timezone.now())
    other = experiment.arms.exclude(pk=first.arm.pk).first()
    Assignment.objects.filter(customer=alice).update(arm=other)

    again = ExperimentBook.load([alice.pk], creditor=creditor)
    second = again.allot(alice, reminder_items(), "reminder")
    again.record(now=timezone.now())

    assert second.arm == other
    assert not second.new
    assert Assignment.objects.filter(experiment=experiment).count() == 1


def test_the_scope_limits_who_is_assigned(make_experiment, reminder_items, creditor):
    """An experiment on final notices leaves reminders alone; one for another
    creditor leaves this creditor's debtors alone."""
    from customers.models import Creditor

    elsewhere = Creditor.objects.create(name="Other", country="DE")
    book = ExperimentBook(
        [
            make_experiment("Finals", action="final_notice"),
            make_experiment("Other creditor", creditor=elsewhere),
        ]
    )

    assert book.allot(debtor(1, creditor.pk), reminder_items(), "reminder") is None
    assert book.allot(debtor(2, elsewhere.pk), reminder_items(), "reminder")


def _thompson_round(book, first_pk, n):
    return [
        book.allot(debtor(pk), [], "reminder") for pk in range(first_pk, first_pk + n)
    ]


def test_thompson_sampling_shifts_towards_the_best_arm_after_the_burn_in(
    make_experiment,
):
    """True rates 10 %, 20 %, 40 %: the burn-in spreads by weight; afterwards,
    in rounds of 100 with the posteriors updated between rounds, the last
    rounds give the best arm most of the debtors."""
    experiment = make_experiment(
        arms=["a", "b", "c"], allocation="thompson", burn_in=50, holdout_percent=0
    )
    arms = list(experiment.arms.all())
    truth = {"a": 0.10, "b": 0.20, "c": 0.40}
    responder = random.Random(11)
    seen = {arm.key: Outcome(arm.key, arm.key, arm.value) for arm in arms}
    counts = Counter()
    methods = Counter()
    last_rounds = Counter()

    for round_number in range(12):
        table = posterior_table(
            arms,
            [seen[a.key] for a in arms],
            seed=stats.seed_from(experiment.salt),
        )
        book = ExperimentBook(
            [experiment], counts=counts, thompson={experiment.pk: table}
        )
        for allotment in _thompson_round(book, round_number * 100 + 1, 100):
            row = seen[allotment.arm.key]
            row.assigned += 1
            row.converted += responder.random() < truth[allotment.arm.key]
            methods[allotment.method] += 1
            if round_number >= 9:
                last_rounds[allotment.arm.key] += 1
        counts = book.counts

    assert methods["burn_in"] >= 150
    assert methods["thompson"] > 0
    assert last_rounds["c"] > 0.6 * sum(last_rounds.values())
    assert last_rounds["c"] > max(last_rounds["a"], last_rounds["b"])


def test_a_creditor_with_learning_off_gets_fixed_weights(
    make_experiment, reminder_items, alice, creditor
):
    """Thompson sampling learns from outcomes; with learning off it is not
    used and the reason says so."""
    make_experiment(allocation="thompson", burn_in=0, holdout_percent=0)
    creditor.learning_enabled = False
    creditor.save()

    book = ExperimentBook.load([alice.pk], creditor=creditor)
    allotment = book.allot(alice, reminder_items(), "reminder")

    assert allotment.method == "weights"
    assert book.thompson == {}


def test_a_batch_asks_the_same_few_queries_for_any_number_of_debtors(
    make_experiment, reminder_items, creditor, django_assert_num_queries
):
    """Loading the book of a Thompson experiment, allotting and recording
    40 debtors costs no more queries than one."""
    from customers.models import Customer

    make_experiment(allocation="thompson", burn_in=0, holdout_percent=20)
    people = [
        Customer.objects.create(
            creditor=creditor, external_id=f"Q-{n}", name=f"Q {n}", country="DE"
        )
        for n in range(40)
    ]

    def batch(customers):
        book = ExperimentBook.load([c.pk for c in customers], creditor=creditor)
        decisions = []
        for customer in customers:
            decision = Decision(customer=customer, action="reminder", tone="neutral")
            book.allot(customer, reminder_items(), "reminder").apply(decision)
            decisions.append(decision)
        Decision.objects.bulk_create(decisions)
        book.record(now=timezone.now())

    # Experiment, arms, earlier assignments, counts; the posteriors'
    # assignments (no messages here, so no claims to read); the decisions;
    # the assignments.
    with django_assert_num_queries(7):
        batch(people[:1])
    with django_assert_num_queries(7):
        batch(people[1:])
    assert Assignment.objects.count() == 40
