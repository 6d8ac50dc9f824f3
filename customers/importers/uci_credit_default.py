"""UCI "default of credit card clients" (Taiwan, April–September 2005).

Each card holder becomes a consumer; six monthly statements and five monthly
payments become claims, payments and credit notes. docs/IMPORT.md explains the
ledger model; in short, with B the statement balance and P the payment made
during a month (already netted into that month's statement):

- the April statement B(Apr) is the opening claim, if positive;
- each later month's new charges are B(m) - B(m-1) + P(m); positive new charges
  are a claim dated the statement day (last day of the month), due 20 days later;
- P(m) is a payment on the 15th of month m, oldest claim first; what it pays
  beyond the claims open on that day pays the next statement's claim;
- negative new charges (refunds, reversals) are credit notes on the open claims,
  oldest first; a credit larger than what is open is not carried.

SEX, EDUCATION and MARRIAGE are never read. Only the credit limit and the
monthly repayment status are kept, as facts on each claim.
"""

import calendar
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from core.money import ZERO
from customers.importers.base import (
    PLACEHOLDER_CITY,
    PLACEHOLDER_POSTCODE,
    PLACEHOLDER_STREET,
    CreditNoteRow,
    CreditorDefaults,
    CustomerRow,
    ImportData,
    ImportRejected,
    InvoiceRow,
    PaymentRow,
    RowError,
    amount,
    csv_rows,
    integer,
    placeholder_email,
    read_text,
)
from payments.models import LedgerEntry
from payments.services import ALLOCATION_ORDER, allocate

DEFAULT_CREDITOR = CreditorDefaults(
    name="Taiwan card issuer",
    country="TW",
    time_zone="Asia/Taipei",
    default_currency="TWD",
)
CURRENCY = "TWD"
DATA_YEAR = 2005
# Days from the statement to its due date; the data set does not say.
DUE_DAYS = 20
PAYMENT_DAY = 15

# (month, statement column, repayment status column, payment column), oldest
# first. PAY_AMT6 (paid in April) settled the March statement, which is not in
# the data, so it is not imported.
MONTHS = [
    (4, "BILL_AMT6", "PAY_6", None),
    (5, "BILL_AMT5", "PAY_5", "PAY_AMT5"),
    (6, "BILL_AMT4", "PAY_4", "PAY_AMT4"),
    (7, "BILL_AMT3", "PAY_3", "PAY_AMT3"),
    (8, "BILL_AMT2", "PAY_2", "PAY_AMT2"),
    (9, "BILL_AMT1", "PAY_0", "PAY_AMT1"),
]
COLUMNS = ["ID", "LIMIT_BAL", "AGE"] + [
    column for month in MONTHS for column in month[1:] if column
]

PRINCIPAL = LedgerEntry.Component.PRINCIPAL


def statement_date(month: int) -> date:
    return date(DATA_YEAR, month, calendar.monthrange(DATA_YEAR, month)[1])


def parse(
    paths: list[Path], *, as_of: date | None, creditor: CreditorDefaults
) -> ImportData:
    if len(paths) != 1:
        raise ImportRejected(["--format uci-credit-default takes exactly one file"])
    path = Path(paths[0])
    # The UCI export has a line of generic names (X1 … Y) above the real header.
    first_line = read_text(path).split("\n", 1)[0]
    header_line = 1 if "LIMIT_BAL" in first_line else 2
    _, rows = csv_rows(path, COLUMNS, header_line=header_line)

    parsed_rows = []
    errors: list[str] = []
    for line, cells in rows:
        where = f"{path.name} line {line}"
        try:
            parsed_rows.append((where, _parse_row(cells)))
        except RowError as exc:
            errors.append(f"{where}: {exc}")
    if errors:
        raise ImportRejected(errors)

    # The file is not in ID order; sorting makes ids and the output stable.
    parsed_rows.sort(key=lambda item: item[1]["id"])
    data = ImportData()
    for where, parsed in parsed_rows:
        _holder(where, parsed, data, as_of)
    return data


def _parse_row(cells: dict[str, str]) -> dict:
    holder_id = integer(cells["ID"], "ID")
    if holder_id <= 0:
        raise RowError(f"ID {holder_id} is not positive")
    age = integer(cells["AGE"], "AGE")
    if not 18 <= age <= 120:
        raise RowError(f"AGE {age} is out of range")
    limit = amount(cells["LIMIT_BAL"], CURRENCY, "LIMIT_BAL")
    months = []
    for month, bill_column, status_column, pay_column in MONTHS:
        paid = ZERO
        if pay_column:
            paid = amount(cells[pay_column], CURRENCY, pay_column)
            if paid < 0:
                raise RowError(f"{pay_column} {cells[pay_column]!r} is negative")
        months.append(
            {
                "month": month,
                "bill": amount(cells[bill_column], CURRENCY, bill_column),
                "status": integer(cells[status_column], status_column),
                "paid": paid,
            }
        )
    return {"id": holder_id, "age": age, "limit": limit, "months": months}


def _holder(where: str, parsed: dict, data: ImportData, as_of: date | None) -> None:
    key = str(parsed["id"])
    data.customers.append(
        CustomerRow(
            where=where,
            external_id=key,
            name=f"Card holder {key}",
            kind="consumer",
            email=placeholder_email(f"holder-{key}"),
            street=PLACEHOLDER_STREET,
            postcode=PLACEHOLDER_POSTCODE,
            city=PLACEHOLDER_CITY,
            country="TW",
            # Templates exist in en and de only; English until zh is written.
            language="en",
            time_zone="Asia/Taipei",
            # AGE is the age in 2005, when the data were collected.
            birth_year=DATA_YEAR - parsed["age"],
        )
    )

    # Principal still open per claim: decides how a credit is split. It follows
    # the same allocation as the writer, which checks it again.
    open_principal: dict[str, dict[str, Decimal]] = {}
    # Unallocated rest of each payment; the writer applies it to later claims.
    credits: list[Decimal] = []
    previous_bill = None
    for entry in parsed["months"]:
        month = entry["month"]
        stated_on = statement_date(month)
        paid_on = date(DATA_YEAR, month, PAYMENT_DAY)
        label = f"{DATA_YEAR}-{month:02d}"

        if entry["paid"] > 0 and (as_of is None or paid_on <= as_of):
            data.payments.append(
                PaymentRow(
                    where=where,
                    external_id=f"{key}-PAY-{label}",
                    customer_external_id=key,
                    amount=entry["paid"],
                    currency=CURRENCY,
                    received_on=paid_on,
                    reference=f"card payment {label}",
                )
            )
            _, left = allocate(entry["paid"], list(open_principal), open_principal)
            credits.append(left)

        if previous_bill is None:
            new_charges = entry["bill"]
        else:
            new_charges = entry["bill"] - previous_bill + entry["paid"]
        previous_bill = entry["bill"]
        if as_of is not None and stated_on > as_of:
            continue

        if new_charges > 0:
            invoice_id = f"{key}-{label}"
            data.invoices.append(
                InvoiceRow(
                    where=where,
                    external_id=invoice_id,
                    customer_external_id=key,
                    number=invoice_id,
                    currency=CURRENCY,
                    amount=new_charges,
                    issued_on=stated_on,
                    due_on=stated_on + timedelta(days=DUE_DAYS),
                    description=f"Card statement {label}",
                    source_facts={
                        "source": "uci-credit-default",
                        "statement_month": label,
                        "statement_balance": str(entry["bill"]),
                        "limit_bal": str(parsed["limit"]),
                        "repayment_status": entry["status"],
                    },
                )
            )
            open_principal[invoice_id] = {
                **dict.fromkeys(ALLOCATION_ORDER, ZERO),
                PRINCIPAL: new_charges,
            }
            for index, left in enumerate(credits):
                if left > 0:
                    _, credits[index] = allocate(
                        left, [invoice_id], {invoice_id: open_principal[invoice_id]}
                    )
        elif new_charges < 0 and month != MONTHS[0][0]:
            # A negative opening balance (the holder in credit) is not carried.
            _credit(where, key, label, stated_on, -new_charges, open_principal, data)


def _credit(where, key, label, stated_on, credit, open_principal, data) -> None:
    """A refund on the card: credit notes on the open claims, oldest first."""
    allocations, _ = allocate(credit, list(open_principal), open_principal)
    for allocation in allocations:
        data.credit_notes.append(
            CreditNoteRow(
                where=where,
                external_id=f"{key}-CR-{label}-{allocation.invoice_id}",
                customer_external_id=key,
                invoice_external_id=allocation.invoice_id,
                amount=allocation.amount,
                currency=CURRENCY,
                issued_on=stated_on,
                reason=f"card credit {label}",
            )
        )
