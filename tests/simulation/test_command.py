"""`simulate` end to end: scratch databases per policy, the live data untouched."""

import json
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.conftest import DATA_DIR
from tests.simulation.conftest import AS_OF

pytestmark = pytest.mark.slow


def _counts() -> dict:
    from customers.models import Creditor, Customer
    from dunning.models import Case
    from messaging.models import Message
    from payments.models import Invoice, LedgerEntry, Payment
    from personalisation.models import ModelVersion
    from rules.models import RuleSet

    models = [Creditor, Customer, Invoice, Payment, LedgerEntry, Case, Message]
    return {m.__name__: m.objects.count() for m in [*models, ModelVersion, RuleSet]}


def test_simulate_compares_policies_and_leaves_the_live_data_alone(
    db, small_portfolio, quiet_rule_set, tmp_path
):
    if not (DATA_DIR / "hillstrom-email").exists():
        pytest.skip(f"real data sets not found at {DATA_DIR} (set SHARED_DATA_DIR)")
    call_command("import_portfolio", str(small_portfolio), format="ibm-ar", as_of=AS_OF)
    before = _counts()
    out = StringIO()

    call_command(
        "simulate",
        portfolio=str(small_portfolio),
        format="ibm-ar",
        as_of=AS_OF,
        days=40,
        policy=["standard,Quiet"],
        seed=3,
        workers=2,
        keep=str(tmp_path / "kept"),
        json=True,
        stdout=out,
    )

    assert _counts() == before
    result = json.loads(out.getvalue())
    standard, quiet = result["policies"]
    assert result["start"] == "2013-01-01"
    assert (standard["policy"], quiet["policy"]) == ("standard", "Quiet")
    assert standard["claims"] == quiet["claims"] == 24
    assert quiet["contacts_total"] == 0 and standard["contacts_total"] > 0
    assert Decimal(standard["cost"]) > 0 == Decimal(quiet["cost"])
    assert "rule set Quiet (1 rules)" in quiet["uses"]
    assert standard["collection_rate"] >= quiet["collection_rate"]
    # Kept for the admin: each policy's own database with its own figures.
    assert Path(standard["database"]).exists() and Path(quiet["database"]).exists()


def test_an_unknown_policy_is_refused_before_any_work(db, small_portfolio):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no policy or rule set called 'bold'"):
        call_command(
            "simulate",
            portfolio=str(small_portfolio),
            format="ibm-ar",
            days=5,
            policy=["standard,bold"],
        )
