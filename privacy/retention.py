"""Erasure of settled debtors once their creditor's retention period is over."""

import logging
from datetime import date, timedelta

from django.db.models import Max, Q

from customers.models import Customer
from privacy.erasure import ErasureError, customer_erase, open_claims
from privacy.models import DEFAULT_RETENTION_DAYS

logger = logging.getLogger(__name__)

ACTOR = "system:retention"


def customers_past_retention(today: date) -> list[int]:
    """Ids of debtors not erased whose last claim was settled more than their
    creditor's retention period before `today`; a day either way is
    immaterial against a period of years."""
    from payments.models import Invoice

    candidates = (
        Customer.objects.filter(erasure__isnull=True)
        .exclude(invoices__status=Invoice.Status.OPEN)
        .annotate(last_settled=Max("invoices__settled_on"))
        .filter(Q(last_settled__isnull=False))
        .select_related("creditor__retention")
    )
    due = []
    for customer in candidates.only(
        "pk", "creditor__retention__retention_days"
    ).iterator(chunk_size=2000):
        policy = getattr(customer.creditor, "retention", None)
        days = policy.retention_days if policy else DEFAULT_RETENTION_DAYS
        if customer.last_settled + timedelta(days=days) < today:
            due.append(customer.pk)
    return due


def retention_erase(*, today: date | None = None) -> dict[str, int]:
    """Erase every debtor past retention; one transaction each, so one refusal
    (a claim reopened meanwhile) stops nobody else."""
    from django.utils import timezone

    today = today or timezone.localdate()
    counts = {"erased": 0, "refused": 0}
    for customer_id in customers_past_retention(today):
        customer = Customer.objects.get(pk=customer_id)
        if open_claims(customer):
            counts["refused"] += 1
            continue
        try:
            customer_erase(
                customer=customer, actor=ACTOR, reason="retention period over"
            )
        except ErasureError:
            logger.exception("retention: customer %s not erased", customer_id)
            counts["refused"] += 1
        else:
            counts["erased"] += 1
    logger.info("retention: %s erased, %s refused", counts["erased"], counts["refused"])
    return counts
