"""The dry-run of a draft rule set over the IBM portfolio, before activation."""

from datetime import date

import pytest
from django.core.management import call_command

from dunning.models import Case, CaseStep
from messaging.models import Message
from personalisation.models import Decision
from rules.services import dry_run

pytestmark = pytest.mark.django_db

ON = date(2013, 7, 15)


@pytest.fixture
def ibm_portfolio(ibm_file):
    call_command(
        "import_portfolio", str(ibm_file), "--format", "ibm-ar", "--as-of", "2013-06-30"
    )


@pytest.fixture
def letter_draft(ibm_portfolio, make_rule_set, make_rule):
    """Customers that paid less than 80 % on time get letters in a firm tone."""
    rule_set = make_rule_set(name="Paper for bad payers")
    make_rule(
        rule_set,
        "Bad payers by letter",
        [
            ("customer_kind", "eq", "business"),
            ("paid_on_time_share", "lt", "80"),
        ],
        priority=10,
        channels=["letter"],
        tone="firm",
    )
    return rule_set


def test_the_dry_run_counts_and_lists_the_claims_that_would_change(letter_draft):
    """Counts by plan, step, channel and tone; changed claims go to letter, firm."""
    result = dry_run(rule_set_id=letter_draft.pk, on=ON)

    draft, baseline = result.draft, result.baseline
    stepped = draft["treatment"]["step"]
    assert result.claims > stepped > 0
    assert sum(draft["step"].values()) == stepped == sum(baseline["step"].values())
    assert sum(draft["channel"].values()) == stepped
    assert sum(draft["tone"].values()) == stepped
    # Claims not yet overdue have no case (and so no plan) yet.
    assert sum(draft["plan"].values()) == result.claims
    assert draft["plan"]["Standard"] >= stepped
    # Without rules, electronic billers get e-mails; the draft moves the bad
    # payers among them to letters.
    assert baseline["channel"].get("email", 0) > draft["channel"].get("email", 0)
    assert draft["tone"].get("firm", 0) > baseline["tone"].get("firm", 0)
    assert result.changed
    for change in result.changed:
        assert change["after"]["rule"] == "Bad payers by letter"
        assert change["after"]["channel"] == "letter"
        assert change["after"]["tone"] == "firm"
        assert set(change["fields"]) <= {"channel", "tone"}
    changed = {c["invoice"].pk for c in result.changed}
    assert len(changed) == len(result.changed)


def test_the_dry_run_writes_nothing(letter_draft):
    """No case, step, decision or message comes from a dry-run."""
    dry_run(rule_set_id=letter_draft.pk, on=ON, against_no_rules=True)

    assert Case.objects.count() == 0
    assert CaseStep.objects.count() == 0
    assert Decision.objects.count() == 0
    assert Message.objects.count() == 0
    letter_draft.refresh_from_db()
    assert letter_draft.status == "draft"


def test_the_dry_run_matches_what_the_run_then_does(letter_draft):
    """After activation the run's messages follow the counts the dry-run showed."""
    from dunning.run import run_dunning
    from rules.services import rule_set_activate

    result = dry_run(rule_set_id=letter_draft.pk, on=ON)
    rule_set_activate(rule_set_id=letter_draft.pk, actor="user:test")

    run_dunning(actor="test", run_date=ON, plan_only=True)

    tones = {}
    for message in Message.objects.prefetch_related("items"):
        tones[message.tone] = tones.get(message.tone, 0) + message.items.count()
    assert tones == result.draft["tone"]
