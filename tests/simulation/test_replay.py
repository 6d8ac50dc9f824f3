"""The replay in one database: contacts matter, and a seed fixes the figures."""

from django.core.management import call_command
from django.db import transaction

from simulation.replay import simulate, start_day
from simulation.response import ResponseModel
from tests.simulation.conftest import AS_OF

DAYS = 30


def _model(persuasion: float) -> ResponseModel:
    return ResponseModel(
        hazard=[0.002] * 5,
        factors={},
        unit="claim",
        full_share=1.0,
        partial_share=1.0,
        persuasion=dict.fromkeys(["email", "sms", "whatsapp", "letter"], persuasion),
    )


def _replay(model, *, seed=0, rule_set=None) -> dict:
    """One replay, rolled back afterwards so the next one starts the same."""
    from rules.services import rule_set_activate

    with transaction.atomic():
        if rule_set is not None:
            rule_set_activate(rule_set_id=rule_set.pk, actor="user:test")
        result = simulate(model=model, seed=seed, start=start_day(AS_OF), days=DAYS)
        transaction.set_rollback(True)
    result.pop("replay_seconds")
    return result


def _import(path):
    call_command("import_portfolio", str(path), format="ibm-ar", as_of=AS_OF, json=True)


def test_a_policy_that_never_contacts_collects_less(
    db, small_portfolio, quiet_rule_set
):
    _import(small_portfolio)
    model = _model(persuasion=0.6)

    contacting = _replay(model)
    quiet = _replay(model, rule_set=quiet_rule_set)

    assert quiet["contacts_total"] == 0
    assert contacting["contacts_total"] > 0
    assert quiet["claims"] == contacting["claims"] == 24
    assert contacting["collection_rate"] > quiet["collection_rate"]
    assert contacting["claims_paid"] > quiet["claims_paid"]


def test_without_a_contact_effect_contacts_change_nothing_but_cost(db, small_portfolio):
    _import(small_portfolio)

    result = _replay(_model(persuasion=0.0))

    assert result["contacts_total"] > 0
    assert result["claims_paid"] < 24


def test_the_same_seed_gives_the_same_figures(db, small_portfolio):
    _import(small_portfolio)
    model = _model(persuasion=0.3)

    first, second = _replay(model, seed=7), _replay(model, seed=7)
    other = _replay(model, seed=8)

    assert first == second
    assert first["claims_paid"] > 0
    assert other != first
