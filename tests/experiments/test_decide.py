"""The experiment's answer in `decide`: the arm's variant, channel or payment
options, the holdout's standard answer, and the reasons that say which."""

from datetime import UTC, datetime

import pytest

from experiments.allocation import ExperimentBook
from personalisation.services import decide

from .conftest import DAY

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 6, 7, 0, tzinfo=UTC)


def decision_for(customer, items, experiment=None):
    book = ExperimentBook([experiment]) if experiment is not None else None
    return decide(customer, items, DAY, NOW, experiments=book)


def test_an_arm_sets_the_wording_variant_and_says_why(
    alice, make_experiment, reminder_items
):
    experiment = make_experiment(arms=[("b", "b", 1)], holdout_percent=0)

    decision = decision_for(alice, reminder_items(), experiment)

    assert decision.variant == "b"
    assert decision.reasons["experiment"] == (
        "in experiment Wording, arm b (by weight)"
    )
    assert decision.scores["experiment"]["experiment"] == experiment.pk
    assert decision.scores["experiment"]["arm"] == "b"


def test_the_holdout_gets_the_standard_answer_recorded_as_holdout(
    alice, make_experiment, reminder_items
):
    """Everything but the experiment's entry equals the decision without it."""
    experiment = make_experiment(arms=[("b", "b", 1)], holdout_percent=50)
    experiment.holdout_percent = 100  # above the form's limit, to force it
    standard = decision_for(alice, reminder_items())

    held = decision_for(alice, reminder_items(), experiment)

    assert held.variant == standard.variant == "a"
    assert held.channel == standard.channel
    assert held.payment_options == standard.payment_options
    assert held.reasons.pop("experiment") == (
        "in experiment Wording, holdout: the standard answer"
    )
    assert held.scores.pop("experiment")["arm"] is None
    assert held.reasons == standard.reasons


def test_a_debtor_who_objects_to_profiling_is_still_randomised(
    alice, make_experiment, reminder_items
):
    """The arm comes from a hash of the customer id, not from their data."""
    alice.objects_to_profiling = True
    experiment = make_experiment(arms=[("c", "c", 1)], holdout_percent=0)

    decision = decision_for(alice, reminder_items(), experiment)

    assert decision.variant == "c"


def test_a_channel_arm_replaces_the_channel_when_reachable(
    alice, make_experiment, reminder_items
):
    experiment = make_experiment(
        "Letters first", decides="channel", arms=["letter"], holdout_percent=0
    )

    decision = decision_for(alice, reminder_items(), experiment)

    assert decision_for(alice, reminder_items()).channel == "email"
    assert decision.channel == "letter"
    assert decision.reasons["channel"].startswith("in experiment Letters first")


def test_an_unreachable_channel_arm_keeps_the_standard_channel(
    alice, make_experiment, reminder_items
):
    """Alice has no phone number: the SMS arm cannot reach her."""
    experiment = make_experiment(
        "SMS first", decides="channel", arms=["sms"], holdout_percent=0
    )

    decision = decision_for(alice, reminder_items(), experiment)

    assert decision.channel == "email"
    assert "sms is not reachable, standard" in decision.reasons["experiment"]


def test_an_offer_arm_sets_the_payment_options(alice, make_experiment, reminder_items):
    experiment = make_experiment(
        "Instalments up front",
        decides="offer",
        arms=[("inst", "instalments,card", 1)],
        holdout_percent=0,
    )

    decision = decision_for(alice, reminder_items(), experiment)

    assert decision.payment_options == ["instalments", "card"]
    assert "Instalments up front" in decision.reasons["payment_options"]


def test_a_final_notice_keeps_its_letter_in_a_channel_experiment(
    alice, make_experiment
):
    """Proof of dispatch outranks the arm."""
    from decimal import Decimal

    from dunning.models import Step
    from personalisation.services import DueItem

    final = Step.objects.get(plan__name="Standard", position=4)
    items = [DueItem(1, final, Decimal("100.00"), "EUR", 45)]
    experiment = make_experiment(
        "E-mail finals", decides="channel", arms=["email"], holdout_percent=0
    )

    decision = decision_for(alice, items, experiment)

    assert decision.channel == "letter"
    assert decision.reasons["experiment"].endswith(
        "; a final notice keeps its letter, standard"
    )


def test_a_send_hour_arm_moves_the_message_to_its_local_hour(
    alice, make_experiment, reminder_items
):
    """Alice's standard slot is 18:00 Berlin; the arm sends at 09:00 that day."""
    experiment = make_experiment(
        "Morning", decides="send_hour", arms=[("am", "09:00", 1)], holdout_percent=0
    )

    standard = decision_for(alice, reminder_items())
    decision = decision_for(alice, reminder_items(), experiment)

    local = decision.send_at.astimezone(alice.zone)
    assert standard.send_at.astimezone(alice.zone).hour == 18
    assert (local.date(), local.hour) == (DAY, 9)
    assert (
        decision.reasons["send_time"]
        == "in experiment Morning, arm am (by weight): 09:00"
    )


def test_a_send_hour_outside_the_allowed_hours_keeps_the_standard_time(
    alice, make_experiment, reminder_items
):
    """The contact policy's 08:00–20:00 wins over an arm at 06:30."""
    experiment = make_experiment(
        "Dawn", decides="send_hour", arms=[("dawn", "06:30", 1)], holdout_percent=0
    )

    decision = decision_for(alice, reminder_items(), experiment)

    assert decision.send_at == decision_for(alice, reminder_items()).send_at
    assert decision.reasons["experiment"].endswith(
        "arm dawn's 06:30 is outside the allowed hours 08:00–20:00, standard"
    )


def test_a_send_hour_arm_must_be_a_time():
    from experiments.models import Arm, Experiment

    arm = Arm(key="x", value="evening")

    assert arm.value_error(Experiment.Decides.SEND_HOUR) == (
        "a send time is a local time as HH:MM, e.g. 18:00"
    )
    assert Arm(key="y", value="18:00").value_error(Experiment.Decides.SEND_HOUR) == ""
