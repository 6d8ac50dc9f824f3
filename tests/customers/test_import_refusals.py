"""The CSV import refuses what the API refuses: codes of ISO 4217 that are no
money, amounts that are no plain decimal, language codes that are no language."""

import pytest
from django.core.management.base import CommandError

from customers.models import Creditor, Customer
from payments.models import CreditNote, Invoice, LedgerEntry, Payment
from tests.customers.test_import import INVOICE_HEADER, run_import, write

pytestmark = pytest.mark.django_db

BOOKING_HEADER = "type,external_id,customer_id,invoice_id,amount,currency,date\n"


def invoice_row(language="de", currency="EUR", amount="100.00") -> str:
    return (
        f"C1,Alice Ahrens,consumer,alice@example.com,,DE,{language},Europe/Berlin,"
        f"1985,INV-1,{currency},{amount},2025-01-10,2025-02-10\n"
    )


def refusal(*paths) -> str:
    with pytest.raises(CommandError) as error:
        run_import(*paths, "--format", "csv")
    return str(error.value)


def nothing_imported() -> bool:
    return not (
        Creditor.objects.exists()
        or Customer.objects.exists()
        or Invoice.objects.exists()
        or LedgerEntry.objects.exists()
        or Payment.objects.exists()
        or CreditNote.objects.exists()
    )


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("XAU", "XAU (Gold) is not a currency a claim can be paid in."),
        ("XXX", "XXX (Unknown Currency) is not a currency a claim can be paid in."),
        (
            "XDR",
            "XDR (Special Drawing Rights) is not a currency a claim can be paid in.",
        ),
        ("ABC", "ABC is not an ISO 4217 currency."),
    ],
)
def test_a_claim_in_a_code_that_is_no_money_imports_nothing(tmp_path, code, reason):
    path = write(tmp_path, "invoices.csv", INVOICE_HEADER + invoice_row(currency=code))

    message = refusal(path)

    assert f"invoices.csv line 2: currency: {reason}" in message
    assert nothing_imported()


def test_a_payment_in_a_code_that_is_no_money_imports_nothing(tmp_path):
    invoices = write(tmp_path, "invoices.csv", INVOICE_HEADER + invoice_row())
    bookings = write(
        tmp_path,
        "payments.csv",
        BOOKING_HEADER + "payment,PAY-1,C1,,40,XAG,2025-03-01\n",
    )

    message = refusal(invoices, bookings)

    assert (
        "payments.csv line 2: currency: XAG (Silver) is not a currency a claim can "
        "be paid in." in message
    )
    assert nothing_imported()


@pytest.mark.parametrize("amount", ["1e2", "1E2", "NaN", "Infinity", "1_00", "١٠٠"])
def test_an_amount_that_is_no_plain_decimal_imports_nothing(tmp_path, amount):
    path = write(tmp_path, "invoices.csv", INVOICE_HEADER + invoice_row(amount=amount))

    message = refusal(path)

    assert (
        f"invoices.csv line 2: amount '{amount}' is not a plain decimal such as "
        "1234.50 (no exponent, NaN or infinity)" in message
    )
    assert nothing_imported()


def test_a_credit_note_in_exponent_form_imports_nothing(tmp_path):
    invoices = write(tmp_path, "invoices.csv", INVOICE_HEADER + invoice_row())
    bookings = write(
        tmp_path,
        "payments.csv",
        BOOKING_HEADER + "credit_note,CN-1,C1,INV-1,1e1,,2025-03-01\n",
    )

    message = refusal(invoices, bookings)

    assert "payments.csv line 2: amount '1e1' is not a plain decimal" in message
    assert nothing_imported()


@pytest.mark.parametrize("code", ["xx", "qa", "de-XX"])
def test_a_language_that_is_no_language_imports_nothing(tmp_path, code):
    path = write(tmp_path, "invoices.csv", INVOICE_HEADER + invoice_row(language=code))

    message = refusal(path)

    assert (
        f"invoices.csv line 2: language: '{code}' is not a language code such as "
        "en, de or fr." in message
    )
    assert nothing_imported()


@pytest.mark.parametrize("code", ["fr", "de-AT", "zh"])
def test_a_real_language_is_imported_as_written(tmp_path, code):
    path = write(tmp_path, "invoices.csv", INVOICE_HEADER + invoice_row(language=code))

    run_import(path, "--format", "csv")

    assert Customer.objects.get().language == code


@pytest.mark.parametrize("amount", ["1000000000000", "1" * 40])
def test_an_amount_beyond_the_ledger_s_digits_imports_nothing(tmp_path, amount):
    """The ledger holds 12 digits before the decimal point."""
    path = write(tmp_path, "invoices.csv", INVOICE_HEADER + invoice_row(amount=amount))

    message = refusal(path)

    assert (
        f"invoices.csv line 2: amount '{amount}' is too large (at most 12 digits "
        "before the decimal point)" in message
    )
    assert nothing_imported()


def test_a_claim_dated_outside_the_books_years_imports_nothing(tmp_path):
    """A year typed 0202 is refused, not dunned for eighteen centuries."""
    row = invoice_row().replace("2025-01-10", "0202-01-10")
    path = write(tmp_path, "invoices.csv", INVOICE_HEADER + row)

    message = refusal(path)

    assert "invoices.csv line 2: issued_on 0202-01-10 is outside 1900-2999" in message
    assert nothing_imported()
