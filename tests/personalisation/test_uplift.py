"""The channel uplift in the run's decisions: a channel wins by what a contact
on it adds (persuasion × what would stay unpaid − cost), never over a final
notice's letter or a debtor who objects to profiling; and its figures from the
real files."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from dunning.run import run_dunning
from personalisation.models import Decision, ModelVersion
from personalisation.registry import model_promote, model_register, uplift_train
from personalisation.services import POLICY, DueItem, decide
from personalisation.uplift import UpliftBook, train
from tests.conftest import DATA_DIR, IBM_FILE

pytestmark = pytest.mark.django_db

DUE = date(2025, 3, 3)
RUN = date(2025, 3, 6)
BASE_RATE = 0.5


def _figure(rate: float) -> dict:
    return {
        "persuasion": rate,
        "low": rate - 0.01,
        "high": rate + 0.01,
        "treated": 1000,
        "treated_acted": 0,
        "control": 1000,
        "control_acted": 0,
        "strata": 1,
    }


def _estimate() -> dict:
    """SMS persuades 0.10 (0.01 under 30), e-mail 0.06: an SMS costs 0.08
    and an e-mail 0.01, so an SMS is worth it from about 3.50 unpaid."""
    return {
        "channels": {
            "email": {"by": "tenure", "all": _figure(0.06), "segments": {}},
            "sms": {
                "by": "age",
                "all": _figure(0.10),
                "segments": {"18-29": _figure(0.01), "30-44": _figure(0.10)},
            },
            "letter": {"as": "email"},
            "whatsapp": {"as": "sms"},
        },
        "assumptions": ["a letter persuades like an e-mail"],
        "bootstrap": {"replicates": 10, "seed": 0, "interval": 0.95},
    }


@pytest.fixture
def uplift_model(settings, tmp_path):
    settings.PERSONALISATION_MODEL_DIR = tmp_path / "models"
    trained = train(estimate=_estimate(), base_rate=BASE_RATE, source="test")
    model = model_register(
        kind=ModelVersion.Kind.CHANNEL_UPLIFT, trained=trained, actor="test"
    )
    model_promote(model=model, actor="test")
    return model


@pytest.fixture
def texting_alice(alice):
    """Alice (40 in 2025) with a mobile number and consent to SMS."""
    alice.phone = "+4915112345678"
    alice.consent_sms = True
    alice.save()
    return alice


def run():
    return run_dunning(actor="test", run_date=RUN, dry_run=False)


def test_an_sms_worth_its_cost_beats_email_for_a_big_claim(
    texting_alice, make_invoice, uplift_model
):
    """500 open, half expected to stay unpaid: SMS brings 0.10 × 250 − 0.08,
    e-mail 0.06 × 250 − 0.01; the plan's first channel was e-mail."""
    make_invoice(texting_alice, "500.00", due_on=DUE)

    run()

    decision = Decision.objects.get()
    assert decision.channel == "sms"
    gain = decision.scores["uplift"]
    assert gain["expected_net_gain"]["sms"] == "24.92"
    assert gain["expected_net_gain"]["email"] == "14.99"
    assert gain["probability_from"] == "base rate"
    assert gain["segments"]["sms"] == "30-44"
    assert "so sms" in decision.reasons["channel"]
    assert decision.model_versions["uplift"] == uplift_model.version
    assert decision.policy == f"{POLICY}+uplift"


def test_email_wins_a_small_claim(texting_alice, make_invoice, uplift_model):
    """2.00 open: the SMS would bring 0.02 after its cost, the e-mail 0.05."""
    make_invoice(texting_alice, "2.00", due_on=DUE)

    run()

    decision = Decision.objects.get()
    assert decision.channel == "email"
    assert decision.scores["uplift"]["expected_net_gain"] == {
        "email": "0.05",
        "sms": "0.02",
        "letter": "-1.04",
    }
    assert "it also brings the most" in decision.reasons["channel"]


def test_a_claim_no_contact_is_worth_keeps_the_rules_channel(
    texting_alice, standard_plan, uplift_model
):
    """0.10 open: no channel brings its cost; the plan's e-mail still goes."""
    reminder = standard_plan.steps.get(position=1)
    item = DueItem(1, reminder, Decimal("0.10"), "EUR", 3)
    book = UpliftBook.load([texting_alice], RUN)

    decision = decide(texting_alice, [item], RUN, timezone.now(), uplift=book)

    assert decision.channel == "email"
    assert all(
        Decimal(g) < 0 for g in decision.scores["uplift"]["expected_net_gain"].values()
    )
    assert "no channel is expected to bring its cost" in decision.reasons["channel"]


def test_a_young_debtor_gets_email_where_sms_persuades_few(
    texting_alice, make_invoice, uplift_model
):
    """Under 30 an SMS persuades 0.01 in the estimate: e-mail wins 500 too."""
    texting_alice.birth_year = 2000
    texting_alice.save()
    make_invoice(texting_alice, "500.00", due_on=DUE)

    run()

    decision = Decision.objects.get()
    assert decision.channel == "email"
    assert decision.scores["uplift"]["persuasion"]["sms"] == 0.01


def test_a_final_notice_keeps_its_letter(texting_alice, standard_plan, uplift_model):
    """The letter is proof of dispatch, whatever an SMS would bring."""
    final = standard_plan.steps.get(position=4)
    final.channels = ["letter", "sms", "email"]
    item = DueItem(1, final, Decimal("5000.00"), "EUR", 42)
    book = UpliftBook.load([texting_alice], RUN)

    decision = decide(texting_alice, [item], RUN, timezone.now(), uplift=book)

    assert decision.channel == "letter"
    gain = decision.scores["uplift"]["expected_net_gain"]
    assert Decimal(gain["sms"]) > Decimal(gain["letter"]) > 0
    assert "kept, though sms would bring" in decision.reasons["channel"]


def test_a_debtor_who_objects_to_profiling_keeps_the_rules_channel(
    texting_alice, make_invoice, uplift_model
):
    texting_alice.objects_to_profiling = True
    texting_alice.save()
    make_invoice(texting_alice, "500.00", due_on=DUE)

    run()

    decision = Decision.objects.get()
    assert decision.channel == "email"
    assert decision.policy == POLICY
    assert "uplift" not in decision.scores
    assert decision.model_versions == {}


def test_without_an_active_model_the_book_is_empty(texting_alice):
    assert UpliftBook.load([texting_alice], RUN).hints == {}


def test_the_book_reads_the_registry_once_for_the_batch(
    creditor, texting_alice, bob_ltd, uplift_model, django_assert_num_queries
):
    """The active version and the creditors' learning switch, however many
    debtors: no query per debtor."""
    with django_assert_num_queries(2):
        book = UpliftBook.load([texting_alice, bob_ltd], RUN)

    assert set(book.hints) == {texting_alice.pk, bob_ltd.pk}
    assert book.hints[bob_ltd.pk].segments["sms"] == "all"


def test_the_real_files_give_both_channels_a_persuasion_with_an_interval(
    settings, tmp_path
):
    if not (DATA_DIR / "hillstrom-email").exists() or not IBM_FILE.exists():
        pytest.skip(f"real data sets not found at {DATA_DIR} (set SHARED_DATA_DIR)")
    settings.PERSONALISATION_MODEL_DIR = tmp_path / "models"

    model = uplift_train(
        data_dir=DATA_DIR, source="ibm", path=IBM_FILE, as_of=RUN, actor="test"
    )

    channels = model.metrics["channels"]
    for channel in ("email", "sms"):
        figure = channels[channel]["all"]
        assert 0 < figure["low"] < figure["persuasion"] < figure["high"] < 0.5
        assert figure["treated"] > 1000 and figure["control"] > 1000
    assert set(channels["sms"]["segments"]) == {"18-29", "30-44", "45-59", "60+"}
    assert channels["letter"] == {"as": "email"}
    assert channels["whatsapp"] == {"as": "sms"}
    assert any("letter" in a for a in model.metrics["assumptions"])
    assert 0 < model.metrics["base_rate"] < 1
    assert model.kind == ModelVersion.Kind.CHANNEL_UPLIFT
