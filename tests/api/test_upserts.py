"""What a refused batch item says: booked amounts in their currency's decimals."""

import pytest

from payments.models import CreditNote, Invoice, Payment
from tests.api.conftest import invoice_item

pytestmark = pytest.mark.django_db


def errors_of(response) -> dict:
    assert response.status_code == 400, response.content
    (item,) = response.json()["items"]
    return item["errors"]


def test_a_changed_claim_amount_names_the_booked_amount(api, alice):
    """The booked amount reads "100.00 EUR", not the column's "100.000000"."""
    api.post("/api/v1/invoices/bulk/", {"items": [invoice_item(1)]}, format="json")

    response = api.post(
        "/api/v1/invoices/bulk/",
        {"items": [invoice_item(1, amount="120.00")]},
        format="json",
    )

    assert errors_of(response) == {
        "amount": [
            "Booked as 100.00 EUR; a booked claim keeps its customer, money and "
            "dates (correct it with a credit note)."
        ]
    }
    assert Invoice.objects.get().amount == 100


def test_a_yen_claim_is_named_without_decimals(api, alice):
    api.post(
        "/api/v1/invoices/bulk/",
        {"items": [invoice_item(1, currency="JPY", amount="1200")]},
        format="json",
    )

    response = api.post(
        "/api/v1/invoices/bulk/",
        {"items": [invoice_item(1, currency="JPY", amount="1300")]},
        format="json",
    )

    assert errors_of(response)["amount"][0].startswith("Booked as 1200 JPY;")


def test_a_changed_payment_names_the_recorded_amount(api, alice, sync_tasks):
    payment = {
        "external_id": "PAY-1",
        "customer_external_id": "C-ALICE",
        "amount": "10.00",
        "currency": "EUR",
        "received_on": "2025-04-10",
    }
    api.post("/api/v1/payments/bulk/", {"items": [payment]}, format="json")

    response = api.post(
        "/api/v1/payments/bulk/",
        {"items": [{**payment, "amount": "11.00"}]},
        format="json",
    )

    assert errors_of(response) == {
        "amount": ["Recorded before as 10.00 EUR; a booked record does not change."]
    }
    assert Payment.objects.get().amount == 10


def test_credit_notes_name_amounts_in_the_claims_currency(api, alice, sync_tasks):
    """A changed note and one above the open principal both read as money."""
    api.post(
        "/api/v1/invoices/bulk/",
        {"items": [invoice_item(1, amount="100.00")]},
        format="json",
    )
    note = {
        "external_id": "CN-1",
        "invoice_external_id": "INV-00001",
        "amount": "60.00",
        "issued_on": "2025-03-10",
    }
    api.post("/api/v1/credit-notes/bulk/", {"items": [note]}, format="json")

    changed = api.post(
        "/api/v1/credit-notes/bulk/",
        {"items": [{**note, "amount": "70.00"}]},
        format="json",
    )
    too_much = api.post(
        "/api/v1/credit-notes/bulk/",
        {"items": [{**note, "external_id": "CN-2", "amount": "50.00"}]},
        format="json",
    )

    assert errors_of(changed) == {
        "amount": ["Recorded before as 60.00 EUR; a booked record does not change."]
    }
    assert errors_of(too_much) == {
        "non_field_errors": [
            "Credit note CN-2 (€50.00) exceeds the open principal of claim "
            "INV-00001 (€40.00)."
        ]
    }
    assert list(CreditNote.objects.values_list("external_id", "amount")) == [
        ("CN-1", 60)
    ]
