"""Writes to claims and their ledgers. Every change of money leaves a ledger row."""

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Sum

from api.events import EventType, emit
from core.money import ZERO, format_money, round_money
from payments.models import CreditNote, Invoice, LedgerEntry, Payment, ledger_sum

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
        balances[row["invoice_id"]][row["component"]] += ledger_sum(row["total"])
    return balances


def allocation_order(creditor) -> tuple[str, ...]:
    """The creditor's order of components, BGB §367 unless it chose another."""
    configured = tuple((creditor.allocation_order or "").split(","))
    if sorted(configured) != sorted(ALLOCATION_ORDER):
        return ALLOCATION_ORDER
    return configured


def allocate(
    amount: Decimal,
    ordered_invoice_ids: list[int],
    balances: dict[int, dict[str, Decimal]],
    order: tuple[str, ...] = ALLOCATION_ORDER,
) -> tuple[list[Allocation], Decimal]:
    """Split a payment over claims in the given order, each by component `order`.

    Returns the allocations and what is left over (a customer credit). `balances`
    is updated in place so that callers can allocate several payments in a row.
    The allocations always add up to `amount` minus what is left.
    """
    left = amount
    allocations = []
    for invoice_id in ordered_invoice_ids:
        for component in order:
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


def _ledger_totals(invoice_ids) -> dict[int, Decimal]:
    """Each claim's balance: the sum of its ledger rows."""
    rows = (
        LedgerEntry.objects.filter(invoice_id__in=invoice_ids)
        .values_list("invoice_id")
        .annotate(total=Sum("amount"))
        .values_list("invoice_id", "total")
    )
    return {invoice_id: ledger_sum(total) for invoice_id, total in rows}


def _apply_to_invoices(invoice_ids, settled_on: date, actor: str) -> list[int]:
    """Recompute cached balances; close claims that reached zero.

    Returns the ids of the claims that were settled by this change.
    """
    totals = _ledger_totals(invoice_ids)
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
    creditor = customer.creditor
    candidates = list(
        Invoice.objects.select_for_update()
        .filter(
            customer=customer,
            currency=currency,
            status=Invoice.Status.OPEN,
            open_amount__gt=0,
        )
        .order_by("due_on", "issued_on", "id")
    )
    for candidate in candidates:
        # One creditor and one customer: no query per claim for them.
        candidate.creditor, candidate.customer = creditor, customer
    by_id = {candidate.id: candidate for candidate in candidates}
    ordered = [i for i in named if i in by_id] + [i for i in by_id if i not in named]

    # Interest up to the payment day is owed before the payment is allocated,
    # so that it is settled before the principal (BGB §367) and stops today.
    _book_charges(candidates, received_on, actor=actor)

    balances = component_balances(ordered)
    order = allocation_order(creditor)
    allocations, left = allocate(amount, ordered, balances, order)

    payment = Payment.objects.create(
        creditor=creditor,
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
    touched = {a.invoice_id for a in allocations}
    if creditor.waive_charges_after_principal:
        _waive_after_principal(
            touched, balances, received_on, actor=actor, trigger=f"payment {payment.pk}"
        )
    _apply_to_invoices(touched, received_on, actor)
    _emit_payment(payment, allocations, by_id)  # webhook event
    logger.info(
        "payment %s recorded: %d allocations, %s left as credit",
        payment.pk,
        len(allocations),
        left,
    )
    return payment


def _emit_payment(payment: Payment, allocations, invoices_by_id) -> None:
    """The "payment.received" webhook event: the payment and where it went."""
    shares: dict[int, Decimal] = {}
    for allocation in allocations:
        shares[allocation.invoice_id] = (
            shares.get(allocation.invoice_id, ZERO) + allocation.amount
        )
    emit(
        EventType.PAYMENT_RECEIVED,
        payment.creditor_id,
        {
            "payment": payment.pk,
            "external_id": payment.external_id,
            "customer_external_id": payment.customer.external_id,
            "amount": str(payment.amount),
            "currency": payment.currency,
            "received_on": payment.received_on,
            "unallocated_amount": str(payment.unallocated_amount),
            "allocations": [
                {
                    "invoice": invoice_id,
                    "invoice_external_id": invoices_by_id[invoice_id].external_id,
                    "amount": str(round_money(amount, payment.currency)),
                }
                for invoice_id, amount in shares.items()
            ],
        },
    )


def _book_charges(invoices, on: date, *, actor: str) -> list[LedgerEntry]:
    """Book interest accrued up to `on` on the claims; update their open amount."""
    from payments.charges import RateBook, interest_entries

    creditors = {invoice.creditor for invoice in invoices}
    if not any(
        c.consumer_interest_regime_id or c.business_interest_regime_id
        for c in creditors
    ):
        return []
    rows = interest_entries(invoices, on, actor=actor, book=RateBook())
    if rows:
        LedgerEntry.objects.bulk_create(rows)
        by_id = {invoice.id: invoice for invoice in invoices}
        for row in rows:
            invoice = by_id[row.invoice_id]
            Invoice.objects.filter(pk=invoice.pk).update(
                open_amount=F("open_amount") + row.amount
            )
            invoice.open_amount += row.amount
    return rows


def _waiver_rows(
    invoice_id: int,
    balances: dict[str, Decimal],
    components,
    on: date,
    *,
    actor: str,
    reason: str,
) -> list[LedgerEntry]:
    rows = []
    for component in components:
        owed = balances.get(component, ZERO)
        if owed <= 0:
            continue
        balances[component] = ZERO
        rows.append(
            LedgerEntry(
                invoice_id=invoice_id,
                kind=Kind.WAIVER,
                component=component,
                amount=-owed,
                booked_on=on,
                actor=actor,
                reason=reason[:300],
            )
        )
    return rows


def _waive_after_principal(invoice_ids, balances, on: date, *, actor: str, trigger):
    """Waive fees and interest on claims whose principal is settled.

    Applied when the creditor chose to waive what is left after the principal
    (`Creditor.waive_charges_after_principal`); `balances` are the components
    after the change that settled the principal.
    """
    rows = []
    for invoice_id in invoice_ids:
        if balances[invoice_id][Component.PRINCIPAL] > 0:
            continue
        rows += _waiver_rows(
            invoice_id,
            balances[invoice_id],
            (Component.COSTS, Component.INTEREST),
            on,
            actor=actor,
            reason=f"principal settled by {trigger}; remaining charges waived "
            "(creditor setting)",
        )
    LedgerEntry.objects.bulk_create(rows)
    return rows


WAIVABLE = {Kind.FEE: Component.COSTS, Kind.INTEREST: Component.INTEREST}


@transaction.atomic
def charges_waive(
    *,
    invoice: Invoice,
    actor: str,
    reason: str,
    kinds=(Kind.FEE, Kind.INTEREST),
    on: date | None = None,
) -> list[LedgerEntry]:
    """Waive a claim's open fees and/or interest: negative `waiver` rows.

    An explicit act with who and why; a claim left with nothing open is settled
    and its case closed like a paid one.
    """
    if not reason.strip():
        raise LedgerError("A waiver needs a reason.")
    unknown = set(kinds) - set(WAIVABLE)
    if unknown:
        raise LedgerError(f"Only fees and interest can be waived, not {unknown}.")
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    on = on or invoice.creditor.local_today()
    balances = component_balances([invoice.id])[invoice.id]
    rows = _waiver_rows(
        invoice.id,
        balances,
        [WAIVABLE[kind] for kind in kinds],
        on,
        actor=actor,
        reason=reason,
    )
    LedgerEntry.objects.bulk_create(rows)
    _apply_to_invoices([invoice.id], on, actor)
    logger.info("claim %s: %d charges waived", invoice.pk, len(rows))
    return rows


@transaction.atomic
def claim_write_off(
    *, invoice: Invoice, actor: str, reason: str, on: date | None = None
) -> list[LedgerEntry]:
    """Write off everything open on a claim, cancel its instalment plan and close
    its case as written off."""
    from dunning.models import Case
    from dunning.services import case_transition
    from payments.instalments import instalment_plans_end

    if not reason.strip():
        raise LedgerError("A write-off needs a reason.")
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != Invoice.Status.OPEN:
        raise LedgerError(f"Claim {invoice.number} is not open.")
    on = on or invoice.creditor.local_today()
    balances = component_balances([invoice.id])[invoice.id]
    rows = [
        LedgerEntry(
            invoice_id=invoice.id,
            kind=Kind.WRITE_OFF,
            component=component,
            amount=-owed,
            booked_on=on,
            actor=actor,
            reason=reason[:300],
        )
        for component, owed in balances.items()
        if owed > 0
    ]
    LedgerEntry.objects.bulk_create(rows)
    Invoice.objects.filter(pk=invoice.pk).update(
        open_amount=ZERO, status=Invoice.Status.WRITTEN_OFF, settled_on=on
    )
    instalment_plans_end(invoice_ids=[invoice.id], actor=actor)
    case = Case.objects.filter(invoice_id=invoice.id, state__in=Case.LIVE).first()
    if case is not None:
        case_transition(
            case_id=case.pk, transition="write_off", actor=actor, description=reason
        )
    return rows


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
    status: str = CreditNote.Status.POSTED,
) -> CreditNote:
    """Post a credit note against one claim; it reduces the principal only.

    Only a posted note counts: one recorded as a draft or cancelled (`status`) is
    kept for reference without a ledger row, and posting a draft later (the same
    external id) books it then. A note that clears the claim settles it like a
    payment: status credited, case closed.
    """
    _check_currency(currency, invoice)
    amount = round_money(amount, invoice.currency)
    if amount <= 0:
        raise LedgerError(f"Credit note {external_id}: the amount must be positive.")
    existing = (
        CreditNote.objects.select_for_update()
        .filter(creditor=invoice.creditor, external_id=external_id)
        .first()
    )
    if existing and (
        existing.status != CreditNote.Status.DRAFT or status == CreditNote.Status.DRAFT
    ):
        return existing
    if status != CreditNote.Status.POSTED:
        return CreditNote.objects.create(
            creditor=invoice.creditor,
            customer=invoice.customer,
            invoice=invoice,
            external_id=external_id,
            amount=amount,
            currency=invoice.currency,
            issued_on=issued_on,
            status=status,
            reason=reason,
        )
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    balances = component_balances([invoice.id])
    principal = balances[invoice.id][Component.PRINCIPAL]
    if amount > principal:
        raise LedgerError(
            f"Credit note {external_id} ({invoice.display(amount)}) exceeds the "
            f"open principal of claim {invoice.number} ({invoice.display(principal)})."
        )
    if existing:
        note = existing
        note.amount, note.issued_on = amount, issued_on
        note.status, note.reason = CreditNote.Status.POSTED, reason or note.reason
        note.save(update_fields=["amount", "issued_on", "status", "reason"])
    else:
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
    balances[invoice.id][Component.PRINCIPAL] -= amount
    if invoice.creditor.waive_charges_after_principal:
        _waive_after_principal(
            [invoice.id],
            balances,
            issued_on,
            actor=actor,
            trigger=f"credit note {external_id}",
        )
    settled = _apply_to_invoices([invoice.id], issued_on, actor)
    if settled:
        Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.CREDITED)
    return note


def _still_on_claims(payment: Payment) -> list[tuple[int, str, Decimal]]:
    """What of `payment` its claims still hold: (claim, component, amount), in
    the order it was allocated, parts already booked back left out."""
    held: dict[tuple[int, str], Decimal] = {}
    rows = payment.entries.filter(kind__in=[Kind.PAYMENT, Kind.REVERSAL]).order_by("id")
    for entry in rows.only("invoice_id", "component", "amount"):
        key = (entry.invoice_id, entry.component)
        held[key] = held.get(key, ZERO) - entry.amount
    return [(claim, part, amount) for (claim, part), amount in held.items() if amount]


def _book_back(payment: Payment, parts, *, on: date, actor: str, why: str) -> list[int]:
    """Reversal rows for `parts` of the payment, then the claims' balances; a
    claim the payment had settled opens again, its case back into dunning or
    into the instalment plan the settlement had completed. Returns the claims."""
    from dunning.models import Case
    from dunning.services import case_transition
    from payments.instalments import instalment_plans_resume

    invoice_ids = sorted({claim for claim, _part, _amount in parts})
    invoices = list(
        Invoice.objects.select_for_update().filter(pk__in=invoice_ids).order_by("id")
    )
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            invoice_id=claim,
            kind=Kind.REVERSAL,
            component=part,
            amount=amount,
            booked_on=on,
            payment=payment,
            actor=actor,
            reason=why[:300],
        )
        for claim, part, amount in parts
    )
    totals = _ledger_totals(invoice_ids)
    was_settled_on = {}
    for invoice in invoices:
        invoice.open_amount = totals.get(invoice.id, ZERO)
        if invoice.status == Invoice.Status.PAID and invoice.open_amount > 0:
            was_settled_on[invoice.id] = invoice.settled_on
            invoice.status, invoice.settled_on = Invoice.Status.OPEN, None
    Invoice.objects.bulk_update(invoices, ["open_amount", "status", "settled_on"])
    in_plan = instalment_plans_resume(settled_on=was_settled_on, why=why)
    for case in Case.objects.filter(
        invoice_id__in=sorted(was_settled_on), state=Case.State.CLOSED_PAID
    ).order_by("id"):
        case_transition(
            case_id=case.pk, transition="reopen", actor=actor, description=why[:300]
        )
        if case.invoice_id in in_plan:
            # The plan the payment had completed runs again: the case waits in
            # it, and a missed instalment sends it back to dunning.
            case_transition(
                case_id=case.pk,
                transition="agree_instalments",
                actor=actor,
                description=f"instalment plan active again, {why}"[:300],
            )
    logger.info(
        "payment %s booked back by %s: %d claims, %d reopened",
        payment.pk,
        actor,
        len(invoice_ids),
        len(was_settled_on),
    )
    return invoice_ids


@transaction.atomic
def payment_reverse(
    *, payment: Payment, reversed_on: date, actor: str, reason: str
) -> list[int]:
    """Book back a payment that failed after it was recorded (a returned direct
    debit, a charge-back); returns the ids of the claims it reached.

    What the payment still pays on each claim gets its opposite `reversal` row,
    so fees, interest and principal are owed again as before (a part refunded
    earlier was booked back then). A claim the payment had settled opens again
    and its case goes back to dunning (the state log says why), or back into its
    instalment plan when the settlement had completed one. Reversing a payment
    twice changes nothing.
    """
    if not reason.strip():
        raise LedgerError("A reversal needs a reason.")
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.reversed_on is not None:
        return []
    parts = _still_on_claims(payment)
    payment.reversed_on, payment.reversal_reason = reversed_on, reason[:300]
    payment.unallocated_amount = ZERO
    payment.save(update_fields=["reversed_on", "reversal_reason", "unallocated_amount"])
    return _book_back(
        payment,
        parts,
        on=reversed_on,
        actor=actor,
        why=f"payment {payment.pk} reversed: {reason}",
    )


@transaction.atomic
def payment_refund(
    *, payment: Payment, amount: Decimal, refunded_on: date, actor: str, reason: str
) -> list[int]:
    """Give part of a payment back to the payer (a partial card refund); returns
    the claims that are owed more again.

    The refund comes first out of the payment's customer credit, then out of
    what it paid, last allocated first: under BGB §367 the principal it paid
    is owed again before its interest and fees. A refund of all that is left
    of the payment reverses it (`reversed_on`). More than is left is refused.
    """
    if not reason.strip():
        raise LedgerError("A refund needs a reason.")
    if amount <= 0:
        raise LedgerError(f"A refund must be positive, not {amount}.")
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    currency = payment.currency
    if amount != round_money(amount, currency):
        raise LedgerError(f"{amount} has more decimals than {currency} allows.")
    left = ZERO if payment.reversed_on else payment.amount - payment.refunded_amount
    if amount > left:
        raise LedgerError(
            f"Payment {payment.pk} has {format_money(left, currency)} left to "
            f"refund, not {format_money(amount, currency)}."
        )
    from_credit = min(amount, payment.unallocated_amount)
    rest, parts = amount - from_credit, []
    for claim, part, held in reversed(_still_on_claims(payment)):
        if rest <= 0:
            break
        take = min(rest, held)
        parts.append((claim, part, take))
        rest -= take
    if rest > 0:
        raise LedgerError(
            f"Payment {payment.pk}: its ledger rows hold "
            f"{format_money(amount - rest, currency)} of the "
            f"{format_money(amount, currency)} to refund."
        )
    payment.unallocated_amount -= from_credit
    payment.refunded_amount += amount
    fields = ["unallocated_amount", "refunded_amount"]
    if payment.refunded_amount == payment.amount:
        payment.reversed_on, payment.reversal_reason = refunded_on, reason[:300]
        fields += ["reversed_on", "reversal_reason"]
    payment.save(update_fields=fields)
    return _book_back(
        payment,
        parts,
        on=refunded_on,
        actor=actor,
        why=f"payment {payment.pk}: {format_money(amount, currency)} refunded: "
        f"{reason}",
    )
