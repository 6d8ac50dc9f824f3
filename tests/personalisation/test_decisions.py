"""The active propensity model's score in the run's decisions, and the rules
alone for debtors who object to profiling or creditors with learning off."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from dunning.run import run_dunning
from personalisation.models import Decision
from personalisation.propensity import Propensity
from personalisation.services import POLICY, POLICY_SCORED, DueItem, decide

pytestmark = pytest.mark.django_db

DUE = date(2025, 3, 3)
RUN = date(2025, 3, 6)


def run():
    return run_dunning(actor="test", run_date=RUN, dry_run=False)


def test_the_run_stores_the_score_and_the_model_version(
    alice, bob_ltd, make_invoice, active_model
):
    """Each debtor's decision carries the probability per claim, the expected
    recovery and the version of the model that scored the batch."""
    first = make_invoice(alice, "100.00", due_on=DUE)
    second = make_invoice(alice, "40.00", due_on=DUE)
    make_invoice(bob_ltd, "300.00", due_on=DUE)

    run()

    decisions = {d.customer_id: d for d in Decision.objects.all()}
    assert len(decisions) == 2
    for decision in decisions.values():
        assert decision.model_version == active_model.version
        assert decision.policy == POLICY_SCORED
        assert 0 <= decision.scores["propensity"]["probability"] <= 1
        assert active_model.version in decision.reasons["propensity"]
    scored = decisions[alice.pk].scores["propensity"]
    assert set(scored["by_claim"]) == {str(first.pk), str(second.pk)}
    expected = sum(
        Decimal(str(p)) * amount
        for p, amount in zip(
            [scored["by_claim"][str(first.pk)], scored["by_claim"][str(second.pk)]],
            [first.open_amount, second.open_amount],
            strict=True,
        )
    )
    assert Decimal(scored["expected_recovery"]) == expected.quantize(Decimal("0.01"))
    assert "email" in scored["expected_net_recovery"]


def test_without_an_active_model_the_decision_is_the_rules_alone(
    alice, make_invoice, register
):
    """A candidate that was never promoted scores nothing."""
    register()
    make_invoice(alice, "100.00", due_on=DUE)

    run()

    decision = Decision.objects.get()
    assert decision.policy == POLICY
    assert decision.model_version == ""
    assert "propensity" not in decision.scores
    assert "propensity" not in decision.reasons


def test_a_debtor_who_objects_to_profiling_is_served_by_rules(
    alice, make_invoice, active_model
):
    """No score and no model version; the reason says why."""
    alice.objects_to_profiling = True
    alice.save()
    make_invoice(alice, "100.00", due_on=DUE)

    run()

    decision = Decision.objects.get()
    assert decision.model_version == ""
    assert decision.policy == POLICY
    assert decision.reasons["propensity"] == (
        "the debtor objects to profiling; rules alone"
    )
    assert "probability" not in decision.scores["propensity"]


def test_a_creditor_with_learning_off_is_served_by_rules(
    creditor, alice, make_invoice, active_model
):
    """The creditor's switch overrides the active model for all its debtors."""
    creditor.learning_enabled = False
    creditor.save()
    make_invoice(alice, "100.00", due_on=DUE)

    run()

    decision = Decision.objects.get()
    assert decision.model_version == ""
    assert decision.reasons["propensity"] == (
        "the creditor switched learning off; rules alone"
    )


def test_a_channel_that_costs_more_than_it_recovers_gives_way(bob_ltd, standard_plan):
    """A letter for a reminder whose expected recovery is below the letter's
    cost is replaced by a channel that is worth it; the reason says so."""
    reminder = standard_plan.steps.get(position=1)
    reminder.channels = ["letter", "email"]
    bob_ltd.consent_email = True
    bob_ltd.email = "ap@bob.example"
    bob_ltd.preferred_channel = "letter"
    item = DueItem(1, reminder, Decimal("2.00"), "EUR", 3)
    now = timezone.now()
    unlikely = Propensity("propensity-test", 0.3, "test", {1: 0.3}, Decimal("0.60"))

    ruled = decide(bob_ltd, [item], RUN, now)
    weighed = decide(bob_ltd, [item], RUN, now, propensity=unlikely)

    assert ruled.channel == "letter"
    assert weighed.channel == "email"
    assert "costs more than the expected recovery" in weighed.reasons["channel"]
    assert weighed.scores["propensity"]["expected_net_recovery"] == {
        "letter": "-0.50",
        "email": "0.59",
    }
