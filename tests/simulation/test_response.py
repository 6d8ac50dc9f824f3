"""The response model's estimates from the real files are in a plausible range."""

import pytest

from simulation import response
from tests.conftest import DATA_DIR, IBM_FILE, TAIWAN_FILE


@pytest.fixture
def data_dir():
    if not (DATA_DIR / "hillstrom-email").exists():
        pytest.skip(f"real data sets not found at {DATA_DIR} (set SHARED_DATA_DIR)")
    return DATA_DIR


def test_an_email_raises_visits_and_purchases_in_the_randomised_test(data_dir):
    effect = response.hillstrom_effect(data_dir)

    assert 0.03 < effect["visit"]["uplift"] < 0.10
    assert 0 < effect["conversion"]["uplift"] < effect["visit"]["uplift"]
    assert effect["rows_mailed"] + effect["rows_control"] == 64_000


def test_an_sms_reminder_helps_in_every_lead_time_band(data_dir):
    effect = response.noshow_effect(data_dir)

    assert all(b["came_sms"] > b["came_no_sms"] for b in effect["bands"])
    assert 0.02 < effect["persuasion"] < 0.4


def test_later_contacts_succeed_less_and_mobiles_more(data_dir):
    effect = response.bank_effects(data_dir)

    assert effect["fatigue"][0] == 1.0
    assert effect["fatigue"][-1] < effect["fatigue"][1] < 1.0
    assert effect["success_cellular"] > effect["success_telephone"]
    assert (
        0.7 < min(effect["weekday"].values()) <= max(effect["weekday"].values()) < 1.3
    )


def test_the_base_hazards_follow_the_portfolios_history():
    if not IBM_FILE.exists() or not TAIWAN_FILE.exists():
        pytest.skip(f"real data sets not found at {DATA_DIR}")
    ibm = response.ibm_hazard(IBM_FILE)
    taiwan = response.taiwan_hazard(TAIWAN_FILE)

    # Late invoices are settled faster the later they are, before due slower.
    assert 0 < ibm["hazard"][0] < ibm["hazard"][1] < ibm["hazard"][-1] < 0.5
    assert sum(ibm["settlements"]) == 2466
    # Two months behind in September: far fewer pay next month than the punctual.
    assert taiwan["monthly_by_status"]["2"] < 0.5 < taiwan["monthly_by_status"]["-1"]
    assert 0 < taiwan["partial_share"] < 1 and 0 < taiwan["full_share"] < 1


def test_the_response_model_persuades_by_the_uplift_models_segments(data_dir):
    """The simulated debtors respond to an SMS by their age band, with the
    figures the channel uplift model is trained from."""
    from datetime import date

    from customers.models import Customer
    from personalisation import uplift

    if not IBM_FILE.exists():
        pytest.skip(f"real data sets not found at {DATA_DIR}")
    model = response.fit(portfolio=IBM_FILE, format="ibm-ar", data_dir=data_dir)
    saturday = date(2013, 1, 5)
    young, older = Customer(birth_year=1990), Customer(birth_year=1960)

    table = uplift.rates(model.sources["uplift"])
    assert model.segment_persuasion == table
    assert (
        model.persuasion_of("sms", 1, saturday, young)
        == (table["sms"]["rates"]["18-29"])
    )
    assert (
        model.persuasion_of("sms", 1, saturday, older)
        == (table["sms"]["rates"]["45-59"])
    )
    assert model.persuasion_of("sms", 1, saturday) == model.persuasion["sms"]
    assert (
        model.persuasion_of("letter", 1, saturday, young) == (model.persuasion["email"])
    )


def test_the_personalised_policy_weighs_the_simulated_estimate(db, settings, tmp_path):
    """The scratch registry's uplift model holds the response model's rates."""
    from personalisation.models import ModelVersion
    from personalisation.registry import active_model
    from personalisation.uplift import rates
    from simulation.policies import uplift_activate
    from tests.personalisation.test_uplift import _estimate

    settings.PERSONALISATION_MODEL_DIR = tmp_path / "models"

    version = uplift_activate(estimate=_estimate(), base_rate=0.6, source="ibm")

    loaded = active_model(ModelVersion.Kind.CHANNEL_UPLIFT)
    assert loaded.version == version
    assert loaded.pipeline.table == rates(_estimate())
    assert loaded.pipeline.base_rate == 0.6
