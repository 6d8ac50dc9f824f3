"""Money and languages the product cannot handle are refused, and nothing is
written: codes of ISO 4217 that are no money, amounts that are no plain decimal,
language codes that are no language."""

from datetime import timedelta

import pytest

from customers.models import Customer
from dunning.models import Promise
from payments.models import CreditNote, Invoice, LedgerEntry, Payment
from portal.texts import page_language
from tests.admin.helpers import open_case
from tests.api.conftest import invoice_item

pytestmark = pytest.mark.django_db

PLAIN = "Must be a plain decimal such as 1234.50 (no exponent, NaN or infinity)."

# ISO 4217 lists them, but nobody pays a claim in them.
NOT_MONEY = {
    "XXX": "XXX (Unknown Currency) is not a currency a claim can be paid in.",
    "XAU": "XAU (Gold) is not a currency a claim can be paid in.",
    "XAG": "XAG (Silver) is not a currency a claim can be paid in.",
    "XPT": "XPT (Platinum) is not a currency a claim can be paid in.",
    "XPD": "XPD (Palladium) is not a currency a claim can be paid in.",
    "XTS": "XTS (Testing Currency Code) is not a currency a claim can be paid in.",
    "XDR": "XDR (Special Drawing Rights) is not a currency a claim can be paid in.",
    "XSU": "XSU (Sucre) is not a currency a claim can be paid in.",
    "CHE": "CHE (WIR Euro) is not a currency a claim can be paid in.",
    "USN": "USN (US Dollar (Next day)) is not a currency a claim can be paid in.",
}


def bulk(api, what: str, *items):
    return api.post(f"/api/v1/{what}/bulk/", {"items": list(items)}, format="json")


def item_errors(response) -> dict:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid_batch"
    [item] = body["items"]
    return item["errors"]


def nothing_written():
    return (
        Invoice.objects.count(),
        LedgerEntry.objects.count(),
        Payment.objects.count(),
        CreditNote.objects.count(),
    ) == (0, 0, 0, 0)


def payment_item(**kw) -> dict:
    return {
        "external_id": "PAY-1",
        "customer_external_id": "C-ALICE",
        "amount": "40.00",
        "currency": "EUR",
        "received_on": "2025-03-10",
        **kw,
    }


def credit_note_item(**kw) -> dict:
    return {
        "external_id": "CN-1",
        "invoice_external_id": "INV-1",
        "amount": "10.00",
        "issued_on": "2025-03-10",
        **kw,
    }


# --- currencies --------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(NOT_MONEY))
def test_a_claim_in_a_code_that_is_no_money_is_refused(api, alice, code):
    response = bulk(api, "invoices", invoice_item(1, currency=code))

    assert item_errors(response) == {"currency": [NOT_MONEY[code]]}
    assert nothing_written()


@pytest.mark.parametrize("code", ["XAU", "XXX", "XDR"])
def test_a_payment_in_a_code_that_is_no_money_is_refused(api, alice, code):
    response = bulk(api, "payments", payment_item(currency=code))

    assert item_errors(response) == {"currency": [NOT_MONEY[code]]}
    assert nothing_written()


def test_a_credit_note_in_a_code_that_is_no_money_is_refused(api, alice, make_invoice):
    make_invoice(alice, number="INV-1")

    response = bulk(api, "credit-notes", credit_note_item(currency="XTS"))

    assert item_errors(response) == {"currency": [NOT_MONEY["XTS"]]}
    assert CreditNote.objects.count() == 0
    assert LedgerEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ABC", "ABC is not an ISO 4217 currency."),
        ("BTC", "BTC is not an ISO 4217 currency."),
        ("eur", "'eur' is not an ISO 4217 code (three capital letters, e.g. EUR)."),
    ],
)
def test_a_code_that_is_no_iso_currency_is_refused(api, alice, code, message):
    response = bulk(api, "invoices", invoice_item(1, currency=code))

    assert item_errors(response) == {"currency": [message]}
    assert nothing_written()


@pytest.mark.parametrize(
    ("code", "amount"),
    [("EUR", "100.00"), ("JPY", "1200"), ("XOF", "5000"), ("XCD", "12.50")],
)
def test_currencies_that_are_money_are_booked(api, alice, code, amount):
    """The CFA franc and the East Caribbean dollar are X-codes, and money."""
    response = bulk(api, "invoices", invoice_item(1, currency=code, amount=amount))

    assert response.status_code == 200, response.content
    assert Invoice.objects.get().currency == code


# --- amounts -----------------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    ["1e3", "1E3", "1e-2", "NaN", "Infinity", "-Infinity", "1_000", "١٠٠", "0x10"],
)
def test_a_claim_amount_that_is_no_plain_decimal_is_refused(api, alice, amount):
    response = bulk(api, "invoices", invoice_item(1, amount=amount))

    assert item_errors(response) == {"amount": [PLAIN]}
    assert nothing_written()


@pytest.mark.parametrize(
    ("what", "item"),
    [
        ("payments", payment_item(amount="4e1")),
        ("credit-notes", credit_note_item(amount="1e1")),
    ],
)
def test_payments_and_credit_notes_refuse_exponents_too(
    api, alice, make_invoice, what, item
):
    make_invoice(alice, number="INV-1")

    response = bulk(api, what, item)

    assert item_errors(response) == {"amount": [PLAIN]}
    assert Payment.objects.count() == CreditNote.objects.count() == 0
    assert LedgerEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("currency", "amount", "message"),
    [
        ("EUR", "-0", "Must be positive."),
        ("EUR", "0.00", "Must be positive."),
        ("EUR", "100.001", "Has more decimals than EUR allows."),
        ("JPY", "1200.5", "Has more decimals than JPY allows."),
        ("KWD", "1.0005", "Has more decimals than KWD allows."),
        (
            "EUR",
            "1000000000000",
            "Ensure that there are no more than 12 digits before the decimal point.",
        ),
        (
            "EUR",
            "1" * 1001,
            "String value too large.",
        ),
    ],
)
def test_a_claim_amount_outside_the_currency_s_units_is_refused(
    api, alice, currency, amount, message
):
    response = bulk(api, "invoices", invoice_item(1, currency=currency, amount=amount))

    assert item_errors(response) == {"amount": [message]}
    assert nothing_written()


@pytest.mark.parametrize("amount", ["100.00", "100", 100, 100.0, "0100.00"])
def test_plain_amounts_as_strings_and_numbers_are_booked(api, alice, amount):
    response = bulk(api, "invoices", invoice_item(1, amount=amount))

    assert response.status_code == 200, response.content
    assert str(Invoice.objects.get().amount) == "100.000000"


def test_a_credit_note_without_currency_keeps_to_the_claim_s_decimals(
    api, alice, make_invoice
):
    """¥10.5 off a yen claim is refused, not rounded to ¥11."""
    make_invoice(alice, number="INV-1", currency="JPY", amount="5000")

    response = bulk(api, "credit-notes", credit_note_item(amount="10.5"))

    assert item_errors(response) == {"amount": ["Has more decimals than JPY allows."]}
    assert CreditNote.objects.count() == 0
    assert LedgerEntry.objects.count() == 1


def test_a_promise_in_exponent_form_is_refused(api, alice, make_invoice):
    today = alice.creditor.local_today()
    invoice = make_invoice(alice, amount="120.00", due_on=today - timedelta(days=21))
    case = open_case(invoice)

    response = api.post(
        f"/api/v1/cases/{case.pk}/promise/",
        {"promised_on": str(today + timedelta(days=7)), "amount": "5e1"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"amount": [PLAIN]}
    assert not Promise.objects.exists()
    case.refresh_from_db()
    assert case.state == "in_dunning"


# --- languages ---------------------------------------------------------------


def customer_item(**kw) -> dict:
    return {"external_id": "C-NEW", "name": "Chloé Dubois", **kw}


@pytest.mark.parametrize("code", ["xx", "qa", "zz"])
def test_a_customer_language_that_is_no_language_is_refused(api, creditor, code):
    response = bulk(api, "customers", customer_item(language=code))

    assert item_errors(response) == {
        "language": [f"'{code}' is not a language code such as en, de or fr."]
    }
    assert not Customer.objects.exists()


def test_a_changed_language_that_is_no_language_leaves_the_customer(api, alice):
    response = bulk(
        api,
        "customers",
        {"external_id": "C-ALICE", "name": alice.name, "language": "xx"},
    )

    assert item_errors(response) == {
        "language": ["'xx' is not a language code such as en, de or fr."]
    }
    alice.refresh_from_db()
    assert alice.language == "de"


def test_a_language_without_texts_of_its_own_is_kept_and_reads_english(api, creditor):
    """French is a language: it is stored, and messages and the page are English."""
    response = bulk(api, "customers", customer_item(language="fr"))

    assert response.status_code == 200, response.content
    customer = Customer.objects.get(external_id="C-NEW")
    assert customer.language == "fr"
    assert page_language(customer.language) == "en"


@pytest.mark.parametrize("code", ["EN", "de_AT", "deutsch"])
def test_a_language_written_otherwise_gets_one_clear_answer(api, creditor, code):
    response = bulk(api, "customers", customer_item(language=code))

    assert item_errors(response) == {
        "language": [f"'{code}' is not a language code such as en, de or fr."]
    }
    assert not Customer.objects.exists()


def test_a_language_with_its_region_is_kept_and_reads_as_the_language(api, creditor):
    """de-AT is German as written in Austria: stored, and the page is German."""
    response = bulk(api, "customers", customer_item(language="de-AT"))

    assert response.status_code == 200, response.content
    customer = Customer.objects.get(external_id="C-NEW")
    assert customer.language == "de-AT"
    assert page_language(customer.language) == "de"


# --- dates -------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("issued_on", "0001-01-01"),
        ("issued_on", "0202-03-01"),
        ("due_on", "3025-03-01"),
    ],
)
def test_a_claim_dated_outside_the_books_years_is_refused(api, alice, field, value):
    """A mistyped year is refused, not dunned for two thousand years."""
    response = bulk(api, "invoices", invoice_item(1, **{field: value}))

    assert item_errors(response) == {field: [f"The date {value} is outside 1900-2999."]}
    assert nothing_written()


def test_a_payment_dated_outside_the_books_years_is_refused(api, alice):
    response = bulk(api, "payments", payment_item(received_on="0025-03-10"))

    assert item_errors(response) == {
        "received_on": ["The date 0025-03-10 is outside 1900-2999."]
    }
    assert nothing_written()
