"""manage.py import_portfolio: the generic CSV format and the two real data sets."""

import csv
import json
from datetime import date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import DecimalField, F, Sum, Value
from django.db.models.functions import Coalesce

from customers.models import Creditor, Customer
from dunning.models import Case
from payments.models import CreditNote, Invoice, LedgerEntry, Payment

pytestmark = pytest.mark.django_db

AS_OF = date(2013, 6, 30)


def run_import(*args) -> dict:
    out = StringIO()
    call_command("import_portfolio", *[str(arg) for arg in args], "--json", stdout=out)
    return json.loads(out.getvalue())


def assert_ledger_consistent():
    """Every claim's open amount is the sum of its ledger rows; payments add up."""
    zero = Value(Decimal("0"), output_field=DecimalField())
    claims = Invoice.objects.annotate(total=Coalesce(Sum("entries__amount"), zero))
    assert claims.exclude(total=F("open_amount")).count() == 0
    assert Invoice.objects.filter(open_amount__lt=0).count() == 0
    assert Invoice.objects.filter(status="open", open_amount=0).count() == 0
    assert Invoice.objects.filter(status="paid").exclude(open_amount=0).count() == 0
    payments = Payment.objects.annotate(
        allocated=Coalesce(Sum("entries__amount"), zero)
    )
    assert (
        payments.exclude(allocated=F("unallocated_amount") - F("amount")).count() == 0
    )


def ibm_rows(path):
    def us(text):
        return datetime.strptime(text, "%m/%d/%Y").date()

    with open(path, newline="") as handle:
        return [
            {**row, "issued": us(row["InvoiceDate"]), "settled": us(row["SettledDate"])}
            for row in csv.DictReader(handle)
        ]


# --- IBM accounts receivable -------------------------------------------------


def test_ibm_as_of_imports_the_portfolio_as_it_stood_that_day(ibm_file):
    """Invoices issued after the day are left out; later settlements stay open."""
    rows = ibm_rows(ibm_file)
    issued = [row for row in rows if row["issued"] <= AS_OF]
    settled = [row for row in issued if row["settled"] <= AS_OF]

    result = run_import(ibm_file, "--format", "ibm-ar", "--as-of", AS_OF)

    creditor = Creditor.objects.get(name="IBM AR sample")
    assert (creditor.country, creditor.default_currency) == ("US", "USD")
    assert Customer.objects.filter(creditor=creditor).count() == 100
    assert Invoice.objects.count() == len(issued) == result["invoices"]["created"]
    assert Payment.objects.count() == len(settled)
    open_numbers = set(
        Invoice.objects.filter(status="open").values_list("number", flat=True)
    )
    assert open_numbers == {r["invoiceNumber"] for r in issued if r not in settled}
    assert result["open_claims"] == len(open_numbers) > 0
    assert not Invoice.objects.filter(issued_on__gt=AS_OF).exists()
    # Payments carry the real settlement date and name their invoice.
    received = dict(Payment.objects.values_list("invoice__number", "received_on"))
    assert received == {row["invoiceNumber"]: row["settled"] for row in settled}
    paid = Invoice.objects.filter(status="paid")
    assert paid.count() == len(settled)
    assert not paid.exclude(settled_on__lte=AS_OF).exists()
    assert_ledger_consistent()


def test_ibm_keeps_source_facts_and_placeholder_contacts(ibm_file):
    """Disputed stays a fact, never a case; contact data is obviously not real."""
    run_import(ibm_file, "--format", "ibm-ar", "--as-of", AS_OF)

    assert Case.objects.count() == 0
    invoice = Invoice.objects.get(number="0007900770")
    assert invoice.source_facts["disputed"] is True
    assert invoice.source_facts["country_code"] == "406"
    assert invoice.amount == Decimal("61.74") and invoice.currency == "USD"
    customer = invoice.customer
    assert customer.kind == "business"
    assert customer.email == "8976-amjeo@example.invalid"
    assert customer.segment == "ibm-country-406"
    assert customer.has_address_for("letter")
    for customer in Customer.objects.all():
        if customer.preferred_channel == "letter":
            assert (customer.consent_letter, customer.consent_email) == (True, False)
        else:
            assert customer.preferred_channel == "email" and customer.consent_email
    # Outcomes after the as-of day are not known yet.
    still_open = Invoice.objects.filter(status="open").first()
    assert "days_late" not in still_open.source_facts


def test_ibm_reimport_changes_nothing(ibm_file):
    """The second run of the same file reports nothing created and writes nothing."""
    run_import(ibm_file, "--format", "ibm-ar", "--as-of", AS_OF)
    entries = LedgerEntry.objects.count()

    again = run_import(ibm_file, "--format", "ibm-ar", "--as-of", AS_OF)

    for kind in ("customers", "invoices", "payments", "credit_notes"):
        assert again[kind]["created"] == 0
        assert again[kind]["updated"] == 0
    assert again["customers"]["unchanged"] == 100
    assert again["ledger_entries_created"] == 0
    assert LedgerEntry.objects.count() == entries


def test_ibm_later_import_settles_the_claims_open_before(ibm_file):
    """Importing without --as-of afterwards books the later settlements."""
    run_import(ibm_file, "--format", "ibm-ar", "--as-of", AS_OF)

    result = run_import(ibm_file, "--format", "ibm-ar")

    assert result["earlier_claims_settled"] == 84
    assert Invoice.objects.count() == 2466
    assert Invoice.objects.filter(status="paid").count() == 2466
    settled_on = dict(Invoice.objects.values_list("number", "settled_on"))
    assert settled_on == {r["invoiceNumber"]: r["settled"] for r in ibm_rows(ibm_file)}
    assert_ledger_consistent()


# --- generic CSV -------------------------------------------------------------

INVOICE_HEADER = (
    "customer_id,customer_name,customer_kind,email,phone,country,language,"
    "time_zone,birth_year,invoice_id,currency,amount,issued_on,due_on\n"
)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def invoice_file(tmp_path):
    return write(
        tmp_path,
        "invoices.csv",
        INVOICE_HEADER + "C1,Alice Ahrens,consumer,alice@example.com,+4930123456,DE,de,"
        "Europe/Berlin,1985,INV-1,EUR,100.00,2025-01-10,2025-02-10\n"
        + "C1,Alice Ahrens,consumer,alice@example.com,+4930123456,DE,de,"
        "Europe/Berlin,1985,INV-2,EUR,50.00,2025-02-10,2025-03-10\n"
        + "C2,Bob Ltd,business,,,GB,en,Europe/London,,INV-3,JPY,5000,"
        "2025-01-05,2025-02-05\n",
    )


@pytest.fixture
def booking_file(tmp_path):
    return write(
        tmp_path,
        "payments.csv",
        "type,external_id,customer_id,invoice_id,amount,currency,date\n"
        # Names nothing: pays the oldest claim first, the rest the next one.
        "payment,P-1,C1,,120.00,EUR,2025-03-01\n"
        "credit_note,CN-1,C1,INV-2,30.00,EUR,2025-03-02\n"
        "credit_note,CN-2,C2,INV-3,5000,JPY,2025-01-20\n",
    )


def test_csv_round_trip_with_payments_and_credit_notes(invoice_file, booking_file):
    """Payments go oldest claim first; a credit note closes its claim as credited."""
    result = run_import(invoice_file, booking_file, "--format", "csv")

    assert result["creditor"] == "Default creditor"
    assert result["customers"]["created"] == 2
    assert result["invoices"]["created"] == 3
    assert result["payments"]["created"] == 1
    assert result["credit_notes"]["created"] == 2
    claims = {i.external_id: i for i in Invoice.objects.all()}
    assert (claims["INV-1"].status, claims["INV-1"].open_amount) == ("paid", 0)
    assert claims["INV-1"].settled_on == date(2025, 3, 1)
    # 50 - 20 paid - 30 credited: closed by the credit note.
    assert (claims["INV-2"].status, claims["INV-2"].open_amount) == ("credited", 0)
    assert claims["INV-2"].settled_on == date(2025, 3, 2)
    assert claims["INV-3"].status == "credited" and claims["INV-3"].currency == "JPY"
    payment = Payment.objects.get(external_id="P-1")
    assert payment.unallocated_amount == 0 and payment.source == "import"
    assert sorted(payment.entries.values_list("invoice__external_id", "amount")) == [
        ("INV-1", Decimal("-100")),
        ("INV-2", Decimal("-20")),
    ]
    alice = Customer.objects.get(external_id="C1")
    assert (alice.language, alice.birth_year, alice.phone) == (
        "de",
        1985,
        "+4930123456",
    )
    assert CreditNote.objects.get(external_id="CN-1").invoice == claims["INV-2"]
    assert_ledger_consistent()

    again = run_import(invoice_file, booking_file, "--format", "csv")
    assert sum(again[kind]["created"] for kind in ("customers", "invoices")) == 0
    assert again["payments"]["created"] == again["credit_notes"]["created"] == 0


def test_csv_bad_row_imports_nothing_and_names_the_line(tmp_path, invoice_file):
    """One bad amount on line 4 rejects the whole file with a clear reason."""
    lines = invoice_file.read_text().splitlines(keepends=True)
    lines.insert(3, lines[1].replace("INV-1", "INV-9").replace("100.00", "abc"))
    bad = write(tmp_path, "bad.csv", "".join(lines))

    with pytest.raises(CommandError) as error:
        run_import(bad, "--format", "csv")

    message = str(error.value)
    assert "bad.csv line 4: amount 'abc' is not a number" in message
    assert "Nothing was imported" in message
    assert Creditor.objects.count() == 0
    assert Customer.objects.count() == Invoice.objects.count() == 0


def test_csv_lists_at_most_twenty_errors_and_counts_the_rest(tmp_path):
    """Too many decimals for the currency are refused; the list is capped."""
    rows = "".join(
        f"C{n},Name {n},,,,,,,,I{n},JPY,10.5,2025-01-01,2025-02-01\n" for n in range(25)
    )
    path = write(tmp_path, "many.csv", INVOICE_HEADER + rows)

    with pytest.raises(CommandError) as error:
        run_import(path, "--format", "csv")

    message = str(error.value)
    assert "many.csv line 2: amount '10.5' has more decimals than JPY allows" in message
    assert "line 26" not in message
    assert "and 5 more (25 errors in total" in message


def test_csv_credit_note_larger_than_the_claim_is_refused(tmp_path, invoice_file):
    """A credit note above the open principal is a bad row like any other."""
    bookings = write(
        tmp_path,
        "payments.csv",
        "type,external_id,customer_id,invoice_id,amount,date\n"
        "credit_note,CN-1,C1,INV-1,100.01,2025-03-01\n",
    )

    with pytest.raises(CommandError) as error:
        run_import(invoice_file, bookings, "--format", "csv")

    assert "payments.csv line 2: credit note 'CN-1' (100.01) exceeds" in str(
        error.value
    )
    assert Invoice.objects.count() == 0


def test_csv_changed_amounts_name_what_was_imported_before(
    tmp_path, invoice_file, booking_file
):
    """The booked amounts read "100.00 EUR", not "1E+2" or the column's decimals."""
    run_import(invoice_file, booking_file, "--format", "csv")
    invoices = write(
        tmp_path, "invoices2.csv", invoice_file.read_text().replace("100.00", "110.00")
    )
    bookings = write(
        tmp_path, "payments2.csv", booking_file.read_text().replace("120.00", "125.00")
    )

    with pytest.raises(CommandError) as error:
        run_import(invoices, bookings, "--format", "csv")

    message = str(error.value)
    assert (
        "invoices2.csv line 2: invoice 'INV-1' was imported before as 100.00 EUR, "
        "now 110.00 EUR" in message
    )
    assert (
        "payments2.csv line 2: payment 'P-1' was imported before as 120.00 EUR "
        "for another customer or amount" in message
    )
    assert Invoice.objects.get(external_id="INV-1").amount == Decimal("100")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("customer_id;customer_name;invoice_id\nC1;A;I1\n", "separated by semicolons"),
        ("customer_id,customer_name\nC1,A\n", "missing column(s) invoice_id"),
    ],
)
def test_csv_wrong_layout_is_refused(tmp_path, text, reason):
    path = write(tmp_path, "layout.csv", text)

    with pytest.raises(
        CommandError, match=reason.replace("(", r"\(").replace(")", r"\)")
    ):
        run_import(path, "--format", "csv")


def test_csv_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        (INVOICE_HEADER + "C1,Jürgen,,,,,,,,I1,EUR,1,2025-01-01,2025-01-02\n").encode(
            "latin-1"
        )
    )

    with pytest.raises(CommandError, match="latin1.csv line 2: the file is not UTF-8"):
        run_import(path, "--format", "csv")


# --- UCI Taiwan credit card clients ------------------------------------------


@pytest.mark.slow
def test_taiwan_imports_30000_holders_with_a_consistent_ledger(taiwan_file):
    """Monthly statements and payments become claims and payments that add up."""
    result = run_import(taiwan_file, "--format", "uci-credit-default")

    creditor = Creditor.objects.get(name="Taiwan card issuer")
    assert (creditor.country, creditor.default_currency) == ("TW", "TWD")
    assert Customer.objects.count() == result["customers"]["created"] == 30000
    assert Invoice.objects.count() == result["invoices"]["created"]
    assert_ledger_consistent()

    # Holder 503: every payment is below the statement it pays, so what stays
    # open is exactly the September statement.
    holder = Customer.objects.get(external_id="503")
    assert (holder.kind, holder.birth_year, holder.country) == ("consumer", 1959, "TW")
    assert (holder.time_zone, holder.language, holder.segment) == (
        "Asia/Taipei",
        "en",
        "",
    )
    open_total = holder.invoices.aggregate(total=Sum("open_amount"))["total"]
    assert open_total == Decimal("221590")
    opening = holder.invoices.get(external_id="503-2005-04")
    assert (opening.amount, opening.issued_on, opening.due_on) == (
        Decimal("193351"),
        date(2005, 4, 30),
        date(2005, 5, 20),
    )
    # Nothing protected is stored: only the credit limit and repayment status.
    allowed = {
        "source",
        "statement_month",
        "statement_balance",
        "limit_bal",
        "repayment_status",
    }
    assert set(opening.source_facts) == allowed
    assert Payment.objects.filter(customer=holder).count() == 5
    assert set(
        Payment.objects.filter(customer=holder).values_list("received_on", flat=True)
    ) == {date(2005, month, 15) for month in range(5, 10)}
