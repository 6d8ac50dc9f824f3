"""Bulk upserts by external id: customers, claims, credit notes, payments.

Each function takes the items of one batch that passed the field checks, as
(index, data) pairs, and the field errors of the others by index. It checks
the rest against the database (unknown references, booked records that would
change), and writes only when no item has an error: a batch is all or
nothing. Records are keyed by the creditor's external ids, so the same batch
sent again finds everything unchanged and writes nothing.

Customers and claims are written with bulk inserts (a claim's ledger is its
one principal row, the same row `payments.services.invoice_create` books);
payments and credit notes go through `payment_record` and `credit_note_post`,
which allocate, settle claims and close their cases.
"""

import json
import logging
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from core.calendar import subdivision_problem
from core.money import plain_money, round_money
from customers.importers.base import CustomerRow
from customers.models import Customer
from payments.models import CreditNote, Invoice, LedgerEntry, Payment
from payments.services import LedgerError, credit_note_post, payment_record

logger = logging.getLogger(__name__)


class BatchInvalid(ValueError):
    """Items of a batch are invalid; `errors` maps an index to field errors."""

    def __init__(self, errors: dict[int, dict]):
        self.errors = errors
        super().__init__(f"{len(errors)} invalid items")


@dataclass
class BatchResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    items: list[dict] = field(default_factory=list)

    def add(self, index: int, external_id: str, pk: int, result: str) -> None:
        setattr(self, result, getattr(self, result) + 1)
        self.items.append(
            {"index": index, "external_id": external_id, "id": pk, "result": result}
        )

    def as_json(self) -> dict:
        self.items.sort(key=lambda item: item["index"])
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "items": self.items,
        }


def _check_repeats(rows, errors: dict) -> None:
    first: dict[str, int] = {}
    for index, data in rows:
        key = data["external_id"]
        if key in first:
            errors[index] = {
                "external_id": [
                    f"{key!r} appears again in this batch (first at index "
                    f"{first[key]})."
                ]
            }
        else:
            first[key] = index


def _keys(rows, name: str):
    """The batch's external ids under `name`, for an `external_id__in` filter.

    On PostgreSQL one JSON parameter: a placeholder per key costs Django and
    psycopg more than the query costs the database.
    """
    keys = sorted({data[name] for _index, data in rows if data.get(name)})
    if connection.vendor != "postgresql":
        return keys
    return RawSQL("SELECT json_array_elements_text(%s::json)", [json.dumps(keys)])


def _refuse(errors: dict[int, dict]) -> None:
    if errors:
        raise BatchInvalid(errors)


# --- customers -----------------------------------------------------------------

# Changing an address clears the bounce recorded for the old one.
UNDELIVERABLE = {
    "email": "email_undeliverable_since",
    "phone": "phone_undeliverable_since",
}


COUNTRY = Customer._meta.get_field("country").default


def customers_upsert(*, creditor, rows, invalid: dict, actor: str) -> BatchResult:
    """Create or update customers; fields an item leaves out stay as they are."""
    errors = dict(invalid)
    _check_repeats(rows, errors)
    existing = {
        customer.external_id: customer
        for customer in Customer.objects.filter(
            creditor=creditor, external_id__in=_keys(rows, "external_id")
        )
    }

    now = timezone.now()
    planned, fields = [], {"updated_at"}
    for index, data in rows:
        if index in errors:
            continue
        values = {name: data[name] for name in CustomerRow.FIELDS if name in data}
        customer = existing.get(data["external_id"])
        country = values.get("country", customer.country if customer else COUNTRY)
        region = values.get("subdivision", customer.subdivision if customer else "")
        if problem := subdivision_problem(country, region):
            errors[index] = {"subdivision": [problem]}
            continue
        if customer is None:
            customer = Customer(
                creditor=creditor, external_id=data["external_id"], **values
            )
            planned.append((index, customer, "created"))
            continue
        changed = [n for n, value in values.items() if getattr(customer, n) != value]
        if not changed:
            planned.append((index, customer, "unchanged"))
            continue
        for name in changed:
            setattr(customer, name, values[name])
            if name in UNDELIVERABLE:
                setattr(customer, UNDELIVERABLE[name], None)
                fields.add(UNDELIVERABLE[name])
        customer.updated_at = now
        fields.update(changed)
        planned.append((index, customer, "updated"))
    _refuse(errors)

    with transaction.atomic():
        Customer.objects.bulk_create([c for _i, c, r in planned if r == "created"])
        updated = [c for _i, c, r in planned if r == "updated"]
        if updated:
            Customer.objects.bulk_update(updated, sorted(fields))
    result = BatchResult()
    for index, customer, outcome in planned:
        result.add(index, customer.external_id, customer.pk, outcome)
    logger.info(
        "customers upserted by %s: %d created, %d updated, %d unchanged",
        actor,
        result.created,
        result.updated,
        result.unchanged,
    )
    return result


# --- claims --------------------------------------------------------------------

# What a booked claim keeps for good: money and dates are corrected with a
# credit note, never by overwriting.
BOOKED = ("customer_external_id", "currency", "amount", "issued_on", "due_on")


def invoices_upsert(*, creditor, rows, invalid: dict, actor: str) -> BatchResult:
    """Book new claims; update number and description of booked ones."""
    errors = dict(invalid)
    _check_repeats(rows, errors)
    customer_ids = dict(
        Customer.objects.filter(
            creditor=creditor, external_id__in=_keys(rows, "customer_external_id")
        ).values_list("external_id", "id")
    )
    existing = {
        row["external_id"]: row
        for row in Invoice.objects.filter(
            creditor=creditor, external_id__in=_keys(rows, "external_id")
        )
        .order_by()
        .values(
            "id",
            "external_id",
            "customer__external_id",
            "currency",
            "amount",
            "issued_on",
            "due_on",
            "number",
            "description",
        )
    }

    new, changed, result = [], [], BatchResult()
    for index, data in rows:
        if index in errors:
            continue
        key = data["external_id"]
        customer_id = customer_ids.get(data["customer_external_id"])
        if customer_id is None:
            errors[index] = {
                "customer_external_id": [
                    f"Unknown customer {data['customer_external_id']!r}."
                ]
            }
            continue
        number = data.get("number") or key
        description = data.get("description", "")
        booked = existing.get(key)
        if booked is None:
            new.append((index, customer_id, data, number))
            continue
        booked["customer_external_id"] = booked["customer__external_id"]
        differing = [name for name in BOOKED if booked[name] != data[name]]
        if differing:
            currency = booked["currency"]
            errors[index] = {
                name: [
                    f"Booked as {_shown(name, booked[name], currency)}; a booked "
                    "claim keeps its customer, money and dates (correct it with a "
                    "credit note)."
                ]
                for name in differing
            }
        elif (booked["number"], booked["description"]) != (number, description):
            changed.append((index, booked["id"], key, number, description))
        else:
            result.add(index, key, booked["id"], "unchanged")
    _refuse(errors)

    with transaction.atomic():
        now = timezone.now()
        if connection.vendor == "postgresql":
            ids = _book_claims_set_based(creditor, new, actor, now)
        else:
            ids = _book_claims(creditor, new, actor)
        Invoice.objects.bulk_update(
            [
                Invoice(pk=pk, number=number, description=description, updated_at=now)
                for _i, pk, _key, number, description in changed
            ],
            ["number", "description", "updated_at"],
        )
    for (index, _customer_id, data, _number), pk in zip(new, ids, strict=True):
        result.add(index, data["external_id"], pk, "created")
    for index, pk, key, _number, _description in changed:
        result.add(index, key, pk, "updated")
    logger.info(
        "claims upserted by %s: %d created, %d updated, %d unchanged",
        actor,
        result.created,
        result.updated,
        result.unchanged,
    )
    return result


def _book_claims(creditor, new, actor: str) -> list[int]:
    """Book the new claims with their principal rows; their ids in order."""
    invoices = Invoice.objects.bulk_create(
        Invoice(
            creditor=creditor,
            customer_id=customer_id,
            external_id=data["external_id"],
            number=number,
            currency=data["currency"],
            amount=data["amount"],
            open_amount=data["amount"],
            issued_on=data["issued_on"],
            due_on=data["due_on"],
            description=data.get("description", ""),
        )
        for _index, customer_id, data, number in new
    )
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            invoice=invoice,
            kind=LedgerEntry.Kind.PRINCIPAL,
            component=LedgerEntry.Component.PRINCIPAL,
            amount=invoice.amount,
            booked_on=invoice.issued_on,
            actor=actor,
            reason="invoice booked",
        )
        for invoice in invoices
    )
    return [invoice.pk for invoice in invoices]


def _book_claims_set_based(creditor, new, actor: str, now) -> list[int]:
    """The same rows as `_book_claims` in one statement over one JSON document.

    Compiling a 1,000-row `bulk_create` costs several times what PostgreSQL
    needs to insert it, and so do model instances and psycopg's quoting of
    1,000-element arrays; a JSON text is encoded in C and PostgreSQL reads it
    with `json_to_recordset`. The principal rows are inserted from the claims
    the same statement writes.
    """
    if not new:
        return []
    document = json.dumps(
        [
            {
                "customer_id": customer_id,
                "external_id": data["external_id"],
                "number": number,
                "currency": data["currency"],
                "amount": str(data["amount"]),
                "issued_on": data["issued_on"].isoformat(),
                "due_on": data["due_on"].isoformat(),
                "description": data.get("description", ""),
            }
            for _index, customer_id, data, number in new
        ]
    )
    names = (
        "customer_id, external_id, number, currency, amount, issued_on, due_on, "
        "description"
    )
    # Fixed table and column names; every value is a parameter.
    sql = (
        f"WITH claims AS (INSERT INTO {Invoice._meta.db_table} (creditor_id, "  # noqa: S608
        f"{names}, open_amount, status, source_facts, document, created_at, "
        f"updated_at) SELECT %s, {names}, amount, %s, '{{}}'::jsonb, '', %s, %s "
        "FROM json_to_recordset(%s::json) AS t(customer_id bigint, external_id "
        "text, number text, currency text, amount numeric, issued_on date, "
        "due_on date, description text) RETURNING id, external_id, amount, issued_on), "
        f"principal AS (INSERT INTO {LedgerEntry._meta.db_table} (invoice_id, "
        "kind, component, amount, booked_on, actor, reason, created_at, details, "
        "key) SELECT id, %s, %s, amount, issued_on, %s, %s, %s, '{}'::jsonb, '' "
        "FROM claims) "
        "SELECT id, external_id FROM claims"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                creditor.pk,
                Invoice.Status.OPEN,
                now,
                now,
                document,
                LedgerEntry.Kind.PRINCIPAL,
                LedgerEntry.Component.PRINCIPAL,
                actor,
                "invoice booked",
                now,
            ],
        )
        by_key = {external_id: pk for pk, external_id in cursor.fetchall()}
    return [by_key[data["external_id"]] for _index, _c, data, _n in new]


# --- credit notes and payments -------------------------------------------------


def _claims(creditor, rows) -> dict[str, Invoice]:
    invoices = Invoice.objects.filter(
        creditor=creditor, external_id__in=_keys(rows, "invoice_external_id")
    ).select_related("customer")
    for invoice in invoices:
        invoice.creditor = creditor
    return {invoice.external_id: invoice for invoice in invoices}


def _evaluate_after_commit(invoice_ids) -> None:
    """Queue the real-time evaluation of the claims money reached."""
    from django_q.tasks import async_task

    invoice_ids = sorted(set(invoice_ids))
    if invoice_ids:
        transaction.on_commit(
            lambda: async_task("api.tasks.claims_evaluate", invoice_ids)
        )


def _shown(name: str, value, currency: str) -> str:
    """A booked value as an error text shows it: an amount in its currency's
    decimals, not the column's six."""
    if name == "amount":
        return plain_money(value, currency)
    return str(value)


def _differences(stored: dict, data: dict, currency: str) -> dict[str, list[str]]:
    return {
        name: [
            f"Recorded before as {_shown(name, value, currency)}; a booked record "
            "does not change."
        ]
        for name, value in stored.items()
        if data.get(name) != value
    }


def credit_notes_upsert(*, creditor, rows, invalid: dict, actor: str) -> BatchResult:
    """Post credit notes against claims; a draft sent again as posted is booked."""
    errors = dict(invalid)
    _check_repeats(rows, errors)
    claims = _claims(creditor, rows)
    existing = {
        note.external_id: note
        for note in CreditNote.objects.filter(
            creditor=creditor, external_id__in=_keys(rows, "external_id")
        ).select_related("invoice")
    }

    to_post, result = [], BatchResult()
    for index, data in rows:
        if index in errors:
            continue
        invoice = claims.get(data["invoice_external_id"])
        if invoice is None:
            errors[index] = {
                "invoice_external_id": [
                    f"Unknown claim {data['invoice_external_id']!r}."
                ]
            }
            continue
        if data.get("currency") and data["currency"] != invoice.currency:
            errors[index] = {
                "currency": [f"The claim is in {invoice.currency}, not in this."]
            }
            continue
        # A note sent without a currency takes the claim's: its decimals decide
        # here, as the serializer decides them for a note that names one.
        if data["amount"] != round_money(data["amount"], invoice.currency):
            errors[index] = {
                "amount": [f"Has more decimals than {invoice.currency} allows."]
            }
            continue
        note = existing.get(data["external_id"])
        if note is None or (
            note.status == CreditNote.Status.DRAFT
            and data["status"] == CreditNote.Status.POSTED
        ):
            to_post.append((index, invoice, data, note))
            continue
        stored = {
            "invoice_external_id": note.invoice.external_id,
            "amount": note.amount,
            "issued_on": note.issued_on,
            "status": note.status,
        }
        problems = _differences(stored, data, note.currency)
        if problems:
            errors[index] = problems
        else:
            result.add(index, note.external_id, note.pk, "unchanged")
    _refuse(errors)

    with transaction.atomic():
        for index, invoice, data, earlier in to_post:
            try:
                with transaction.atomic():
                    note = credit_note_post(
                        invoice=invoice,
                        external_id=data["external_id"],
                        amount=data["amount"],
                        currency=invoice.currency,
                        issued_on=data["issued_on"],
                        actor=actor,
                        reason=data.get("reason", ""),
                        status=data["status"],
                    )
            except LedgerError as exc:
                errors[index] = {"non_field_errors": [str(exc)]}
                continue
            outcome = "created" if earlier is None else "updated"
            result.add(index, note.external_id, note.pk, outcome)
        # Raised inside the transaction: the notes booked so far roll back.
        _refuse(errors)
        _evaluate_after_commit(invoice.pk for _i, invoice, _d, _e in to_post)
    return result


def payments_upsert(*, creditor, rows, invalid: dict, actor: str) -> BatchResult:
    """Record payments; each is allocated to the customer's claims as it comes."""
    errors = dict(invalid)
    _check_repeats(rows, errors)
    customers = {
        customer.external_id: customer
        for customer in Customer.objects.filter(
            creditor=creditor, external_id__in=_keys(rows, "customer_external_id")
        )
    }
    for customer in customers.values():
        customer.creditor = creditor
    claims = _claims(creditor, rows)
    existing = {
        payment["external_id"]: payment
        for payment in Payment.objects.filter(
            creditor=creditor, external_id__in=_keys(rows, "external_id")
        ).values(
            "id",
            "external_id",
            "customer__external_id",
            "amount",
            "currency",
            "received_on",
            "invoice__external_id",
        )
    }

    to_record, result = [], BatchResult()
    for index, data in rows:
        if index in errors:
            continue
        customer = customers.get(data["customer_external_id"])
        named = data.get("invoice_external_id") or ""
        invoice = claims.get(named) if named else None
        if customer is None:
            errors[index] = {
                "customer_external_id": [
                    f"Unknown customer {data['customer_external_id']!r}."
                ]
            }
            continue
        if named and (invoice is None or invoice.customer_id != customer.pk):
            errors[index] = {
                "invoice_external_id": [f"No claim {named!r} of this customer."]
            }
            continue
        recorded = existing.get(data["external_id"])
        if recorded is None:
            to_record.append((index, customer, invoice, data))
            continue
        stored = {
            "customer_external_id": recorded["customer__external_id"],
            "amount": recorded["amount"],
            "currency": recorded["currency"],
            "received_on": recorded["received_on"],
            "invoice_external_id": recorded["invoice__external_id"] or "",
        }
        problems = _differences(
            stored, {**data, "invoice_external_id": named}, recorded["currency"]
        )
        if problems:
            errors[index] = problems
        else:
            result.add(index, data["external_id"], recorded["id"], "unchanged")
    _refuse(errors)

    with transaction.atomic():
        recorded_ids = []
        for index, customer, invoice, data in to_record:
            try:
                with transaction.atomic():
                    payment = payment_record(
                        customer=customer,
                        amount=data["amount"],
                        currency=data["currency"],
                        received_on=data["received_on"],
                        actor=actor,
                        external_id=data["external_id"],
                        invoice=invoice,
                        method=data.get("method", ""),
                        source="api",
                        reference=data.get("reference", ""),
                    )
            except LedgerError as exc:
                errors[index] = {"non_field_errors": [str(exc)]}
                continue
            recorded_ids.append(payment.pk)
            result.add(index, payment.external_id, payment.pk, "created")
        _refuse(errors)
        _evaluate_after_commit(
            LedgerEntry.objects.filter(payment_id__in=recorded_ids).values_list(
                "invoice_id", flat=True
            )
        )
    return result
