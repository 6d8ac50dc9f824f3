"""Bulk, atomic writing of parsed rows, with the ledger `payments.services` keeps.

Per-row services would take minutes for the Taiwan file (30,000 holders, about
156,000 claims and 120,000 payments), so this module books the same rows those
services book, in memory first and then with `bulk_create`:

- a claim gets one principal ledger row at its amount, booked on its issue date;
- a payment is allocated with `payments.services.allocate`: the named claim
  first, then the customer's open claims in its currency oldest due date first,
  each by costs, interest, principal; what is left stays on the payment as
  `unallocated_amount` (the customer's credit, never a negative claim) and
  pays claims of the same customer and currency that this import books later,
  on their issue date (a holder who pays ahead of the statement);
- a credit note reduces the principal of its one claim and may not exceed it;
- `Invoice.open_amount` is the sum of the claim's ledger rows; a claim that
  reaches zero is "paid" (or "credited" when a credit note closed it) with
  `settled_on` the date of that last payment or credit note.

Events are replayed per customer in date order (claims, then credit notes, then
payments of a day), so a historical payment only reaches claims that already
existed on its date. Existing claims of the creditor take part with their ledger
balances from the database; claims that this import settles have their cases
closed through `dunning.services.cases_close_settled`.

Everything is checked before the first row is written; any error raises
`ImportRejected` and the transaction leaves nothing behind. Records are keyed by
external id: a re-import of the same file creates nothing.
"""

import logging
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import JSONField, Sum
from django.utils import timezone

from core.money import ZERO, plain_money
from customers.importers.base import (
    CreditNoteRow,
    CreditorDefaults,
    CustomerRow,
    ImportData,
    ImportRejected,
    InvoiceRow,
    PaymentRow,
)
from customers.models import Creditor, Customer
from payments.models import CreditNote, Invoice, LedgerEntry, Payment
from payments.services import ALLOCATION_ORDER, allocate

logger = logging.getLogger(__name__)

Kind = LedgerEntry.Kind
Component = LedgerEntry.Component
Status = Invoice.Status

# Rows per executemany call: bounds the memory of one call, not the speed.
INSERT_CHUNK = 10_000


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportSummary:
    creditor: str
    creditor_created: bool = False
    customers: Counts = field(default_factory=Counts)
    invoices: Counts = field(default_factory=Counts)
    payments: Counts = field(default_factory=Counts)
    credit_notes: Counts = field(default_factory=Counts)
    ledger_entries_created: int = 0
    # Claims of the file that are open after the import.
    open_claims: int = 0
    # Claims imported earlier that this import settled.
    earlier_claims_settled: int = 0
    seconds: float = 0.0

    def as_json(self) -> dict:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 2)
        return data

    @property
    def created_total(self) -> int:
        return (
            self.customers.created
            + self.invoices.created
            + self.payments.created
            + self.credit_notes.created
        )


@dataclass(eq=False)
class _Claim:
    """A claim as the replay sees it: new from the file or existing in the database."""

    key: str
    customer_key: str
    currency: str
    issued_on: date
    due_on: date
    balances: dict[str, Decimal]
    status: str
    settled_on: date | None = None
    db_id: int | None = None
    row: InvoiceRow | None = None
    order: int = 0
    touched: bool = False

    @property
    def open_amount(self) -> Decimal:
        return sum(self.balances.values(), ZERO)

    @property
    def is_open(self) -> bool:
        return self.status == Status.OPEN and self.open_amount > 0


@dataclass
class _Booking:
    """A payment or credit note and the ledger rows it produces."""

    row: PaymentRow | CreditNoteRow
    # (claim, component, amount, booked on) per ledger row.
    allocations: list[tuple[_Claim, str, Decimal, date]] = field(default_factory=list)
    unallocated: Decimal = ZERO
    named: _Claim | None = None


@dataclass(eq=False)
class _Credit:
    """What a payment left unallocated; it pays claims issued later."""

    currency: str
    left: Decimal
    # A payment of this import, or the id of one booked earlier.
    booking: _Booking | None = None
    payment_id: int | None = None
    allocations: list[tuple[_Claim, str, Decimal, date]] = field(default_factory=list)


def import_portfolio(
    *, data: ImportData, creditor: CreditorDefaults, actor: str
) -> ImportSummary:
    """Upsert the parsed rows for the named creditor (created if missing)."""
    started = time.monotonic()
    with transaction.atomic():
        summary = _Writer(data=data, creditor_defaults=creditor, actor=actor).run()
    summary.seconds = time.monotonic() - started
    logger.info(
        "import for creditor %s: %d customers, %d claims, %d payments, "
        "%d credit notes created in %.1f s",
        summary.creditor,
        summary.customers.created,
        summary.invoices.created,
        summary.payments.created,
        summary.credit_notes.created,
        summary.seconds,
    )
    return summary


class _Writer:
    def __init__(self, *, data: ImportData, creditor_defaults, actor: str):
        self.data = data
        self.creditor_defaults = creditor_defaults
        self.actor = actor
        self.errors: list[str] = []

    def run(self) -> ImportSummary:
        self._check_duplicates()
        self._raise_if_errors()

        creditor, created = Creditor.objects.get_or_create(
            name=self.creditor_defaults.name,
            defaults={
                "country": self.creditor_defaults.country,
                "time_zone": self.creditor_defaults.time_zone,
                "default_currency": self.creditor_defaults.default_currency,
            },
        )
        self.creditor = creditor
        self.summary = ImportSummary(creditor=creditor.name, creditor_created=created)

        # Plan everything in memory; the database is only read until it is valid.
        self._load_customers()
        self._plan_customers()
        self._load_invoices()
        self._plan_invoices()
        self._plan_bookings()
        self._raise_if_errors()
        self._replay()
        self._raise_if_errors()

        self._write_customers()
        self._write_invoices()
        self._write_bookings()
        self._write_existing_claims()
        self.summary.open_claims = self._count_open_file_claims()
        return self.summary

    def _count_open_file_claims(self) -> int:
        count = sum(1 for claim in self.new_claims if claim.is_open)
        for key in self.earlier_file_keys:
            claim = self.claims.get(key)
            if claim is not None:
                count += claim.is_open
            else:
                count += self.existing_invoices[key][5] == Status.OPEN
        return count

    def _raise_if_errors(self) -> None:
        if self.errors:
            raise ImportRejected(self.errors)

    def _check_duplicates(self) -> None:
        for kind, rows in (
            ("customer", self.data.customers),
            ("invoice", self.data.invoices),
            ("payment", self.data.payments),
            ("credit note", self.data.credit_notes),
        ):
            seen: dict[str, str] = {}
            for row in rows:
                if row.external_id in seen:
                    self.errors.append(
                        f"{row.where}: {kind} {row.external_id!r} appears again "
                        f"(first at {seen[row.external_id]})"
                    )
                else:
                    seen[row.external_id] = row.where

    # --- customers -------------------------------------------------------------

    def _load_customers(self) -> None:
        # All of the creditor's customers: one query, no IN list over 30,000 ids.
        self.existing_customers = {
            customer.external_id: customer
            for customer in Customer.objects.filter(creditor=self.creditor)
        }
        self.customer_key_by_id = {
            customer.pk: key for key, customer in self.existing_customers.items()
        }

    def _plan_customers(self) -> None:
        self.new_customers: list[CustomerRow] = []
        self.changed_customers: list[Customer] = []
        self.changed_customer_fields: set[str] = set()
        for row in self.data.customers:
            existing = self.existing_customers.get(row.external_id)
            if existing is None:
                self.new_customers.append(row)
                continue
            changed = [
                name
                for name, value in row.values().items()
                if getattr(existing, name) != value
            ]
            if not changed:
                self.summary.customers.unchanged += 1
                continue
            for name in changed:
                setattr(existing, name, getattr(row, name))
            self.changed_customers.append(existing)
            self.changed_customer_fields.update(changed)
        self.known_customers = {row.external_id for row in self.data.customers} | set(
            self.existing_customers
        )

    # --- claims ----------------------------------------------------------------

    def _load_invoices(self) -> None:
        self.existing_invoices = {
            row[0]: row
            for row in Invoice.objects.filter(creditor=self.creditor).values_list(
                "external_id",
                "id",
                "customer_id",
                "currency",
                "amount",
                "status",
                "number",
                "description",
                "source_facts",
            )
        }
        # Earlier claims whose descriptive fields the file changes; money and
        # dates of a booked claim are never changed by an import.
        self.changed_invoices: list[dict] = []

    def _plan_invoices(self) -> None:
        self.claims: dict[str, _Claim] = {}
        self.new_claims: list[_Claim] = []
        # Invoices of the file that an earlier import already booked.
        self.earlier_file_keys: list[str] = []
        for order, row in enumerate(self.data.invoices):
            if row.customer_external_id not in self.known_customers:
                self.errors.append(
                    f"{row.where}: customer {row.customer_external_id!r} is unknown"
                )
                continue
            existing = self.existing_invoices.get(row.external_id)
            if existing is not None:
                self._compare_existing_invoice(row, existing)
                continue
            claim = _Claim(
                key=row.external_id,
                customer_key=row.customer_external_id,
                currency=row.currency,
                issued_on=row.issued_on,
                due_on=row.due_on,
                balances={
                    **dict.fromkeys(ALLOCATION_ORDER, ZERO),
                    Component.PRINCIPAL: row.amount,
                },
                status=Status.OPEN,
                row=row,
                order=order,
            )
            self.claims[claim.key] = claim
            self.new_claims.append(claim)
        self.summary.invoices.created = len(self.new_claims)

    def _compare_existing_invoice(self, row: InvoiceRow, existing) -> None:
        _, invoice_id, customer_id, currency, stored_amount = existing[:5]
        number, description, source_facts = existing[6:]
        customer_key = self.customer_key_by_id.get(customer_id)
        if customer_key != row.customer_external_id:
            self.errors.append(
                f"{row.where}: invoice {row.external_id!r} was imported before "
                f"for customer {customer_key!r}"
            )
        elif currency != row.currency or stored_amount != row.amount:
            self.errors.append(
                f"{row.where}: invoice {row.external_id!r} was imported before "
                f"as {plain_money(stored_amount, currency)}, now "
                f"{row.amount} {row.currency}; correct a booked claim with a "
                "credit note"
            )
        else:
            self.earlier_file_keys.append(row.external_id)
            described = (row.number, row.description, row.source_facts)
            if described == (number, description, source_facts):
                self.summary.invoices.unchanged += 1
                return
            self.changed_invoices.append(
                {
                    "id": invoice_id,
                    "number": row.number,
                    "description": row.description,
                    "source_facts": row.source_facts,
                }
            )
            self.summary.invoices.updated += 1

    def _existing_claim(self, key: str) -> _Claim | None:
        """A claim imported earlier, with its ledger balances if it is open."""
        if key in self.claims:
            return self.claims[key]
        existing = self.existing_invoices.get(key)
        if existing is None:
            return None
        self._load_existing_open_claims()
        return self.claims.get(key)

    def _load_existing_open_claims(self) -> None:
        """Bring the creditor's earlier claims into the replay, once."""
        if getattr(self, "_existing_loaded", False):
            return
        self._existing_loaded = True
        balances: dict[int, dict[str, Decimal]] = defaultdict(
            lambda: dict.fromkeys(ALLOCATION_ORDER, ZERO)
        )
        rows = (
            LedgerEntry.objects.filter(
                invoice__creditor=self.creditor,
                invoice__status=Status.OPEN,
                invoice__open_amount__gt=0,
            )
            .values("invoice_id", "component")
            .annotate(total=Sum("amount"))
        )
        for row in rows:
            balances[row["invoice_id"]][row["component"]] += row["total"]
        invoices = Invoice.objects.filter(creditor=self.creditor).values_list(
            "id", "external_id", "customer_id", "currency", "issued_on", "due_on"
        )
        for invoice_id, key, customer_id, currency, issued_on, due_on in invoices:
            if key in self.claims:
                continue
            is_open = invoice_id in balances
            self.claims[key] = _Claim(
                key=key,
                customer_key=self.customer_key_by_id.get(customer_id, ""),
                currency=currency,
                issued_on=issued_on,
                due_on=due_on,
                # A settled claim has nothing open to pay or credit.
                balances=balances[invoice_id]
                if is_open
                else dict.fromkeys(ALLOCATION_ORDER, ZERO),
                status=Status.OPEN if is_open else self.existing_invoices[key][5],
                db_id=invoice_id,
                order=-1,
            )

    # --- payments and credit notes ---------------------------------------------

    def _plan_bookings(self) -> None:
        existing_payments = {
            row[0]: row[1:]
            for row in Payment.objects.filter(
                creditor=self.creditor, external_id__isnull=False
            ).values_list("external_id", "customer_id", "amount", "currency")
        }
        existing_notes = {
            row[0]: row[1:]
            for row in CreditNote.objects.filter(creditor=self.creditor).values_list(
                "external_id", "customer_id", "amount", "currency"
            )
        }
        self.new_payments: list[_Booking] = []
        self.new_notes: list[_Booking] = []
        for kind, rows, existing, target, counts in (
            (
                "payment",
                self.data.payments,
                existing_payments,
                self.new_payments,
                self.summary.payments,
            ),
            (
                "credit note",
                self.data.credit_notes,
                existing_notes,
                self.new_notes,
                self.summary.credit_notes,
            ),
        ):
            for row in rows:
                if row.customer_external_id not in self.known_customers:
                    self.errors.append(
                        f"{row.where}: customer {row.customer_external_id!r} is unknown"
                    )
                    continue
                before = existing.get(row.external_id)
                if before is not None:
                    customer_id, stored_amount, currency = before
                    same = (
                        self.customer_key_by_id.get(customer_id)
                        == row.customer_external_id
                        and stored_amount == row.amount
                        and currency == row.currency
                    )
                    if same:
                        counts.unchanged += 1
                    else:
                        self.errors.append(
                            f"{row.where}: {kind} {row.external_id!r} was imported "
                            f"before as {plain_money(stored_amount, currency)}"
                            " for another customer or amount"
                        )
                    continue
                booking = _Booking(row=row)
                if row.invoice_external_id:
                    booking.named = self._existing_claim(row.invoice_external_id)
                    self._check_named(kind, booking)
                elif kind == "credit note":
                    self.errors.append(f"{row.where}: a credit note needs an invoice")
                target.append(booking)
        self.summary.payments.created = len(self.new_payments)
        self.summary.credit_notes.created = len(self.new_notes)

    def _check_named(self, kind: str, booking: _Booking) -> None:
        row = booking.row
        claim = booking.named
        if claim is None:
            self.errors.append(
                f"{row.where}: invoice {row.invoice_external_id!r} is unknown"
            )
        elif claim.customer_key != row.customer_external_id:
            self.errors.append(
                f"{row.where}: invoice {row.invoice_external_id!r} belongs to "
                f"customer {claim.customer_key!r}, not {row.customer_external_id!r}"
            )
        elif claim.currency != row.currency:
            self.errors.append(
                f"{row.where}: {kind} in {row.currency} cannot be booked on invoice "
                f"{row.invoice_external_id!r} in {claim.currency}"
            )
        elif kind == "credit note" and row.issued_on < claim.issued_on:
            self.errors.append(
                f"{row.where}: credit note dated {row.issued_on} is before its "
                f"invoice ({claim.issued_on})"
            )

    def _replay(self) -> None:
        """Book every new payment and credit note on the claims, in date order."""
        credits: dict[str, list[_Credit]] = defaultdict(list)
        self.earlier_credits: list[_Credit] = []
        if self.new_claims:
            earlier_payments = (
                Payment.objects.filter(creditor=self.creditor, unallocated_amount__gt=0)
                .order_by("received_on", "id")
                .values_list("id", "customer_id", "currency", "unallocated_amount")
            )
            for payment_id, customer_id, currency, left in earlier_payments:
                credit = _Credit(currency=currency, left=left, payment_id=payment_id)
                credits[self.customer_key_by_id.get(customer_id)].append(credit)
                self.earlier_credits.append(credit)
        if not (self.new_payments or self.new_notes or self.earlier_credits):
            return
        if self.existing_invoices:
            self._load_existing_open_claims()

        events: dict[str, list[tuple]] = defaultdict(list)
        for claim in self.new_claims:
            events[claim.customer_key].append(
                (claim.issued_on, 0, claim.order, "claim", claim)
            )
        for seq, booking in enumerate(self.new_notes):
            row = booking.row
            events[row.customer_external_id].append(
                (row.issued_on, 1, seq, "credit", booking)
            )
        for seq, booking in enumerate(self.new_payments):
            row = booking.row
            events[row.customer_external_id].append(
                (row.received_on, 2, seq, "payment", booking)
            )

        earlier: dict[str, list[_Claim]] = defaultdict(list)
        for claim in self.claims.values():
            if claim.db_id is not None and claim.is_open:
                earlier[claim.customer_key].append(claim)

        for customer_key, customer_events in events.items():
            customer_events.sort(key=lambda event: event[:3])
            issued = list(earlier.get(customer_key, ()))
            for event in customer_events:
                what, item = event[3], event[4]
                if what == "claim":
                    issued.append(item)
                    for credit in credits.get(customer_key, ()):
                        if credit.left > 0 and credit.currency == item.currency:
                            self._apply_credit(credit, item)
                elif what == "credit":
                    self._book_credit_note(item)
                else:
                    issued = [claim for claim in issued if claim.is_open]
                    self._book_payment(item, issued)
                    if item.unallocated > 0:
                        credits[customer_key].append(
                            _Credit(
                                currency=item.row.currency,
                                left=item.unallocated,
                                booking=item,
                            )
                        )

    def _apply_credit(self, credit: _Credit, claim: _Claim) -> None:
        """An overpayment pays the next claim on the day it is issued.

        Card holders pay ahead of their statement; without this their payment
        would sit as a credit while the charges it paid stayed open.
        """
        if not claim.is_open:
            return
        allocations, credit.left = allocate(
            credit.left, [claim.key], {claim.key: claim.balances}
        )
        target = credit.booking.allocations if credit.booking else credit.allocations
        for allocation in allocations:
            target.append(
                (claim, allocation.component, allocation.amount, claim.issued_on)
            )
        if credit.booking is not None:
            credit.booking.unallocated = credit.left
        claim.touched = True
        if claim.open_amount == 0:
            claim.status = Status.PAID
            claim.settled_on = claim.issued_on

    def _book_credit_note(self, booking: _Booking) -> None:
        row: CreditNoteRow = booking.row
        claim = booking.named
        principal = claim.balances[Component.PRINCIPAL]
        if row.amount > principal:
            self.errors.append(
                f"{row.where}: credit note {row.external_id!r} ({row.amount}) "
                "exceeds the open principal of invoice "
                f"{claim.key!r} ({plain_money(principal, claim.currency)})"
            )
            return
        claim.balances[Component.PRINCIPAL] = principal - row.amount
        claim.touched = True
        booking.allocations.append(
            (claim, Component.PRINCIPAL, row.amount, row.issued_on)
        )
        if claim.open_amount == 0 and claim.status == Status.OPEN:
            claim.status = Status.CREDITED
            claim.settled_on = row.issued_on

    def _book_payment(self, booking: _Booking, issued: list[_Claim]) -> None:
        row: PaymentRow = booking.row
        candidates = sorted(
            (claim for claim in issued if claim.currency == row.currency),
            key=lambda claim: (
                claim.due_on,
                claim.issued_on,
                claim.db_id or 0,
                claim.order,
            ),
        )
        named = booking.named
        if named is not None and named in candidates:
            candidates.remove(named)
            candidates.insert(0, named)
        by_key = {claim.key: claim for claim in candidates}
        allocations, left = allocate(
            row.amount,
            list(by_key),
            {key: claim.balances for key, claim in by_key.items()},
        )
        booking.unallocated = left
        for allocation in allocations:
            claim = by_key[allocation.invoice_id]
            claim.touched = True
            booking.allocations.append(
                (claim, allocation.component, allocation.amount, row.received_on)
            )
            if claim.open_amount == 0 and claim.status == Status.OPEN:
                claim.status = Status.PAID
                claim.settled_on = row.received_on

    # --- writing ---------------------------------------------------------------

    def _write_customers(self) -> None:
        creditor = self.creditor
        self.summary.customers.created = _insert(
            Customer,
            [
                {
                    "creditor_id": creditor.pk,
                    "external_id": row.external_id,
                    **row.values(),
                }
                for row in self.new_customers
            ],
        )
        if self.changed_customers:
            names = sorted(self.changed_customer_fields)
            _update(
                Customer,
                [
                    {"id": customer.pk}
                    | {name: getattr(customer, name) for name in names}
                    for customer in self.changed_customers
                ],
            )
            self.summary.customers.updated = len(self.changed_customers)
        self.customer_ids = dict(
            Customer.objects.filter(creditor=creditor).values_list("external_id", "id")
        )

    def _write_invoices(self) -> None:
        creditor = self.creditor
        if self.changed_invoices:
            _update(Invoice, self.changed_invoices)
        if not self.new_claims:
            return
        _insert(
            Invoice,
            [
                {
                    "creditor_id": creditor.pk,
                    "customer_id": self.customer_ids[claim.customer_key],
                    "external_id": claim.key,
                    "number": claim.row.number,
                    "currency": claim.currency,
                    "amount": claim.row.amount,
                    "issued_on": claim.issued_on,
                    "due_on": claim.due_on,
                    "description": claim.row.description,
                    "source_facts": claim.row.source_facts,
                    "status": claim.status,
                    "open_amount": claim.open_amount,
                    "settled_on": claim.settled_on,
                }
                for claim in self.new_claims
            ],
        )
        ids = dict(
            Invoice.objects.filter(creditor=creditor).values_list("external_id", "id")
        )
        for claim in self.new_claims:
            claim.db_id = ids[claim.key]
        self.summary.ledger_entries_created += _insert(
            LedgerEntry,
            [
                {
                    "invoice_id": claim.db_id,
                    "kind": Kind.PRINCIPAL,
                    "component": Component.PRINCIPAL,
                    "amount": claim.row.amount,
                    "booked_on": claim.issued_on,
                    "actor": self.actor,
                    "reason": "invoice booked",
                }
                for claim in self.new_claims
            ],
        )

    def _write_bookings(self) -> None:
        creditor = self.creditor
        entries = []
        if self.new_payments:
            _insert(
                Payment,
                [
                    {
                        "creditor_id": creditor.pk,
                        "customer_id": self.customer_ids[
                            booking.row.customer_external_id
                        ],
                        "external_id": booking.row.external_id,
                        "amount": booking.row.amount,
                        "currency": booking.row.currency,
                        "received_on": booking.row.received_on,
                        "method": booking.row.method,
                        "source": "import",
                        "reference": booking.row.reference,
                        "invoice_id": booking.named.db_id if booking.named else None,
                        "unallocated_amount": booking.unallocated,
                    }
                    for booking in self.new_payments
                ],
            )
            ids = dict(
                Payment.objects.filter(
                    creditor=creditor, external_id__isnull=False
                ).values_list("external_id", "id")
            )
            for booking in self.new_payments:
                payment_id = ids[booking.row.external_id]
                entries.extend(
                    {
                        "invoice_id": claim.db_id,
                        "kind": Kind.PAYMENT,
                        "component": component,
                        "amount": -share,
                        "booked_on": booked_on,
                        "payment_id": payment_id,
                        "actor": self.actor,
                        "reason": f"payment {payment_id}",
                    }
                    for claim, component, share, booked_on in booking.allocations
                )
        if self.new_notes:
            _insert(
                CreditNote,
                [
                    {
                        "creditor_id": creditor.pk,
                        "customer_id": self.customer_ids[
                            booking.row.customer_external_id
                        ],
                        "invoice_id": booking.named.db_id,
                        "external_id": booking.row.external_id,
                        "amount": booking.row.amount,
                        "currency": booking.named.currency,
                        "issued_on": booking.row.issued_on,
                        "status": CreditNote.Status.POSTED,
                        "reason": booking.row.reason,
                    }
                    for booking in self.new_notes
                ],
            )
            ids = dict(
                CreditNote.objects.filter(creditor=creditor).values_list(
                    "external_id", "id"
                )
            )
            for booking in self.new_notes:
                entries.extend(
                    {
                        "invoice_id": claim.db_id,
                        "kind": Kind.CREDIT,
                        "component": component,
                        "amount": -share,
                        "booked_on": booked_on,
                        "credit_note_id": ids[booking.row.external_id],
                        "actor": self.actor,
                        "reason": booking.row.reason
                        or f"credit note {booking.row.external_id}",
                    }
                    for claim, component, share, booked_on in booking.allocations
                )
        used = [credit for credit in self.earlier_credits if credit.allocations]
        for credit in used:
            entries.extend(
                {
                    "invoice_id": claim.db_id,
                    "kind": Kind.PAYMENT,
                    "component": component,
                    "amount": -share,
                    "booked_on": booked_on,
                    "payment_id": credit.payment_id,
                    "actor": self.actor,
                    "reason": f"payment {credit.payment_id}",
                }
                for claim, component, share, booked_on in credit.allocations
            )
        if used:
            _update(
                Payment,
                [{"id": c.payment_id, "unallocated_amount": c.left} for c in used],
            )
        self.summary.ledger_entries_created += _insert(LedgerEntry, entries)

    def _write_existing_claims(self) -> None:
        """Update the cached balance of earlier claims that new bookings reached."""
        touched = [
            claim
            for claim in self.claims.values()
            if claim.touched and claim.row is None
        ]
        if not touched:
            return
        _update(
            Invoice,
            [
                {
                    "id": claim.db_id,
                    "open_amount": claim.open_amount,
                    "status": claim.status,
                    "settled_on": claim.settled_on,
                }
                for claim in touched
            ],
        )
        settled = [claim.db_id for claim in touched if claim.status != Status.OPEN]
        self.summary.earlier_claims_settled = len(settled)
        if settled:
            from dunning.services import cases_close_settled

            cases_close_settled(invoice_ids=settled, actor=self.actor)


def _insert(model, rows: list[dict]) -> int:
    """INSERT plain rows with executemany; returns how many were inserted.

    `bulk_create` spends most of the Taiwan import building model instances and
    preparing values one by one. Here each row is a dict of attnames; columns it
    leaves out get the field's default (auto_now fields: now), so a field added
    to a model later needs no change here. Values are passed to the driver as
    they are (Decimal, date, str, bool: both SQLite, through Django's adapters,
    and psycopg accept them); JSON and datetimes are adapted by the backend.
    """
    if not rows:
        return 0
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    fields = [c for c in model._meta.concrete_fields if not c.primary_key]
    unknown = set().union(*rows) - {column.attname for column in fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no column(s) {sorted(unknown)}")

    # Per column: its attname, the value for rows that leave it out, and
    # whether the value needs the backend's JSON adaptation.
    plan = []
    for column in fields:
        if getattr(column, "auto_now", False) or getattr(column, "auto_now_add", False):
            default = now
        else:
            default = column.get_db_prep_save(column.get_default(), connection)
        plan.append((column.attname, default, isinstance(column, JSONField)))
    json_encoders = {
        column.attname: column.encoder
        for column in fields
        if isinstance(column, JSONField)
    }

    params = []
    for row in rows:
        values = []
        for attname, default, is_json in plan:
            if attname not in row:
                values.append(default)
            elif is_json:
                values.append(
                    ops.adapt_json_value(row[attname], json_encoders[attname])
                )
            else:
                values.append(row[attname])
        params.append(values)

    quote = ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(column.column) for column in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY is an order of magnitude faster than row-wise INSERTs over
            # the network; psycopg dumps Decimal, date, bool and Jsonb itself.
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for values in params:
                    copy.write_row(values)
        else:
            sql = "INSERT INTO {} ({}) VALUES ({})".format(
                table, names, ", ".join(["%s"] * len(fields))
            )
            for start in range(0, len(params), INSERT_CHUNK):
                cursor.executemany(sql, params[start : start + INSERT_CHUNK])
    return len(rows)


def _update(model, rows: list[dict]) -> None:
    """UPDATE rows by id with executemany; every row names the same columns.

    `bulk_update` builds one CASE expression per column and batch, which takes
    minutes for tens of thousands of claims. auto_now fields are set to now.
    """
    if not rows:
        return
    ops = connection.ops
    meta = model._meta
    names = [name for name in rows[0] if name != "id"]
    columns = [meta.get_field(name) for name in names]
    stamped = [
        column
        for column in meta.concrete_fields
        if getattr(column, "auto_now", False) and column.attname not in names
    ]
    now = ops.adapt_datetimefield_value(timezone.now())
    quote = ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        quote(meta.db_table),
        ", ".join(f"{quote(column.column)} = %s" for column in columns + stamped),
        quote(meta.pk.column),
    )
    params = []
    for row in rows:
        values = [
            column.get_db_prep_save(row[column.name], connection)
            if isinstance(column, JSONField)
            else row[column.name]
            for column in columns
        ]
        params.append([*values, *([now] * len(stamped)), row["id"]])
    with connection.cursor() as cursor:
        for start in range(0, len(params), INSERT_CHUNK):
            cursor.executemany(sql, params[start : start + INSERT_CHUNK])
