"""Writes the API makes besides the bulk upserts: instalment plans, and the
real-time evaluation of claims after money arrived."""

import logging
from datetime import date
from decimal import Decimal

from django.db import transaction

from core.money import round_money
from payments.models import Instalment, InstalmentPlan, Invoice

logger = logging.getLogger(__name__)


class InstalmentPlanRefused(ValueError):
    """The plan does not fit the claim; `errors` maps fields to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(m for ms in errors.values() for m in ms))


class InstalmentPlanConflict(ValueError):
    """A different plan with this external id, or another active plan, exists."""


def _plan_problems(invoice: Invoice, instalments, agreed_on: date) -> dict:
    errors: dict[str, list[str]] = {}
    if invoice.status != Invoice.Status.OPEN or invoice.open_amount <= 0:
        errors["invoice_external_id"] = [
            f"Claim {invoice.number} is {invoice.get_status_display().lower()}: "
            "nothing is open to pay in instalments."
        ]
        return errors
    currency = invoice.currency
    amounts = [amount for _due_on, amount in instalments]
    inexact = [a for a in amounts if a != round_money(a, currency)]
    if inexact:
        errors.setdefault("instalments", []).append(
            f"Amounts must be whole minor units of {currency}: {inexact[0]}."
        )
    total = sum(amounts, Decimal(0))
    if total != invoice.open_amount:
        errors.setdefault("instalments", []).append(
            f"The instalments add up to {invoice.display(total)}, the claim's open "
            f"amount is {invoice.display(invoice.open_amount)}."
        )
    dates = [due_on for due_on, _amount in instalments]
    if any(later <= earlier for earlier, later in zip(dates, dates[1:], strict=False)):
        errors.setdefault("instalments", []).append(
            "Due dates must ascend, one instalment per date."
        )
    if dates and dates[0] < agreed_on:
        errors.setdefault("instalments", []).append(
            f"The first instalment is due before the plan was agreed ({agreed_on})."
        )
    return errors


def _same_plan(plan: InstalmentPlan, invoice: Invoice, instalments, agreed_on) -> bool:
    stored = [(i.due_on, i.amount) for i in plan.instalments.order_by("position")]
    return (
        plan.invoice_id == invoice.pk
        and plan.agreed_on == agreed_on
        and stored == [(due_on, Decimal(amount)) for due_on, amount in instalments]
    )


@transaction.atomic
def instalment_plan_record(
    *,
    creditor,
    invoice: Invoice,
    external_id: str,
    agreed_on: date,
    instalments: list[tuple[date, Decimal]],
    actor: str,
) -> tuple[InstalmentPlan, bool]:
    """Store a plan agreed elsewhere; returns (plan, created).

    The instalments must add up to the claim's open amount and be due on
    ascending dates. The same plan sent again is returned unchanged.
    """
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    existing = InstalmentPlan.objects.filter(
        creditor=creditor, external_id=external_id
    ).first()
    if existing is not None:
        if _same_plan(existing, invoice, instalments, agreed_on):
            return existing, False
        raise InstalmentPlanConflict(
            f"Instalment plan {external_id} was recorded before with other "
            "instalments; a recorded plan does not change."
        )
    active = invoice.instalment_plans.filter(
        status=InstalmentPlan.Status.ACTIVE
    ).first()
    if active is not None:
        raise InstalmentPlanConflict(
            f"Claim {invoice.number} already has the active instalment plan "
            f"{active.external_id}."
        )
    errors = _plan_problems(invoice, instalments, agreed_on)
    if errors:
        raise InstalmentPlanRefused(errors)

    plan = InstalmentPlan.objects.create(
        creditor=creditor,
        invoice=invoice,
        external_id=external_id,
        currency=invoice.currency,
        total=invoice.open_amount,
        agreed_on=agreed_on,
        actor=actor,
    )
    Instalment.objects.bulk_create(
        Instalment(plan=plan, position=position, due_on=due_on, amount=amount)
        for position, (due_on, amount) in enumerate(instalments, start=1)
    )
    logger.info(
        "instalment plan %s: %d instalments for claim %s",
        plan.pk,
        len(instalments),
        invoice.pk,
    )
    return plan, True


def claims_evaluate(*, invoice_ids, actor: str) -> dict:
    """Act on claims at once instead of at the next run: close the cases of
    settled claims and cancel planned messages that have nothing left to say.

    A message listing several claims stays planned while one of them is still
    owed; sending re-checks each claim and leaves out the settled ones.
    """
    from dunning.services import cases_close_settled
    from messaging.models import Message
    from messaging.services import item_stop_reason

    invoice_ids = list(invoice_ids)
    settled = list(
        Invoice.objects.filter(pk__in=invoice_ids)
        .exclude(status=Invoice.Status.OPEN)
        .values_list("pk", flat=True)
    )
    closed = cases_close_settled(invoice_ids=settled, actor=actor) if settled else 0

    planned = (
        Message.objects.filter(
            status=Message.Status.PLANNED, items__invoice_id__in=invoice_ids
        )
        .select_related("creditor")
        .prefetch_related(
            "items__invoice", "items__case_step__case", "items__case_step__step"
        )
        .distinct()
    )
    cancelled = 0
    for message in planned:
        reasons = {
            item_stop_reason(item, creditor=message.creditor)
            for item in message.items.all()
        }
        if "" in reasons:
            continue
        # The same conditional update that dispatch uses to claim a message:
        # whichever comes first wins, the other changes nothing.
        cancelled += Message.objects.filter(
            pk=message.pk, status=Message.Status.PLANNED
        ).update(
            status=Message.Status.CANCELLED,
            status_reason=", ".join(sorted(reasons))[:300],
        )
    logger.info(
        "claims evaluated by %s: %d cases closed, %d messages cancelled",
        actor,
        closed,
        cancelled,
    )
    return {"cases_closed": closed, "messages_cancelled": cancelled}
