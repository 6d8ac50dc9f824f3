"""The generic CSV format: customers and invoices, then payments and credit notes.

docs/IMPORT.md describes the columns; `FORMAT_HELP` is the same description for
`manage.py import_portfolio --help`.
"""

import re
from datetime import date
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from core.calendar import subdivision_problem
from core.money import currency_problem
from customers.importers.base import (
    CreditNoteRow,
    CreditorDefaults,
    CustomerRow,
    ImportData,
    ImportRejected,
    InvoiceRow,
    PaymentRow,
    RowError,
    amount,
    boolean,
    csv_rows,
    integer,
    iso_date,
    optional_text,
    required_text,
)
from customers.models import Channel, language_problem, validate_time_zone

DEFAULT_CREDITOR = CreditorDefaults(
    name="Default creditor",
    country="DE",
    time_zone="Europe/Berlin",
    default_currency="EUR",
)

INVOICE_COLUMNS = [
    "customer_id",
    "customer_name",
    "invoice_id",
    "amount",
    "issued_on",
    "due_on",
]
BOOKING_COLUMNS = ["type", "external_id", "customer_id", "amount", "date"]

FORMAT_HELP = """\
Generic CSV (--format csv): UTF-8, comma separated, first line a header, dates
YYYY-MM-DD, amounts plain decimals ("1234.50", no thousands separator, no
exponent, no more decimals than the currency has). Columns marked * are required.

PATH 1, customers and invoices, one row per invoice:
  customer_id*, customer_name*, customer_kind (consumer|business), email,
  phone (E.164), street, postcode, city, country (ISO 3166, default: the
  creditor's), subdivision (the region whose public holidays hold, e.g. BY),
  language (default en), time_zone (IANA, default: the creditor's),
  birth_year, customer_since, segment, preferred_channel
  (email|sms|whatsapp|letter), consent_email (default true), consent_sms,
  consent_whatsapp (default false), consent_letter (default true),
  invoice_id*, invoice_number (default: invoice_id), currency (default: the
  creditor's), amount*, issued_on*, due_on*, description.
  A row with an empty invoice_id and amount only brings the customer.

PATH 2 (optional), payments and credit notes:
  type* (payment|credit_note), external_id*, customer_id*, invoice_id
  (optional for a payment: paid first; required for a credit note), amount*,
  currency (default: the named invoice's, else the creditor's), date*, method,
  reference, reason.

A payment goes to the named invoice first, then to the customer's open
invoices oldest due date first; an overpayment stays as the customer's credit.
With --as-of, invoices issued and bookings dated after that day are skipped.
Any bad row rejects the whole import; re-importing the same files changes
nothing.
"""

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
KINDS = ("consumer", "business")


def parse(
    paths: list[Path], *, as_of: date | None, creditor: CreditorDefaults
) -> ImportData:
    if not 1 <= len(paths) <= 2:
        raise ImportRejected(
            ["--format csv takes one file of invoices and optionally one of payments"]
        )
    data = ImportData()
    errors: list[str] = []
    invoice_currency = _parse_invoices(
        Path(paths[0]), data, errors, as_of=as_of, creditor=creditor
    )
    if len(paths) == 2:
        _parse_bookings(
            Path(paths[1]),
            data,
            errors,
            as_of=as_of,
            creditor=creditor,
            invoice_currency=invoice_currency,
        )
    if errors:
        raise ImportRejected(errors)
    return data


def _parse_invoices(
    path: Path, data: ImportData, errors: list[str], *, as_of, creditor
) -> dict[str, str]:
    _, rows = csv_rows(path, INVOICE_COLUMNS)
    customers: dict[str, CustomerRow] = {}
    invoice_currency: dict[str, str] = {}
    for line, cells in rows:
        where = f"{path.name} line {line}"
        get = cells.get
        try:
            customer = _customer(where, cells, creditor)
            invoice = None
            if (get("invoice_id") or "").strip() or (get("amount") or "").strip():
                invoice = _invoice(where, cells, customer.external_id, creditor)
        except RowError as exc:
            errors.append(f"{where}: {exc}")
            continue

        first = customers.get(customer.external_id)
        if first is None:
            customers[customer.external_id] = customer
            data.customers.append(customer)
        else:
            differs = [
                name
                for name, value in customer.values().items()
                if getattr(first, name) != value
            ]
            if differs:
                errors.append(
                    f"{where}: customer {customer.external_id!r} differs from "
                    f"{first.where} in {', '.join(differs)}"
                )
                continue
        if invoice is None:
            continue
        invoice_currency[invoice.external_id] = invoice.currency
        if as_of is None or invoice.issued_on <= as_of:
            data.invoices.append(invoice)
    return invoice_currency


def _customer(where: str, cells: dict[str, str], creditor) -> CustomerRow:
    def text(name: str, max_length: int) -> str:
        return optional_text(cells.get(name) or "", name, max_length)

    kind = text("customer_kind", 10).lower() or "consumer"
    if kind not in KINDS:
        raise RowError(f"customer_kind {kind!r} is not consumer or business")
    email = text("email", 254)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise RowError(f"email {email!r} is not an e-mail address") from None
    phone = text("phone", 40).replace(" ", "")
    if phone and not E164.match(phone):
        raise RowError(f"phone {phone!r} is not in E.164 form (+4930…)")
    country = text("country", 2).upper() or creditor.country
    if not COUNTRY.match(country):
        raise RowError(f"country {country!r} is not an ISO 3166 code")
    subdivision = text("subdivision", 10)
    if problem := subdivision_problem(country, subdivision):
        raise RowError(f"subdivision: {problem}")
    language = text("language", 8) or "en"
    if problem := language_problem(language):
        raise RowError(f"language: {problem}")
    time_zone = text("time_zone", 64) or creditor.time_zone
    if not _is_time_zone(time_zone):
        raise RowError(f"time_zone {time_zone!r} is not an IANA time zone")
    birth_year = None
    if text("birth_year", 4):
        birth_year = integer(cells["birth_year"], "birth_year")
        if not 1900 <= birth_year <= date.today().year:
            raise RowError(f"birth_year {birth_year} is out of range")
    customer_since = None
    if text("customer_since", 10):
        customer_since = iso_date(cells["customer_since"], "customer_since")
    channel = text("preferred_channel", 10).lower()
    if channel and channel not in Channel.values:
        raise RowError(f"preferred_channel {channel!r} is not one of {Channel.values}")
    return CustomerRow(
        where=where,
        external_id=required_text(cells["customer_id"], "customer_id", 100),
        name=required_text(cells["customer_name"], "customer_name", 200),
        kind=kind,
        email=email,
        phone=phone,
        street=text("street", 200),
        postcode=text("postcode", 20),
        city=text("city", 100),
        country=country,
        subdivision=subdivision,
        language=language,
        time_zone=time_zone,
        birth_year=birth_year,
        customer_since=customer_since,
        segment=text("segment", 50),
        consent_email=boolean(cells.get("consent_email") or "", "consent_email", True),
        consent_sms=boolean(cells.get("consent_sms") or "", "consent_sms", False),
        consent_whatsapp=boolean(
            cells.get("consent_whatsapp") or "", "consent_whatsapp", False
        ),
        consent_letter=boolean(
            cells.get("consent_letter") or "", "consent_letter", True
        ),
        preferred_channel=channel,
    )


def _invoice(where: str, cells: dict[str, str], customer_id: str, creditor):
    external_id = required_text(cells["invoice_id"], "invoice_id", 100)
    currency = _currency(cells.get("currency") or "", creditor.default_currency)
    value = amount(cells["amount"], currency)
    if value <= 0:
        raise RowError(f"amount {cells['amount']!r} is not positive")
    issued_on = iso_date(cells["issued_on"], "issued_on")
    due_on = iso_date(cells["due_on"], "due_on")
    if due_on < issued_on:
        raise RowError(f"due_on {due_on} is before issued_on {issued_on}")
    return InvoiceRow(
        where=where,
        external_id=external_id,
        customer_external_id=customer_id,
        number=optional_text(cells.get("invoice_number") or "", "invoice_number", 100)
        or external_id,
        currency=currency,
        amount=value,
        issued_on=issued_on,
        due_on=due_on,
        description=optional_text(cells.get("description") or "", "description", 300),
    )


def _parse_bookings(
    path: Path,
    data: ImportData,
    errors: list[str],
    *,
    as_of,
    creditor,
    invoice_currency: dict[str, str],
) -> None:
    _, rows = csv_rows(path, BOOKING_COLUMNS)
    for line, cells in rows:
        where = f"{path.name} line {line}"
        try:
            row = _booking(where, cells, creditor, invoice_currency)
        except RowError as exc:
            errors.append(f"{where}: {exc}")
            continue
        if isinstance(row, PaymentRow):
            if as_of is None or row.received_on <= as_of:
                data.payments.append(row)
        elif as_of is None or row.issued_on <= as_of:
            data.credit_notes.append(row)


def _booking(where, cells, creditor, invoice_currency):
    kind = cells["type"].strip().lower().replace("-", "_")
    if kind not in ("payment", "credit_note"):
        raise RowError(f"type {cells['type']!r} is not payment or credit_note")
    external_id = required_text(cells["external_id"], "external_id", 100)
    customer_id = required_text(cells["customer_id"], "customer_id", 100)
    invoice_id = optional_text(cells.get("invoice_id") or "", "invoice_id", 100)
    if kind == "credit_note" and not invoice_id:
        raise RowError("invoice_id is empty; a credit note needs one")
    default_currency = invoice_currency.get(invoice_id, creditor.default_currency)
    currency = _currency(cells.get("currency") or "", default_currency)
    value = amount(cells["amount"], currency)
    if value <= 0:
        raise RowError(f"amount {cells['amount']!r} is not positive")
    day = iso_date(cells["date"], "date")
    if kind == "payment":
        return PaymentRow(
            where=where,
            external_id=external_id,
            customer_external_id=customer_id,
            amount=value,
            currency=currency,
            received_on=day,
            invoice_external_id=invoice_id,
            method=optional_text(cells.get("method") or "", "method", 30),
            reference=optional_text(cells.get("reference") or "", "reference", 200),
        )
    return CreditNoteRow(
        where=where,
        external_id=external_id,
        customer_external_id=customer_id,
        invoice_external_id=invoice_id,
        amount=value,
        currency=currency,
        issued_on=day,
        reason=optional_text(cells.get("reason") or "", "reason", 300),
    )


def _currency(raw: str, default: str) -> str:
    currency = raw.strip().upper() or default
    if problem := currency_problem(currency):
        raise RowError(f"currency: {problem}")
    return currency


@cache
def _is_time_zone(value: str) -> bool:
    try:
        validate_time_zone(value)
    except ValidationError:
        return False
    return True
