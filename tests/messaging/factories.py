"""Planned messages built directly, the way the dunning run leaves them."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import F

from dunning.models import Case, CaseStep, Plan
from messaging.models import Message, MessageItem
from payments.models import Invoice, LedgerEntry
from personalisation.models import Decision

SCHEDULED_AT = datetime(2025, 4, 1, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
ACTION_DATE = date(2025, 4, 1)


def standard_step(position: int):
    return Plan.objects.get(name="Standard", creditor=None).steps.get(position=position)


def case_step_take(invoice, position: int, *, state=Case.State.IN_DUNNING):
    """The case of a claim (created in `state`) with the plan step taken.

    A step with a fee books it on the claim's ledger, as the dunning run does.
    """
    step = standard_step(position)
    case = Case.objects.filter(invoice=invoice).first()
    if case is None:
        case = Case.objects.create(
            invoice=invoice,
            customer=invoice.customer,
            creditor=invoice.creditor,
            plan=step.plan,
            state=state,
            opened_on=invoice.due_on,
        )
    case_step = CaseStep.objects.create(
        case=case,
        step=step,
        taken_on=ACTION_DATE,
        fee=step.fee,
        open_amount=invoice.open_amount,
        actor="test",
    )
    if step.fee:
        LedgerEntry.objects.create(
            invoice=invoice,
            kind=LedgerEntry.Kind.FEE,
            component=LedgerEntry.Component.COSTS,
            amount=step.fee,
            booked_on=ACTION_DATE,
            case_step=case_step,
            actor="test",
            reason=step.name,
        )
        Invoice.objects.filter(pk=invoice.pk).update(
            open_amount=F("open_amount") + step.fee
        )
    return case_step


def make_message(
    customer,
    claims,
    *,
    channel="email",
    tone="neutral",
    language=None,
    scheduled_at=SCHEDULED_AT,
    payment_options=("bank_transfer", "card"),
):
    """A planned message listing `claims`, a list of (invoice, step position)."""
    language = language or customer.language
    case_steps = [(invoice, case_step_take(invoice, pos)) for invoice, pos in claims]
    actions = [case_step.step.action for _invoice, case_step in case_steps]
    decision = Decision.objects.create(
        customer=customer,
        action=actions[-1],
        channel=channel,
        send_at=scheduled_at,
        tone=tone,
        language=language,
        payment_options=list(payment_options),
        reasons={"channel": "test"},
        scores={},
        policy="test",
    )
    message = Message.objects.create(
        creditor=customer.creditor,
        customer=customer,
        channel=channel,
        idempotency_key=f"test-{uuid.uuid4().hex}",
        decision=decision,
        action_date=ACTION_DATE,
        scheduled_at=scheduled_at,
        language=language,
        tone=tone,
    )
    for invoice, case_step in case_steps:
        invoice.refresh_from_db()
        MessageItem.objects.create(
            message=message,
            case_step=case_step,
            invoice=invoice,
            level=case_step.step.position,
            action=case_step.step.action,
            open_amount=invoice.open_amount,
            currency=invoice.currency,
        )
    return message


def open_amount(invoice) -> Decimal:
    return Invoice.objects.values_list("open_amount", flat=True).get(pk=invoice.pk)
