"""Instalment plans: recorded once for every entry point (the ERP API, the debtor
page), and ended when their claim is settled or written off."""

import logging
from datetime import date
from decimal import Decimal

from django.db import transaction
from django_fsm import can_proceed

from core.money import round_money
from payments.models import Instalment, InstalmentPlan, Invoice

logger = logging.getLogger(__name__)


class InstalmentPlanRefused(ValueError):
    """The plan does not fit the claim; `errors` maps fields to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(m for ms in errors.values() for m in ms))


class InstalmentPlanConflict(ValueError):
    """A different plan with this external id, another active plan, or a case
    that cannot go into a plan (disputed, handed over)."""


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
    """Store an agreed plan and put the claim's case in it; returns (plan, created).

    The instalments must add up to the claim's open amount and be due on
    ascending dates. The same plan sent again is returned unchanged. A claim
    without a case yet gets only the plan.
    """
    from dunning.models import Case
    from dunning.services import case_agree_instalments

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
    case = Case.objects.filter(invoice=invoice, state__in=Case.LIVE).first()
    if case is not None and not can_proceed(case.agree_instalments):
        raise InstalmentPlanConflict(
            f"The case of claim {invoice.number} is "
            f"{case.get_state_display().lower()}: it cannot go into a plan."
        )

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
    if case is not None:
        case_agree_instalments(
            case_id=case.pk,
            actor=actor,
            description=(
                f"instalment plan {external_id}: {len(instalments)} instalments"
            ),
        )
    logger.info(
        "instalment plan %s: %d instalments for claim %s",
        plan.pk,
        len(instalments),
        invoice.pk,
    )
    return plan, True


# How a plan ends when its claim stops being open, by the claim's status.
ENDS = {
    Invoice.Status.PAID: (InstalmentPlan.Status.COMPLETED, "claim settled"),
    Invoice.Status.WRITTEN_OFF: (InstalmentPlan.Status.CANCELLED, "claim written off"),
}


def instalment_plans_end(*, invoice_ids, actor: str) -> int:
    """End the active plans of claims that are no longer open; returns how many.

    A settled claim (paid, or credited to zero) completes its plan, a written-off
    one cancels it. Called where settled claims close their cases, in the same
    transaction, so every payment path ends the plan the same way.
    """
    plans = InstalmentPlan.objects.select_for_update(of=("self",)).filter(
        invoice_id__in=list(invoice_ids),
        status=InstalmentPlan.Status.ACTIVE,
        invoice__status__in=list(ENDS),
    )
    ended = []
    for plan in plans.select_related("invoice"):
        plan.status, why = ENDS[plan.invoice.status]
        plan.status_reason = f"{why} ({actor})"[:200]
        plan.ended_on = plan.invoice.settled_on
        ended.append(plan)
    InstalmentPlan.objects.bulk_update(ended, ["status", "status_reason", "ended_on"])
    if ended:
        logger.info("%d instalment plans ended with their claims", len(ended))
    return len(ended)


def instalment_plans_resume(*, settled_on: dict[int, date], why: str) -> set[int]:
    """Plans completed by a settlement that was booked back run again; returns the
    claims whose plan resumed.

    `settled_on` maps each claim that opened again to the day it had been settled.
    A plan completed on that day because the claim was settled is active again with
    its own schedule, so an instalment the reversed payment had covered is missed
    the day after its due date like any other (`cases_instalments_missed`).
    """
    plans = InstalmentPlan.objects.select_for_update().filter(
        invoice_id__in=list(settled_on),
        status=InstalmentPlan.Status.COMPLETED,
        status_reason__startswith=ENDS[Invoice.Status.PAID][1],
    )
    resumed = [plan for plan in plans if plan.ended_on == settled_on[plan.invoice_id]]
    for plan in resumed:
        plan.status, plan.ended_on = InstalmentPlan.Status.ACTIVE, None
        plan.status_reason = f"active again: {why}"[:200]
    InstalmentPlan.objects.bulk_update(resumed, ["status", "status_reason", "ended_on"])
    return {plan.invoice_id for plan in resumed}
