"""IBM Watson Analytics "Accounts Receivable" sample (ar-ibm-late-payment).

One row per invoice, all settled: US dates (M/D/YYYY), `invoiceNumber` is text
with leading zeros, CRLF line ends. The file has no currency, no names and no
addresses; docs/IMPORT.md lists what the import fills in and why.
"""

from datetime import date
from pathlib import Path

from customers.importers.base import (
    PLACEHOLDER_CITY,
    PLACEHOLDER_POSTCODE,
    PLACEHOLDER_STREET,
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
    required_text,
    us_date,
)

DEFAULT_CREDITOR = CreditorDefaults(
    name="IBM AR sample",
    country="US",
    time_zone="America/New_York",
    default_currency="USD",
)
CUSTOMER_COUNTRY = "US"
CUSTOMER_TIME_ZONE = "America/New_York"

COLUMNS = [
    "countryCode",
    "customerID",
    "PaperlessDate",
    "invoiceNumber",
    "InvoiceDate",
    "DueDate",
    "InvoiceAmount",
    "Disputed",
    "SettledDate",
    "PaperlessBill",
    "DaysToSettle",
    "DaysLate",
]
YES_NO = {"Yes": True, "No": False}
BILLING = ("Paper", "Electronic")


def settlement_id(invoice_number: str) -> str:
    """The stable external id of the payment that settled an invoice."""
    return f"{invoice_number}-settlement"


def parse(
    paths: list[Path], *, as_of: date | None, creditor: CreditorDefaults
) -> ImportData:
    if len(paths) != 1:
        raise ImportRejected(["--format ibm-ar takes exactly one file"])
    path = Path(paths[0])
    _, rows = csv_rows(path, COLUMNS)
    currency = creditor.default_currency

    data = ImportData()
    errors: list[str] = []
    # Per customer: its rows in file order, to derive the customer afterwards.
    by_customer: dict[str, list[tuple[str, dict]]] = {}
    for line, cells in rows:
        where = f"{path.name} line {line}"
        try:
            parsed = _parse_row(cells, currency)
        except RowError as exc:
            errors.append(f"{where}: {exc}")
            continue
        if as_of is not None and parsed["issued_on"] > as_of:
            # The invoice did not exist yet on the as-of day.
            continue
        by_customer.setdefault(parsed["customer_id"], []).append((where, parsed))
    if errors:
        raise ImportRejected(errors)

    for customer_id, customer_rows in by_customer.items():
        data.customers.append(_customer(customer_id, customer_rows))
        for where, parsed in customer_rows:
            settled = as_of is None or parsed["settled_on"] <= as_of
            data.invoices.append(_invoice(where, parsed, currency, settled))
            if settled:
                data.payments.append(
                    PaymentRow(
                        where=where,
                        external_id=settlement_id(parsed["number"]),
                        customer_external_id=customer_id,
                        amount=parsed["amount"],
                        currency=currency,
                        received_on=parsed["settled_on"],
                        invoice_external_id=parsed["number"],
                        reference=f"settlement of invoice {parsed['number']}",
                    )
                )
    return data


def _parse_row(cells: dict[str, str], currency: str) -> dict:
    issued_on = us_date(cells["InvoiceDate"], "InvoiceDate")
    due_on = us_date(cells["DueDate"], "DueDate")
    settled_on = us_date(cells["SettledDate"], "SettledDate")
    if due_on < issued_on:
        raise RowError(f"DueDate {due_on} is before InvoiceDate {issued_on}")
    if settled_on < issued_on:
        raise RowError(f"SettledDate {settled_on} is before InvoiceDate {issued_on}")
    value = amount(cells["InvoiceAmount"], currency, "InvoiceAmount")
    if value <= 0:
        raise RowError(f"InvoiceAmount {cells['InvoiceAmount']!r} is not positive")
    disputed = cells["Disputed"].strip()
    if disputed not in YES_NO:
        raise RowError(f"Disputed {cells['Disputed']!r} is not Yes or No")
    billing = cells["PaperlessBill"].strip()
    if billing not in BILLING:
        raise RowError(f"PaperlessBill {billing!r} is not Paper or Electronic")
    return {
        "customer_id": required_text(cells["customerID"], "customerID", 100),
        "country_code": required_text(cells["countryCode"], "countryCode", 10),
        "number": required_text(cells["invoiceNumber"], "invoiceNumber", 100),
        "paperless_date": us_date(cells["PaperlessDate"], "PaperlessDate"),
        "issued_on": issued_on,
        "due_on": due_on,
        "settled_on": settled_on,
        "amount": value,
        "disputed": YES_NO[disputed],
        "paperless_bill": billing,
        "days_to_settle": integer(cells["DaysToSettle"], "DaysToSettle"),
        "days_late": integer(cells["DaysLate"], "DaysLate"),
    }


def _customer(customer_id: str, rows: list[tuple[str, dict]]) -> CustomerRow:
    first_where, first = rows[0]
    latest = max((parsed for _, parsed in rows), key=lambda p: p["issued_on"])
    # The billing preference of the most recent invoice is the current one.
    paper = latest["paperless_bill"] == "Paper"
    return CustomerRow(
        where=first_where,
        external_id=customer_id,
        name=f"IBM sample customer {customer_id}",
        kind="business",
        email=placeholder_email(customer_id),
        street=PLACEHOLDER_STREET,
        postcode=PLACEHOLDER_POSTCODE,
        city=PLACEHOLDER_CITY,
        country=CUSTOMER_COUNTRY,
        language="en",
        time_zone=CUSTOMER_TIME_ZONE,
        customer_since=min(parsed["issued_on"] for _, parsed in rows),
        segment=f"ibm-country-{first['country_code']}",
        consent_email=not paper,
        consent_letter=True,
        preferred_channel="letter" if paper else "email",
    )


def _invoice(where: str, parsed: dict, currency: str, settled: bool) -> InvoiceRow:
    facts = {
        "source": "ibm-ar",
        "country_code": parsed["country_code"],
        "disputed": parsed["disputed"],
        "paperless_bill": parsed["paperless_bill"],
        "paperless_date": parsed["paperless_date"].isoformat(),
    }
    if settled:
        # Outcomes only once they happened: an --as-of import must not let a
        # model see how an open claim will end.
        facts.update(
            settled_date=parsed["settled_on"].isoformat(),
            days_to_settle=parsed["days_to_settle"],
            days_late=parsed["days_late"],
        )
    return InvoiceRow(
        where=where,
        external_id=parsed["number"],
        customer_external_id=parsed["customer_id"],
        number=parsed["number"],
        currency=currency,
        amount=parsed["amount"],
        issued_on=parsed["issued_on"],
        due_on=parsed["due_on"],
        source_facts=facts,
    )
