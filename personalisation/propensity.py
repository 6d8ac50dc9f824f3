"""Payment propensity of the debtors of one batch of the run, scored at once.

`score_batch` loads the active model and the debtors' histories once and calls
the model once for every claim of the batch. Without an active model it
returns nothing and `decide` is the rule-based policy exactly; a debtor who
objects to profiling, or whose creditor switched learning off, gets a
`Propensity` without a probability that says why the rules alone decided.
"""

import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from personalisation.features import Snapshot, claim_rows, frame, load_history
from personalisation.models import ModelVersion
from personalisation.registry import active_model
from personalisation.training import model_threads

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Propensity:
    version: str
    # Probability that the debtor pays within the horizon, amount-weighted
    # over their claims of the decision; None: not scored.
    probability: float | None
    reason: str
    by_claim: dict[int, float] = field(default_factory=dict)
    # Sum of probability × open amount over the claims, in their currency.
    expected_recovery: Decimal = Decimal(0)


def opted_out_reason(customer, learning: dict[int, bool]) -> str:
    if customer.objects_to_profiling:
        return "the debtor objects to profiling; rules alone"
    if not learning.get(customer.creditor_id, True):
        return "the creditor switched learning off; rules alone"
    return ""


def score_batch(*, customers, items: dict[int, list], on: date) -> dict:
    """customer id → `Propensity` for the debtors of one batch; empty when no
    model is active. `items` are each debtor's `DueItem`s of the decision."""
    from customers.models import Creditor

    model = active_model(ModelVersion.Kind.PROPENSITY)
    if model is None:
        return {}
    learning = dict(
        Creditor.objects.filter(pk__in={c.creditor_id for c in customers}).values_list(
            "pk", "learning_enabled"
        )
    )
    result, scored = {}, []
    for customer in customers:
        why = opted_out_reason(customer, learning)
        if why:
            result[customer.pk] = Propensity("", None, why)
        else:
            scored.append(customer)
    if not scored:
        return result

    history = load_history(c.pk for c in scored)
    snapshots = [
        Snapshot(customer, item.invoice_id, on, max(item.days_overdue, 0))
        for customer in scored
        for item in items[customer.pk]
    ]
    features = frame(claim_rows(snapshots, history))
    with model_threads():
        probabilities = model.pipeline.predict_proba(features)[:, 1]
    by_claim = {
        snap.invoice_id: round(float(p), 4)
        for snap, p in zip(snapshots, probabilities, strict=True)
    }
    for customer in scored:
        claims = items[customer.pk]
        total = sum((i.open_amount for i in claims), Decimal(0))
        expected = sum(
            (Decimal(str(by_claim[i.invoice_id])) * i.open_amount for i in claims),
            Decimal(0),
        ).quantize(Decimal("0.01"))
        probability = (
            float(expected / total) if total else by_claim[claims[0].invoice_id]
        )
        result[customer.pk] = Propensity(
            model.version,
            round(probability, 4),
            f"{model.version} predicts payment with probability {probability:.2f}",
            {i.invoice_id: by_claim[i.invoice_id] for i in claims},
            expected,
        )
    logger.info("scored %d claims with %s", len(snapshots), model.version)
    return result
