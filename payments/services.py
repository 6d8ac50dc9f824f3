"""Writes to claims and their ledgers. Every change of money leaves a ledger row."""

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from core.money import ZERO, round_money
from payments.models import CreditNote, Invoice, LedgerEntry, Payment

logger = logging.getLogger(__name__)

Kind = LedgerEntry.Kind
Component = LedgerEntry.Component

# BGB §367: costs first, then interest, then principal.
ALLOCATION_ORDER = (Component.COSTS, Component.INTEREST, Component.PRINCIPAL)


class LedgerError(ValueError):
    """Refused change of a claim's ledger; nothing was written."""


@dataclass(frozen=True)
class Allocation:
    invoice_id: int
    component: str
    amount: Decimal


def component_balances(invoice_ids) -> dict[int, dict[str, Decimal]]:
    """Open amount per claim and component, from the ledger rows."""
    balances: dict[int, dict[str, Decimal]] = {
        invoice_id: dict.fromkeys(ALLOCATION_ORDER, ZERO) for invoice_id in invoice_ids
    }
    rows = (
        LedgerEntry.objects.filter(invoice_id__in=list(balances))
        .values("invoice_id", "component")
        .annotate(total=Sum("amount"))
    )
    for row in rows:
        balances[row["invoice_id"]][row["component"]] += row["total"]
    return balances


def allocate(
    amount: Decimal,
    ordered_invoice_ids: list[int],
    balances: dict[int, dict[str, Decimal]],
) -> tuple[list[Allocation], Decimal]:
    """Split a payment over claims in the given order, each by ALLOCATION_ORDER.

    Returns the allocations and what is left over (a customer credit). `balances`
    is updated in place so that callers can allocate several payments in a row.
    """
    left = amount
    allocations = []
    for invoice_id in ordered_invoice_ids:
        for component in ALLOCATION_ORDER:
            if left <= 0:
                return allocations, ZERO
            owed = balances[invoice_id][component]
            if owed <= 0:
                continue
            share = min(owed, left)
            balances[invoice_id][component] = owed - share
            left -= share
            allocations.append(Allocation(invoice_id, component, share))
    return allocations, left


def _check_currency(currency: str, invoice: Invoice) -> None:
    if currency.upper() != invoice.currency:
        raise LedgerError(
            f"Amount in {currency} cannot be booked on claim {invoice.number} "
            f"in {invoice.currency}."
        )


@transaction.atomic
def invoice_create(
    *,
    creditor,
    customer,
    external_id: str,
    number: str,
    currency: str,
    amount: Decimal,
    issued_on: date,
    due_on: date,
    actor: str,
    description: str = "",
    source_facts: dict | None = None,
) -> Invoice:
    currency = currency.upper()
    amount = round_money(amount, currency)
    if amount <= 0:
        raise LedgerError(f"Claim {number}: the amount must be positive.")
    if due_on < issued_on:
        raise LedgerError(f"Claim {number}: due date before invoice date.")
    invoice = Invoice.objects.create(
        creditor=creditor,
        customer=customer,
        external_id=external_id,
        number=number,
        currency=currency,
        amount=amount,
        open_amount=amount,
        issued_on=issued_on,
        due_on=due_on,
        description=description,
        source_facts=source_facts or {},
    )
    LedgerEntry.objects.create(
        invoice=invoice,
        kind=Kind.PRINCIPAL,
        component=Component.PRINCIPAL,
        amount=amount,
        booked_on=issued_on,
        actor=actor,
        reason="invoice booked",
    )
    return invoice


def _apply_to_invoices(invoice_ids, settled_on: date, actor: str) -> list[int]:
    """Recompute cached balances; close claims that reached zero.

    Returns the ids of the claims that were settled by this change.
    """
    totals = dict(
        LedgerEntry.objects.filter(invoice_id__in=invoice_ids)
        .values_list("invoice_id")
        .annotate(total=Sum("amount"))
        .values_list("invoice_id", "total")
    )
    settled = []
    invoices = Invoice.objects.filter(id__in=invoice_ids)
    for invoice in invoices:
        invoice.open_amount = totals.get(invoice.id, ZERO)
        if invoice.open_amount < 0:
            raise LedgerError(f"Claim {invoice.number} would become negative.")
        if invoice.open_amount == 0 and invoice.status == Invoice.Status.OPEN:
            invoice.status = Invoice.Status.PAID
            invoice.settled_on = settled_on
            settled.append(invoice.id)
    Invoice.objects.bulk_update(invoices, ["open_amount", "status", "settled_on"])
    if settled:
        from dunning.services import cases_close_settled

        cases_close_settled(invoice_ids=settled, actor=actor)
    return settled


@transaction.atomic
def payment_record(
    *,
    customer,
    amount: Decimal,
    currency: str,
    received_on: date,
    actor: str,
    external_id: str | None = None,
    invoice: Invoice | None = None,
    invoice_ids: list[int] | None = None,
    method: str = "",
    source: str = "",
    reference: str = "",
) -> Payment:
    """Record a payment and allocate it: named claims first, then oldest first.

    Only claims in the payment's currency receive it; what is left becomes the
    customer's credit on the payment (never a negative claim).
    """
    currency = currency.upper()
    amount = round_money(amount, currency)
    if amount <= 0:
        raise LedgerError("A payment must be positive.")
    if invoice is not None:
        _check_currency(currency, invoice)

    if external_id:
        existing = Payment.objects.filter(
            creditor=customer.creditor, external_id=external_id
        ).first()
        if existing:
            return existing

    named = list(invoice_ids or []) + ([invoice.id] if invoice else [])
    candidates = list(
        Invoice.objects.select_for_update()
        .filter(
            customer=customer,
            currency=currency,
            status=Invoice.Status.OPEN,
            open_amount__gt=0,
        )
        .order_by("due_on", "issued_on", "id")
        .values_list("id", flat=True)
    )
    ordered = [i for i in named if i in candidates] + [
        i for i in candidates if i not in named
    ]
    balances = component_balances(ordered)
    allocations, left = allocate(amount, ordered, balances)

    payment = Payment.objects.create(
        creditor=customer.creditor,
        customer=customer,
        external_id=external_id,
        amount=amount,
        currency=currency,
        received_on=received_on,
        method=method,
        source=source,
        reference=reference,
        invoice=invoice,
        unallocated_amount=left,
    )
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            invoice_id=a.invoice_id,
            kind=Kind.PAYMENT,
            component=a.component,
            amount=-a.amount,
            booked_on=received_on,
            payment=payment,
            actor=actor,
            reason=f"payment {payment.pk}",
        )
        for a in allocations
    )
    _apply_to_invoices({a.invoice_id for a in allocations}, received_on, actor)
    logger.info(
        "payment %s recorded: %d allocations, %s left as credit",
        payment.pk,
        len(allocations),
        left,
    )
    return payment


@transaction.atomic
def credit_note_post(
    *,
    invoice: Invoice,
    external_id: str,
    amount: Decimal,
    currency: str,
    issued_on: date,
    actor: str,
    reason: str = "",
) -> CreditNote:
    """Post a credit note against one claim; it reduces the principal only."""
    _check_currency(currency, invoice)
    amount = round_money(amount, invoice.currency)
    existing = CreditNote.objects.filter(
        creditor=invoice.creditor, external_id=external_id
    ).first()
    if existing:
        return existing
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    principal = component_balances([invoice.id])[invoice.id][Component.PRINCIPAL]
    if amount > principal:
        raise LedgerError(
            f"Credit note {external_id} ({amount}) exceeds the open principal "
            f"of claim {invoice.number} ({principal})."
        )
    note = CreditNote.objects.create(
        creditor=invoice.creditor,
        customer=invoice.customer,
        invoice=invoice,
        external_id=external_id,
        amount=amount,
        currency=invoice.currency,
        issued_on=issued_on,
        status=CreditNote.Status.POSTED,
        reason=reason,
    )
    LedgerEntry.objects.create(
        invoice=invoice,
        kind=Kind.CREDIT,
        component=Component.PRINCIPAL,
        amount=-amount,
        booked_on=issued_on,
        credit_note=note,
        actor=actor,
        reason=reason or f"credit note {external_id}",
    )
    settled = _apply_to_invoices([invoice.id], issued_on, actor)
    if settled:
        Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.CREDITED)
    return note
