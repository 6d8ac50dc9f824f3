"""Feature rows of payment propensity: what they hold and what they never do."""

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from personalisation import training
from personalisation.features import (
    FEATURES,
    PROTECTED,
    Snapshot,
    claim_rows,
    frame,
    load_history,
)

pytestmark = pytest.mark.django_db


def test_no_protected_attribute_is_a_feature():
    """Sex, marital status and the like are not among the model's columns."""
    assert not {name.lower() for name in FEATURES} & PROTECTED
    assert {"sex", "marital_status", "marriage"} <= PROTECTED


def test_a_protected_column_is_refused_rather_than_ignored():
    """Handing the model a sex column is an error, not a silent extra input."""
    row = dict.fromkeys(FEATURES, 1) | {"sex": 2}

    with pytest.raises(ValueError, match="sex"):
        frame([row])


def test_the_taiwan_rows_do_not_depend_on_sex_or_marital_status(taiwan_file):
    """Changing SEX, MARRIAGE and EDUCATION of every card holder changes no
    feature value."""
    raw = training.taiwan_columns(taiwan_file)
    before = training.taiwan_dataset(taiwan_file, raw=raw).features
    changed = raw.assign(
        SEX=3 - raw["SEX"], MARRIAGE=raw["MARRIAGE"] % 3 + 1, EDUCATION=0
    )

    after = training.taiwan_dataset(taiwan_file, raw=changed).features

    assert list(before.columns) == FEATURES
    assert before.equals(after)


def test_a_debtors_history_gives_the_shares_known_on_the_day(alice, make_invoice):
    """One past claim paid on time, one paid late, one settled only after the
    day (unknown then) and the claim itself: shares of three past claims."""
    from payments.models import Invoice

    on_time = make_invoice(alice, "50.00", due_on=date(2025, 1, 10))
    late = make_invoice(alice, "60.00", due_on=date(2025, 1, 20))
    pending = make_invoice(alice, "70.00", due_on=date(2025, 2, 1))
    current = make_invoice(alice, "80.00", due_on=date(2025, 3, 1))
    for invoice, settled in [
        (on_time, date(2025, 1, 9)),
        (late, date(2025, 2, 2)),
        (pending, date(2025, 3, 20)),
    ]:
        Invoice.objects.filter(pk=invoice.pk).update(
            status="paid", settled_on=settled, open_amount=Decimal(0)
        )

    [row] = claim_rows(
        [Snapshot(alice, current.pk, date(2025, 3, 5), 4)], load_history([alice.pk])
    )

    assert row["past_claims"] == 3
    assert row["share_paid_on_time"] == pytest.approx(1 / 3)
    assert row["share_paid_late"] == pytest.approx(1 / 3)
    # The pending one and the current one are open on 5 March.
    assert row["open_claims"] == 2
    assert row["amount"] == 80.0
    assert row["days_overdue"] == 4
    assert row["customer_kind"] == "consumer"
    assert row["age_band"] == "30-44"
    assert row["country"] == "DE"


def test_a_first_claim_has_no_shares_to_go_by(alice, make_invoice):
    """Without past claims the shares are missing, not zero."""
    invoice = make_invoice(alice, "80.00", due_on=date(2025, 3, 1))

    [row] = claim_rows(
        [Snapshot(alice, invoice.pk, date(2025, 3, 5), 4)], load_history([alice.pk])
    )

    assert row["past_claims"] == 0
    assert np.isnan(row["share_paid_late"])
    assert np.isnan(frame([row])["share_paid_on_time"].iloc[0])
