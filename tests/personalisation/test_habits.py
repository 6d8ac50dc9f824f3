"""The learned send time and payment methods: trained from the product's own
engagement and payments, measured against the rules on the newest quarter, and
used by the run's decisions inside the contact policy and the debtor's window."""

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from customers.models import Customer
from dunning.run import run_dunning
from payments.models import Payment
from personalisation.costs import channel_costs
from personalisation.models import ChannelCost, Decision, ModelVersion
from personalisation.propensity import Propensity
from personalisation.registry import habit_retrain, habit_train, model_promote
from personalisation.services import DueItem, decide
from personalisation.training import NotEnoughData
from portal.models import EngagementEvent
from portal.services import link_create

pytestmark = pytest.mark.django_db

DUE = date(2025, 3, 3)
RUN = date(2025, 3, 6)  # a Thursday
BERLIN = ZoneInfo("Europe/Berlin")


def consumer(creditor, n: int, **kw) -> Customer:
    return Customer.objects.create(
        creditor=creditor,
        external_id=f"C-{n:04d}",
        kind="consumer",
        name=f"Debtor {n}",
        email=f"debtor{n}@example.com",
        country="DE",
        language="de",
        time_zone=kw.pop("time_zone", "Europe/Berlin"),
        birth_year=kw.pop("birth_year", 1985),
        **kw,
    )


def visits(customer, moments) -> None:
    """Page visits at these local moments (naive, in the customer's zone)."""
    link, _ = link_create(customer=customer)
    zone = ZoneInfo(customer.time_zone)
    EngagementEvent.objects.bulk_create(
        EngagementEvent(
            customer=customer,
            link=link,
            kind=EngagementEvent.Kind.VISIT,
            created_at=moment.replace(tzinfo=zone),
        )
        for moment in moments
    )


def evening_segment(creditor, count=60, hour=19, before=RUN) -> list[Customer]:
    """Consumers of one segment who visit at `hour` local time, over a year."""
    rng = random.Random(7)
    people = []
    for n in range(count):
        person = consumer(creditor, 1000 + n)
        days = sorted(rng.sample(range(1, 360), 4))
        visits(
            person,
            [
                datetime.combine(before - timedelta(days=d), time(hour, 10))
                for d in days
            ],
        )
        people.append(person)
    return people


def promoted(kind: str, as_of=RUN) -> ModelVersion:
    model = habit_train(kind=kind, as_of=as_of, actor="test")
    model_promote(model=model, actor="test")
    return model


def run():
    return run_dunning(actor="test", run_date=RUN, dry_run=False)


def local_send(decision: Decision) -> datetime:
    return decision.send_at.astimezone(decision.customer.zone)


def test_the_send_time_model_beats_the_rules_on_the_newest_quarter(creditor):
    """An evening segment: its hour is learned, the rules' 18:00 misses it."""
    evening_segment(creditor, hour=20)

    outcome = habit_retrain(kind=ModelVersion.Kind.SEND_TIME, as_of=RUN, actor="test")

    metrics = outcome.candidate.metrics
    assert metrics["train_rows"] + metrics["test_rows"] == 240
    assert metrics["hit_rate_1h"] == 1.0
    assert metrics["rules_hit_rate_1h"] == 0.0
    assert metrics["log_loss"] < metrics["uniform_log_loss"]
    assert outcome.promoted
    assert outcome.candidate.kind == "send_time"
    assert "beats the rules' 0.0" in outcome.reason


def test_too_little_engagement_trains_nothing(creditor):
    person = consumer(creditor, 1)
    visits(person, [datetime(2025, 1, 2, 9)] * 20)

    with pytest.raises(NotEnoughData, match="20 engagement events"):
        habit_train(kind=ModelVersion.Kind.SEND_TIME, as_of=RUN, actor="test")


def test_a_debtor_with_history_is_sent_at_their_own_hour(
    creditor, make_invoice, standard_plan
):
    """Own visits at noon outweigh the segment's evening; the decision says
    which model, the shares and the debtor's own evidence."""
    evening_segment(creditor)
    model = promoted(ModelVersion.Kind.SEND_TIME)
    lunch = consumer(creditor, 1)
    visits(
        lunch,
        [
            datetime.combine(RUN - timedelta(days=7 * w), time(12, 5))
            for w in range(1, 21)
        ],
    )
    newcomer = consumer(creditor, 2)
    make_invoice(lunch, "100.00", due_on=DUE)
    make_invoice(newcomer, "100.00", due_on=DUE)

    run()

    decisions = {d.customer_id: d for d in Decision.objects.all()}
    own = decisions[lunch.pk]
    assert local_send(own).time() == time(12)
    assert own.model_versions["time"] == model.version
    assert own.policy.endswith("+time")
    assert own.scores["send_time"]["events"] == 20
    assert "engages most around 12:00" in own.reasons["send_time"]
    # Without history of their own, the segment's evening hour.
    other = decisions[newcomer.pk]
    assert local_send(other).time() == time(19)
    assert other.scores["send_time"]["events"] == 0
    assert "consumer/30-44/DE" in other.reasons["send_time"]


def test_the_debtors_own_window_bounds_the_learned_hour(
    creditor, make_invoice, standard_plan
):
    """A debtor who asked for contact until 17:00 is not sent at their usual
    19:00; their best hour inside the window is taken."""
    evening_segment(creditor)
    promoted(ModelVersion.Kind.SEND_TIME)
    person = consumer(creditor, 1, contact_until=time(17))
    moments = [datetime.combine(RUN - timedelta(days=d), time(19)) for d in range(1, 9)]
    moments += [datetime.combine(RUN - timedelta(days=40), time(15, 30))] * 2
    visits(person, moments)
    make_invoice(person, "100.00", due_on=DUE)

    run()

    decision = Decision.objects.get()
    assert local_send(decision).time() == time(15)
    assert decision.scores["send_time"]["window"] == "08:00–17:00"


def test_a_debtor_who_objects_to_profiling_gets_the_rules_hour(
    creditor, make_invoice, standard_plan
):
    evening_segment(creditor, hour=12)
    promoted(ModelVersion.Kind.SEND_TIME)
    person = consumer(creditor, 1, objects_to_profiling=True)
    make_invoice(person, "100.00", due_on=DUE)

    run()

    decision = Decision.objects.get()
    assert local_send(decision).time() == time(18)
    assert "time" not in decision.model_versions
    assert "model" not in decision.scores["send_time"]


def test_a_reminder_waits_for_the_weekday_the_debtor_engages_on(
    creditor, make_invoice, standard_plan
):
    """Friday visits only: the Thursday reminder waits a day; a final notice
    due the same day would not (its deadline is not the model's to move)."""
    evening_segment(creditor)
    promoted(ModelVersion.Kind.SEND_TIME)
    person = consumer(creditor, 1)
    fridays = [date(2025, 2, 28) - timedelta(days=7 * w) for w in range(8)]
    visits(person, [datetime.combine(d, time(19)) for d in fridays])
    make_invoice(person, "100.00", due_on=DUE)

    run()

    decision = Decision.objects.get()
    assert decision.action == "reminder"
    assert local_send(decision).date() == date(2025, 3, 7)
    assert "waits for Friday 2025-03-07" in decision.reasons["send_time"]


def pay(customer, method: str, on: date, amount="50.00") -> None:
    Payment.objects.create(
        creditor=customer.creditor,
        customer=customer,
        amount=Decimal(amount),
        currency="EUR",
        received_on=on,
        method=method,
        source="import",
    )


def method_history(creditor) -> tuple[list, list]:
    """Young consumers pay with PayPal, older ones by bank transfer, over a year."""
    young = [consumer(creditor, 2000 + n, birth_year=1998) for n in range(40)]
    old = [consumer(creditor, 3000 + n, birth_year=1950) for n in range(40)]
    for i, person in enumerate(young + old):
        method = "PayPal" if person.birth_year == 1998 else "Bank transfer"
        for k in range(3):
            pay(person, method, RUN - timedelta(days=300 - 90 * k - i))
    return young, old


def test_the_method_model_learns_what_the_rules_get_wrong(creditor):
    """The rules put card first for the young; the model learns PayPal."""
    method_history(creditor)

    outcome = habit_retrain(
        kind=ModelVersion.Kind.PAYMENT_METHOD, as_of=RUN, actor="test"
    )

    metrics = outcome.candidate.metrics
    assert metrics["train_rows"] == 180 and metrics["test_rows"] == 60
    assert metrics["accuracy"] == 1.0
    assert metrics["rules_accuracy"] < 1.0
    assert set(metrics["classes"]) == {"paypal", "bank_transfer"}
    assert outcome.promoted


def test_the_page_options_follow_the_method_model(
    creditor, make_invoice, standard_plan
):
    young, _ = method_history(creditor)
    model = promoted(ModelVersion.Kind.PAYMENT_METHOD)
    make_invoice(young[0], "100.00", due_on=DUE)

    run()

    decision = Decision.objects.get()
    assert decision.payment_options[0] == "paypal"
    assert decision.model_versions["method"] == model.version
    assert decision.reasons["payment_options"].startswith(
        f"{model.version} predicts paypal"
    )
    assert decision.scores["payment_options"]["paypal"] > 0.5


def device_visit(customer, device: str, on: date) -> None:
    link, _ = link_create(customer=customer)
    EngagementEvent.objects.create(
        customer=customer,
        link=link,
        kind=EngagementEvent.Kind.VISIT,
        details={"device": device},
        created_at=datetime.combine(on, time(12)).replace(tzinfo=BERLIN),
    )


def test_the_method_model_learns_the_device_of_the_last_visit(
    creditor, make_invoice, standard_plan
):
    """Debtors of one segment pay by card after a visit on their phone and by
    bank transfer after one on a desktop: the device decides the order."""
    people = [consumer(creditor, 4000 + n) for n in range(80)]
    for i, person in enumerate(people):
        phone = i % 2 == 0
        for k in range(3):
            day = RUN - timedelta(days=300 - 90 * k - i)
            device_visit(person, "phone" if phone else "desktop", day - timedelta(1))
            pay(person, "card" if phone else "bank_transfer", day)
    model = promoted(ModelVersion.Kind.PAYMENT_METHOD)
    assert model.metrics["accuracy"] == 1.0
    newcomer = consumer(creditor, 1)
    device_visit(newcomer, "phone", RUN - timedelta(days=2))
    make_invoice(newcomer, "100.00", due_on=DUE)

    run()

    decision = Decision.objects.get()
    assert decision.payment_options[0] == "card"
    assert "device" in model.features


def test_a_visit_records_the_device_class_not_the_user_agent(client, alice):
    """The page keeps phone / tablet / desktop, never the user agent."""
    _, token = link_create(customer=alice)
    iphone = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
    )

    client.get(f"/p/{token}/", HTTP_USER_AGENT=iphone)

    visit = EngagementEvent.objects.get(kind=EngagementEvent.Kind.VISIT)
    assert visit.details == {"device": "phone"}


def test_instalments_are_offered_below_the_threshold_when_hardship_is_predicted(
    alice, standard_plan
):
    reminder = standard_plan.steps.get(position=1)
    item = DueItem(1, reminder, Decimal("80.00"), "EUR", 3)
    now = timezone.now()
    likely = Propensity("propensity-test", 0.8, "test", {1: 0.8}, Decimal("64.00"))
    unlikely = Propensity("propensity-test", 0.1, "test", {1: 0.1}, Decimal("8.00"))

    assert "instalments" not in decide(alice, [item], RUN, now).payment_options
    assert "instalments" not in (
        decide(alice, [item], RUN, now, propensity=likely).payment_options
    )
    hardship = decide(alice, [item], RUN, now, propensity=unlikely)
    assert hardship.payment_options[-1] == "instalments"
    assert "a sign of hardship" in hardship.reasons["payment_options"]


def test_channel_costs_set_in_the_admin_outrank_the_defaults(creditor, bob_ltd):
    """A creditor's own figure beats the general one, which beats the default."""
    ChannelCost.objects.create(channel="letter", cost=Decimal("0.95"))
    ChannelCost.objects.create(channel="sms", cost=Decimal("0.12"))
    ChannelCost.objects.create(creditor=creditor, channel="sms", cost=Decimal("0.06"))

    costs = channel_costs(creditor)

    assert costs == {
        "email": Decimal("0.01"),
        "sms": Decimal("0.06"),
        "whatsapp": Decimal("0.05"),
        "letter": Decimal("0.95"),
    }
    assert channel_costs()["sms"] == Decimal("0.12")


def test_the_run_weighs_the_creditors_channel_costs(bob_ltd, standard_plan):
    """A letter priced at 0.40 is worth a reminder expected to bring 0.60."""
    ChannelCost.objects.create(
        creditor=bob_ltd.creditor, channel="letter", cost=Decimal("0.40")
    )
    reminder = standard_plan.steps.get(position=1)
    reminder.channels = ["letter", "email"]
    bob_ltd.consent_email = True
    bob_ltd.email = "ap@bob.example"
    bob_ltd.preferred_channel = "letter"
    item = DueItem(1, reminder, Decimal("2.00"), "EUR", 3)
    unlikely = Propensity("propensity-test", 0.3, "test", {1: 0.3}, Decimal("0.60"))

    decision = decide(
        bob_ltd,
        [item],
        RUN,
        timezone.now(),
        propensity=unlikely,
        costs=channel_costs(bob_ltd.creditor),
    )

    assert decision.channel == "letter"
    assert decision.scores["propensity"]["costs"] == {
        "letter": "0.4000",
        "email": "0.01",
    }


def test_many_creditors_costs_in_one_query(creditor, django_assert_num_queries):
    """Each creditor's own figures over the general ones, one read for all."""
    from customers.models import Creditor
    from personalisation.costs import channel_costs_for

    other = Creditor.objects.create(name="Other GmbH", country="DE")
    ChannelCost.objects.create(channel="letter", cost=Decimal("0.95"))
    ChannelCost.objects.create(creditor=other, channel="letter", cost=Decimal("0.70"))

    with django_assert_num_queries(1):
        costs = channel_costs_for([creditor.pk, other.pk])

    assert costs[creditor.pk]["letter"] == Decimal("0.95")
    assert costs[other.pk]["letter"] == Decimal("0.70")
    assert costs[None]["letter"] == Decimal("0.95")
    assert costs[other.pk]["email"] == Decimal("0.01")
