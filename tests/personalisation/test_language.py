"""A decision's language is the one the debtor page shows: our own texts for
en and de (with or without a region), English for any other language."""

from decimal import Decimal

import pytest
from django.utils import timezone

from personalisation.services import DueItem, decide
from portal.texts import page_language

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("code", "reads"), [("de", "de"), ("de-AT", "de"), ("en", "en"), ("fr", "en")]
)
def test_a_decision_reads_the_language_of_the_debtor_page(
    alice, standard_plan, code, reads
):
    """An Austrian debtor's reminder is German, a French debtor's English."""
    alice.language = code
    item = DueItem(1, standard_plan.steps.get(position=1), Decimal("80.00"), "EUR", 3)
    now = timezone.now()

    decision = decide(alice, [item], now.date(), now)

    assert decision.language == reads == page_language(code)
