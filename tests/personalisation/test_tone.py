"""The tone people like a debtor paid after most, learned from the product's
own sent messages, inside the step's floor and the rules' cap."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Customer
from messaging.models import Message
from payments.models import Invoice
from personalisation.habits import HabitBook
from personalisation.models import ModelVersion
from personalisation.registry import habit_retrain
from personalisation.services import DueItem, decide
from personalisation.tone import train_tone
from personalisation.training import NotEnoughData
from tests.messaging.factories import make_message, standard_step

pytestmark = pytest.mark.django_db

AS_OF = date(2025, 4, 15)


def history(creditor, make_invoice, count=240):
    """Consumers reminded over a year, alternately empathetic and neutral: three
    in five paid within a week after a neutral reminder, one in five after an
    empathetic one."""
    first = AS_OF - timedelta(days=360)
    for n in range(count):
        person = Customer.objects.create(
            creditor=creditor,
            external_id=f"T-{n:04d}",
            kind="consumer",
            name=f"Debtor {n}",
            email=f"t{n}@example.com",
            country="DE",
            birth_year=1985,
        )
        day = first + timedelta(days=n * 330 // count)
        invoice = make_invoice(person, "80.00", due_on=day - timedelta(days=5))
        tone = "neutral" if n % 2 else "empathetic"
        message = make_message(person, [(invoice, 1)], tone=tone)
        Message.objects.filter(pk=message.pk).update(status="sent", action_date=day)
        paid = (n // 2) % 5 < (3 if tone == "neutral" else 1)
        if paid:
            Invoice.objects.filter(pk=invoice.pk).update(
                status="paid", open_amount=0, settled_on=day + timedelta(days=6)
            )


def test_the_tone_model_learns_which_tone_was_followed_by_payment(
    creditor, make_invoice
):
    history(creditor, make_invoice)

    outcome = habit_retrain(kind=ModelVersion.Kind.TONE, as_of=AS_OF, actor="test")

    metrics = outcome.candidate.metrics
    assert metrics["tone_paid_rates"] == {"empathetic": 0.2, "neutral": 0.6}
    assert metrics["chosen_tone_paid_rate"] > metrics["other_tone_paid_rate"]
    assert metrics["observational"] is True
    assert outcome.promoted


def test_too_few_messages_train_no_tone_model(creditor, make_invoice):
    history(creditor, make_invoice, count=20)

    with pytest.raises(NotEnoughData, match="20 sent reminders and notices"):
        train_tone(as_of=AS_OF)


def decide_for(customer, step, habits):
    item = DueItem(1, step, Decimal("80.00"), "EUR", 5)
    return decide(customer, [item], AS_OF, timezone.now(), habits=habits)


def test_the_decision_takes_the_learned_tone_within_the_floor(
    creditor, make_invoice, alice
):
    history(creditor, make_invoice)
    model = habit_retrain(
        kind=ModelVersion.Kind.TONE, as_of=AS_OF, actor="test"
    ).candidate
    reminder = standard_step(1)
    habits = HabitBook.load([alice], {}, AS_OF)

    learned = decide_for(alice, reminder, habits)
    rules = decide_for(alice, reminder, None)

    assert rules.tone == "empathetic"
    assert learned.tone == "neutral"
    assert learned.model_versions["tone"] == model.version
    assert "paid most after a neutral message" in learned.reasons["tone"]
    reminder.tone_floor = "firm"
    assert decide_for(alice, reminder, habits).tone == "firm"
    final = standard_step(4)
    final.tone_floor = "empathetic"
    assert final.action == "final_notice"
    assert decide_for(alice, final, habits).tone == "firm"


def test_a_debtor_who_objects_to_profiling_gets_the_rules_tone(
    creditor, make_invoice, alice
):
    history(creditor, make_invoice)
    habit_retrain(kind=ModelVersion.Kind.TONE, as_of=AS_OF, actor="test")
    alice.objects_to_profiling = True
    alice.save()

    decision = decide_for(alice, standard_step(1), HabitBook.load([alice], {}, AS_OF))

    assert decision.tone == "empathetic"
    assert "tone" not in decision.model_versions
