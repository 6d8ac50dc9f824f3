"""The dunning run follows the active rules, and only the active ones."""

from datetime import date

import pytest

from dunning.models import Case, CaseStep, Plan, Step
from dunning.run import run_dunning
from messaging.models import Message
from payments.models import LedgerEntry
from rules.services import rule_set_activate

pytestmark = pytest.mark.django_db

# Steps of the Standard plan for a claim due Thursday 2025-01-02.
STEP_DAYS = [date(2025, 1, 6), date(2025, 1, 17), date(2025, 1, 31)]


def run(on):
    return run_dunning(actor="test", run_date=on)


def big_business_rule(make_rule_set, make_rule):
    """Business customers with over 5,000 open: the second notice by letter, firm."""
    rule_set = make_rule_set()
    make_rule(
        rule_set,
        "Big business: letter, firm",
        [
            ("customer_kind", "eq", "business"),
            ("customer_open_total", "gt", "5000"),
            ("step_position", "eq", "3"),
        ],
        priority=10,
        channels=["letter"],
        tone="firm",
    )
    return rule_set


def last_message(on) -> Message:
    return Message.objects.select_related("decision").get(action_date=on)


def test_the_run_follows_an_active_rule(
    carol_gmbh, make_invoice, make_rule_set, make_rule
):
    """A business customer with 6,000 open gets the second notice by letter, firm."""
    make_invoice(carol_gmbh, "6000.00", due_on=date(2025, 1, 2))
    rule_set = big_business_rule(make_rule_set, make_rule)
    rule_set_activate(rule_set_id=rule_set.pk, actor="user:test")

    for on in STEP_DAYS:
        run(on)

    first, third = last_message(STEP_DAYS[0]), last_message(STEP_DAYS[2])
    # Before the rule's step, personalisation decides alone.
    assert (first.channel, first.tone) == ("email", "neutral")
    assert "no rule matched" in first.decision.reasons["rule"]
    assert (third.channel, third.tone) == ("letter", "firm")
    assert third.decision.reasons["rule"].startswith(
        "rule #10 'Big business: letter, firm'"
    )
    assert third.decision.scores["rules"]["rule"] == "Big business: letter, firm"


def test_a_draft_rule_changes_nothing_until_it_is_activated(
    carol_gmbh, make_invoice, make_rule_set, make_rule
):
    """The draft is ignored by the run; after activation the next run follows it."""
    make_invoice(carol_gmbh, "6000.00", due_on=date(2025, 1, 2))
    rule_set = big_business_rule(make_rule_set, make_rule)
    run(STEP_DAYS[0])
    run(STEP_DAYS[1])

    rule_set_activate(rule_set_id=rule_set.pk, actor="user:manager")
    run(STEP_DAYS[2])

    second, third = last_message(STEP_DAYS[1]), last_message(STEP_DAYS[2])
    assert (second.channel, second.tone) == ("email", "neutral")
    assert second.decision.reasons["rule"] == "no active rule set applies"
    assert (third.channel, third.tone) == ("letter", "firm")
    rule_set.refresh_from_db()
    assert rule_set.status == "active"
    assert rule_set.activated_by == "user:manager"


def test_activating_a_draft_retires_the_active_set(make_rule_set, make_rule):
    old = make_rule_set(name="Old")
    make_rule(old, "x", [("days_overdue", "gt", "1")], tone="firm")
    new = make_rule_set(name="New")
    make_rule(new, "y", [("days_overdue", "gt", "1")], tone="neutral")
    rule_set_activate(rule_set_id=old.pk, actor="user:a")

    rule_set_activate(rule_set_id=new.pk, actor="user:b")

    old.refresh_from_db()
    assert (old.status, old.retired_by) == ("retired", "user:b")
    assert old.retired_at is not None


def test_a_rule_assigns_the_plan_of_a_new_case(
    carol_gmbh, alice, make_invoice, make_rule_set, make_rule
):
    """Business claims get the short plan; others keep the default."""
    short = Plan.objects.create(name="Business short")
    Step.objects.create(
        plan=short,
        position=1,
        name="Notice",
        action="notice",
        days=1,
        channels=["email"],
    )
    business = make_invoice(carol_gmbh, "100.00", due_on=date(2025, 1, 2))
    consumer = make_invoice(alice, "100.00", due_on=date(2025, 1, 2))
    rule_set = make_rule_set()
    make_rule(rule_set, "B2B", [("customer_kind", "eq", "business")], plan=short)
    rule_set_activate(rule_set_id=rule_set.pk, actor="user:test")

    run(date(2025, 1, 6))

    assert Case.objects.get(invoice=business).plan == short
    assert Case.objects.get(invoice=consumer).plan.name == "Standard"


def test_waive_skip_and_hold(
    alice, bob_ltd, carol_gmbh, make_invoice, make_rule_set, make_rule
):
    """Waived fees are not charged, a skipped step sends nothing, a hold pauses once."""
    from dunning.services import case_transition

    waived = make_invoice(alice, "100.00", due_on=date(2025, 1, 2))
    skipped = make_invoice(bob_ltd, "100.00", due_on=date(2025, 1, 2))
    held = make_invoice(carol_gmbh, "100.00", due_on=date(2025, 1, 2))
    rule_set = make_rule_set()
    make_rule(rule_set, "Waive", [("customer_kind", "eq", "consumer")], waive_fee=True)
    make_rule(
        rule_set,
        "Skip reminder",
        [("customer_open_total", "lt", "500"), ("country", "eq", "GB")],
        skip_step=True,
    )
    make_rule(
        rule_set,
        "Review notices",
        [("step_action", "eq", "notice"), ("country", "eq", "DE")],
        hold_for_review=True,
        priority=200,
    )
    rule_set_activate(rule_set_id=rule_set.pk, actor="user:test")
    run(STEP_DAYS[0])

    summary = run(STEP_DAYS[1])

    assert summary["held_for_review"] == 1
    assert not LedgerEntry.objects.filter(invoice=waived, kind="fee").exists()
    assert CaseStep.objects.get(case__invoice=waived, step__position=2).fee == 0
    assert not Message.objects.filter(items__invoice=skipped).exists()
    assert Case.objects.get(invoice=skipped).current_step.position == 2
    case = Case.objects.get(invoice=held)
    assert case.state == Case.State.PAUSED
    assert case.current_step.position == 1

    # A clerk releases the case: the same rule does not hold it again.
    case_transition(case_id=case.pk, transition="resume", actor="user:clerk")
    again = run(date(2025, 1, 18))
    assert again["held_for_review"] == 0
    assert Case.objects.get(invoice=held).current_step.position == 2
