"""Planning under the contact policy: hours, days, caps, gap, channels, rules."""

from datetime import date, datetime, time

import pytest

from customers.models import Customer
from tests.contact.conftest import BERLIN

pytestmark = pytest.mark.django_db

MONDAY = date(2025, 3, 10)


def local(decision):
    return decision.send_at.astimezone(BERLIN)


def test_within_every_limit_the_plan_keeps_its_slot(alice, decide_on):
    """A consumer's reminder goes at 18:00 in her zone, and the decision says
    which policy allowed it."""
    decision = decide_on(alice, MONDAY)

    assert local(decision) == datetime(2025, 3, 10, 18, 0, tzinfo=BERLIN)
    assert decision.reasons["contact_policy"] == (
        "contact policy 'Default' (product default): within every limit"
    )
    assert decision.scores["contact_policy"]["hours"] == "08:00–20:00"


def test_quiet_hours_pull_the_slot_into_the_window(alice, default_policy, decide_on):
    """Under 09:00–17:00 the 18:00 slot becomes 16:00 the same day."""
    default_policy.send_from, default_policy.send_until = time(9), time(17)
    default_policy.save()

    decision = decide_on(alice, MONDAY)

    assert local(decision) == datetime(2025, 3, 10, 16, 0, tzinfo=BERLIN)
    assert (
        "after the contact policy's hours 09:00–17:00"
        in (decision.reasons["send_time"])
    )


def test_a_german_debtor_on_christmas_day_moves_to_monday_29(alice, decide_on):
    """25 and 26 December are holidays, the 27th and 28th a weekend."""
    decision = decide_on(alice, date(2025, 12, 25))

    assert local(decision) == datetime(2025, 12, 29, 18, 0, tzinfo=BERLIN)
    assert "is a public holiday in DE" in decision.reasons["send_time"]


def test_a_slot_missed_on_christmas_eve_night_waits_for_monday_08(alice, decide_on):
    """Planned at 21:00 on the 24th: quiet time, then holidays and a weekend."""
    now = datetime(2025, 12, 24, 21, 0, tzinfo=BERLIN)

    decision = decide_on(alice, date(2025, 12, 24), now=now)

    assert local(decision) == datetime(2025, 12, 29, 8, 0, tzinfo=BERLIN)


def test_a_bavarian_debtor_waits_past_epiphany(alice, decide_on):
    """6 January is a holiday in Bavaria, not in Berlin."""
    in_berlin = decide_on(alice, date(2025, 1, 6))
    alice.subdivision = "BY"
    alice.save(update_fields=["subdivision"])
    alice = Customer.objects.get(pk=alice.pk)

    in_bavaria = decide_on(alice, date(2025, 1, 6))

    assert local(in_berlin).date() == date(2025, 1, 6)
    assert local(in_bavaria) == datetime(2025, 1, 7, 18, 0, tzinfo=BERLIN)
    assert "public holiday in DE-BY" in in_bavaria.reasons["send_time"]


def test_a_policy_that_allows_weekends_sends_on_saturday(
    alice, default_policy, decide_on
):
    default_policy.weekends = True
    default_policy.save()

    decision = decide_on(alice, date(2025, 3, 15))

    assert local(decision) == datetime(2025, 3, 15, 18, 0, tzinfo=BERLIN)


def test_the_8th_contact_in_7_days_moves_to_when_the_first_drops_out(
    alice, default_policy, contact_at, decide_on
):
    """Seven e-mails at noon from 4 to 10 March: the cap of 7 in 7 days lets
    the next one go when the first of them is a week old, on 11 March at noon."""
    default_policy.min_gap_hours = 0
    default_policy.save()
    for day in range(4, 11):
        contact_at(alice, datetime(2025, 3, day, 12, 0, tzinfo=BERLIN))

    decision = decide_on(alice, MONDAY)

    assert decision.channel == "email"
    assert local(decision) == datetime(2025, 3, 11, 12, 0, tzinfo=BERLIN)
    assert (
        "7 contacts in 7 days reached (total cap)"
        in (decision.reasons["contact_policy"])
    )
    assert (
        "moved from Mon 10 Mar 2025 18:00 CET to Tue 11 Mar 2025 12:00 CET"
        in (decision.reasons["contact_policy"])
    )


def test_contacts_planned_later_count_too(alice, default_policy, contact_at, decide_on):
    """Planned messages fill the rolling window as sent ones do."""
    default_policy.min_gap_hours = 0
    default_policy.max_contacts, default_policy.max_contacts_days = 2, 7
    default_policy.save()
    contact_at(alice, datetime(2025, 3, 8, 12, 0, tzinfo=BERLIN))
    contact_at(alice, datetime(2025, 3, 12, 12, 0, tzinfo=BERLIN), status="planned")

    decision = decide_on(alice, MONDAY)

    # 8 March + 7 days: the first window that holds only one other contact.
    assert local(decision) >= datetime(2025, 3, 15, 12, 0, tzinfo=BERLIN)


def test_a_channel_cap_switches_channel_when_the_policy_says_so(
    dora, default_policy, contact_at, decide_on
):
    """Two e-mails this week reach the e-mail cap; the SMS goes out instead."""
    default_policy.min_gap_hours = 0
    default_policy.email_max, default_policy.email_max_days = 2, 7
    default_policy.when_capped = "other_channel"
    default_policy.save()
    contact_at(dora, datetime(2025, 3, 7, 10, 0, tzinfo=BERLIN))
    contact_at(dora, datetime(2025, 3, 9, 10, 0, tzinfo=BERLIN))

    decision = decide_on(dora, MONDAY)

    assert decision.channel == "sms"
    assert local(decision) == datetime(2025, 3, 10, 18, 0, tzinfo=BERLIN)
    assert (
        "email: 2 email contacts in 7 days reached; switched to sms as the policy "
        "says" in decision.reasons["channel"]
    )
    assert decision.scores["contact_policy"]["blocked"] == {
        "email": "2 email contacts in 7 days reached"
    }


def test_a_channel_cap_waits_for_the_channel_by_default(
    dora, default_policy, contact_at, decide_on
):
    """ "Keep the channel": the e-mail waits until the older one is a week old."""
    default_policy.min_gap_hours = 0
    default_policy.email_max, default_policy.email_max_days = 2, 7
    default_policy.save()
    contact_at(dora, datetime(2025, 3, 7, 10, 0, tzinfo=BERLIN))
    contact_at(dora, datetime(2025, 3, 9, 10, 0, tzinfo=BERLIN))

    decision = decide_on(dora, MONDAY)

    assert decision.channel == "email"
    assert local(decision) == datetime(2025, 3, 14, 10, 0, tzinfo=BERLIN)


def test_the_minimum_gap_moves_the_message(alice, contact_at, decide_on):
    """A contact at 16:00 today: with 24 hours between contacts, 16:00 tomorrow."""
    contact_at(alice, datetime(2025, 3, 10, 16, 0, tzinfo=BERLIN))

    decision = decide_on(alice, MONDAY)

    assert local(decision) == datetime(2025, 3, 11, 16, 0, tzinfo=BERLIN)
    assert (
        "less than 24 hours away (minimum gap)" in (decision.reasons["contact_policy"])
    )
    assert decision.reasons["send_time"].endswith("moved by the contact policy")


def test_a_gap_that_ends_in_quiet_hours_waits_for_the_morning(
    alice, contact_at, decide_on
):
    """A contact at 21:00 on Sunday blocks until 21:00 Monday: Tuesday 08:00."""
    contact_at(alice, datetime(2025, 3, 9, 21, 0, tzinfo=BERLIN))

    decision = decide_on(alice, MONDAY)

    assert local(decision) == datetime(2025, 3, 11, 8, 0, tzinfo=BERLIN)


def test_a_channel_the_policy_disallows_is_skipped_with_the_reason(
    dora, default_policy, decide_on
):
    dora.preferred_channel = "sms"
    default_policy.sms_enabled = False
    default_policy.save()

    decision = decide_on(dora, MONDAY)

    assert decision.channel == "email"
    assert decision.scores["channel"]["sms"] == (
        "disallowed by the contact policy 'Default' (product default)"
    )


def test_a_creditors_own_policy_wins_over_the_product_default(
    alice, creditor, decide_on
):
    from contact.models import ContactPolicy

    ContactPolicy.objects.create(
        name="Acme", creditor=creditor, send_from=time(9), send_until=time(12)
    )

    decision = decide_on(alice, MONDAY)

    assert local(decision) == datetime(2025, 3, 10, 11, 0, tzinfo=BERLIN)
    assert decision.reasons["contact_policy"].startswith(
        "contact policy 'Acme' (Acme GmbH's policy)"
    )


def test_no_free_slot_within_the_horizon_plans_no_channel(
    alice, default_policy, contact_at, decide_on
):
    """A cap of one in 90 days after a contact yesterday: nothing for 60 days."""
    default_policy.max_contacts, default_policy.max_contacts_days = 1, 90
    default_policy.save()
    contact_at(alice, datetime(2025, 3, 9, 12, 0, tzinfo=BERLIN))

    decision = decide_on(alice, MONDAY)

    assert decision.channel == ""
    assert (
        "no allowed channel has a free slot within 60 days"
        in (decision.reasons["channel"])
    )


def test_the_run_plans_the_contact_policys_slot(alice, make_invoice, contact_at):
    """The dunning run stores the moved send time on the message."""
    from dunning.run import run_dunning
    from messaging.models import Message

    contact_at(alice, datetime(2025, 3, 6, 12, 0, tzinfo=BERLIN))
    make_invoice(alice, due_on=date(2025, 3, 3))

    run_dunning(actor="test", run_date=date(2025, 3, 6), plan_only=True)

    message = Message.objects.get(action_date=date(2025, 3, 6), status="planned")
    expected = datetime(2025, 3, 7, 12, 0, tzinfo=BERLIN)
    assert message.scheduled_at == expected
    assert message.decision.send_at == expected


# --- A rule's own policy ---------------------------------------------------


@pytest.fixture
def weekend_rule(make_rule_set, make_rule):
    """An active rule for every claim that contacts under a weekend policy."""
    from contact.models import ContactPolicy
    from rules.services import rule_set_activate

    weekends = ContactPolicy.objects.create(
        name="Weekends too", weekends=True, min_gap_hours=0
    )
    rule_set = make_rule_set()
    rule = make_rule(rule_set, "Weekend contact", contact_policy=weekends)
    rule_set_activate(rule_set_id=rule_set.pk, actor="test")
    return rule


def test_a_rules_policy_overrides_the_default(alice, make_invoice, weekend_rule):
    """The step due on Saturday 8 March goes out that Saturday, not on Monday."""
    from dunning.run import run_dunning
    from messaging.models import Message

    make_invoice(alice, due_on=date(2025, 3, 5))

    run_dunning(actor="test", run_date=date(2025, 3, 8), plan_only=True)

    message = Message.objects.get(action_date=date(2025, 3, 8))
    assert message.scheduled_at == datetime(2025, 3, 8, 18, 0, tzinfo=BERLIN)
    reason = message.decision.reasons["contact_policy"]
    assert reason.startswith("contact policy 'Weekends too' (set by rule #100")
    assert message.decision.scores["contact_policy"]["policy_id"] == (
        weekend_rule.contact_policy_id
    )


def test_without_the_rule_the_saturday_step_waits_for_monday(alice, make_invoice):
    from dunning.run import run_dunning
    from messaging.models import Message

    make_invoice(alice, due_on=date(2025, 3, 5))

    run_dunning(actor="test", run_date=date(2025, 3, 8), plan_only=True)

    message = Message.objects.get(action_date=date(2025, 3, 8))
    assert message.scheduled_at == datetime(2025, 3, 10, 18, 0, tzinfo=BERLIN)
    assert (
        "is a Saturday, moved to 2025-03-10" in (message.decision.reasons["send_time"])
    )


def test_the_rule_lists_its_contact_policy_among_its_effects(weekend_rule):
    assert weekend_rule.effects_text() == "contact policy Weekends too"


def test_a_dry_run_reads_policies_and_contacts_once_per_batch(
    creditor, make_invoice, django_assert_max_num_queries
):
    """The explain view decides for many debtors without two queries each."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from customers.models import Customer
    from payments.models import Invoice
    from rules.engine import RuleBook
    from rules.services import simulate

    def add(n, start):
        for i in range(start, start + n):
            customer = Customer.objects.create(
                creditor=creditor,
                external_id=f"C-{i}",
                name=f"Customer {i}",
                email=f"c{i}@example.com",
            )
            make_invoice(customer, due_on=date(2025, 3, 3))

    def measure():
        invoices = list(Invoice.objects.select_related("customer", "creditor"))
        with CaptureQueriesContext(connection) as queries:
            plans = simulate(
                invoices, on=MONDAY, now=datetime.now(BERLIN), rules=RuleBook.empty()
            )
        assert all(p.decision for p in plans)
        return len(queries)

    add(2, 0)
    few = measure()
    add(10, 2)

    assert measure() == few
