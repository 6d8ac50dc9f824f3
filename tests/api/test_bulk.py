"""Bulk upserts over real HTTP: all or nothing, and idempotent by external id."""

from decimal import Decimal

import pytest
import requests

from customers.models import Customer
from payments.models import CreditNote, Invoice, LedgerEntry, Payment
from tests.api.conftest import invoice_item

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def post(live_server, token):
    def send(path, body, **headers):
        return requests.post(
            f"{live_server.url}/api/v1/{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}", **headers},
            timeout=30,
        )

    return send


def snapshot():
    """Every row the claim upsert writes, with the columns a write would touch."""
    return (
        list(
            Invoice.objects.order_by("id").values_list(
                "id", "number", "description", "open_amount", "updated_at"
            )
        ),
        list(LedgerEntry.objects.order_by("id").values_list("id", "amount")),
    )


def test_a_batch_of_claims_is_booked_with_its_ledger(post, alice):
    """Each new claim gets its principal ledger row and an open balance."""
    items = [invoice_item(n, amount=f"{n}0.50") for n in range(1, 6)]

    response = post("invoices/bulk/", {"items": items})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (5, 0, 0)
    assert [item["index"] for item in body["items"]] == [0, 1, 2, 3, 4]
    invoice = Invoice.objects.get(external_id="INV-00003")
    assert invoice.open_amount == Decimal("30.50")
    assert invoice.entries.get().kind == LedgerEntry.Kind.PRINCIPAL


def test_the_same_batch_twice_changes_nothing(post, alice):
    """The second request finds every claim unchanged and writes no row."""
    items = [invoice_item(n) for n in range(1, 21)]
    assert post("invoices/bulk/", {"items": items}).status_code == 200
    before = snapshot()

    response = post("invoices/bulk/", {"items": items})

    assert response.status_code == 200
    assert response.json()["unchanged"] == 20
    assert snapshot() == before


def test_a_half_bad_batch_writes_nothing_and_names_every_bad_item(post, alice):
    """Items 3 and 7 are wrong: the response lists both, no claim is booked."""
    items = [invoice_item(n) for n in range(10)]
    items[3]["amount"] = "12.345"
    items[7]["customer_external_id"] = "C-NOBODY"
    items[7]["due_on"] = "2025-13-01"

    response = post("invoices/bulk/", {"items": items})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_batch"
    assert [item["index"] for item in body["items"]] == [3, 7]
    assert body["items"][0]["external_id"] == "INV-00003"
    assert "amount" in body["items"][0]["errors"]
    assert "due_on" in body["items"][1]["errors"]
    assert Invoice.objects.count() == 0
    assert LedgerEntry.objects.count() == 0


def test_unknown_customers_are_found_for_valid_items_too(post, alice):
    """Field errors and database checks are reported in the same response."""
    items = [invoice_item(0, amount="-1"), invoice_item(1, customer="C-NOBODY")]

    body = post("invoices/bulk/", {"items": items}).json()

    assert [item["index"] for item in body["items"]] == [0, 1]
    assert body["items"][1]["errors"] == {
        "customer_external_id": ["Unknown customer 'C-NOBODY'."]
    }


def test_a_booked_claim_keeps_its_amount(post, alice):
    """Changing money of a booked claim is refused; its description may change."""
    post("invoices/bulk/", {"items": [invoice_item(1)]})

    refused = post("invoices/bulk/", {"items": [invoice_item(1, amount="90.00")]})
    renamed = post(
        "invoices/bulk/", {"items": [invoice_item(1, description="Order 77")]}
    )

    assert refused.status_code == 400
    assert "amount" in refused.json()["items"][0]["errors"]
    assert renamed.json()["updated"] == 1
    invoice = Invoice.objects.get()
    assert (invoice.amount, invoice.description) == (Decimal("100"), "Order 77")


def test_a_repeated_external_id_in_one_batch_is_refused(post, alice):
    response = post("invoices/bulk/", {"items": [invoice_item(1), invoice_item(1)]})

    assert response.status_code == 400
    assert response.json()["items"][0]["index"] == 1


def test_more_than_a_thousand_items_are_refused(post, alice):
    items = [invoice_item(n) for n in range(1001)]

    response = post("invoices/bulk/", {"items": items})

    assert response.status_code == 400
    assert "items" in response.json()["errors"]
    assert Invoice.objects.count() == 0


def test_customers_are_created_then_updated_field_by_field(post, creditor):
    """Fields left out stay; a new e-mail address clears an old bounce."""
    first = {
        "external_id": "C-1",
        "name": "Carla Cruz",
        "email": "carla@example.com",
        "language": "de",
    }
    post("customers/bulk/", {"items": [first]})
    Customer.objects.update(email_undeliverable_since="2025-01-01T00:00:00Z")

    response = post(
        "customers/bulk/",
        {"items": [{"external_id": "C-1", "name": "Carla Cruz", "email": "c@x.org"}]},
    )

    assert response.json()["updated"] == 1
    customer = Customer.objects.get(external_id="C-1")
    assert (customer.email, customer.language) == ("c@x.org", "de")
    assert customer.email_undeliverable_since is None


def test_a_customer_s_region_is_stored_and_checked_against_its_country(post, creditor):
    """BY is a region of DE; sent alone it is checked against the stored country."""
    created = post(
        "customers/bulk/",
        {"items": [{"external_id": "C-1", "name": "Anna Bauer", "subdivision": "BY"}]},
    )
    moved = post(
        "customers/bulk/",
        {"items": [{"external_id": "C-1", "name": "Anna Bauer", "country": "FR"}]},
    )

    assert created.json()["created"] == 1
    assert moved.status_code == 400
    refused = moved.json()["items"][0]
    assert refused["errors"]["subdivision"][0].startswith("'BY' is not a region of FR")
    customer = Customer.objects.get(external_id="C-1")
    assert (customer.country, customer.subdivision) == ("DE", "BY")


def test_payments_are_allocated_through_the_ledger(post, alice, sync_tasks):
    """A payment settles the oldest claim first; the same payment twice is one."""
    post(
        "invoices/bulk/",
        {
            "items": [
                invoice_item(1, amount="60.00", due_on="2025-03-01"),
                invoice_item(2, amount="50.00", due_on="2025-04-01"),
            ]
        },
    )
    payment = {
        "external_id": "PAY-1",
        "customer_external_id": "C-ALICE",
        "amount": "80.00",
        "currency": "EUR",
        "received_on": "2025-04-10",
    }

    first = post("payments/bulk/", {"items": [payment]})
    again = post("payments/bulk/", {"items": [payment]})

    assert first.json()["created"] == 1
    assert again.json()["unchanged"] == 1
    assert Payment.objects.get().source == "api"
    open_amounts = dict(Invoice.objects.values_list("external_id", "open_amount"))
    assert open_amounts == {"INV-00001": Decimal("0"), "INV-00002": Decimal("30")}


def test_a_changed_payment_is_refused(post, alice, sync_tasks):
    post("invoices/bulk/", {"items": [invoice_item(1)]})
    payment = {
        "external_id": "PAY-1",
        "customer_external_id": "C-ALICE",
        "amount": "10.00",
        "currency": "EUR",
        "received_on": "2025-04-10",
    }
    post("payments/bulk/", {"items": [payment]})

    response = post("payments/bulk/", {"items": [{**payment, "amount": "11.00"}]})

    assert response.status_code == 400
    assert "amount" in response.json()["items"][0]["errors"]
    assert Payment.objects.get().amount == Decimal("10")


def test_a_ledger_refusal_rolls_back_the_whole_batch(post, alice, sync_tasks):
    """The second note exceeds what the first left open: neither is booked."""
    post("invoices/bulk/", {"items": [invoice_item(1, amount="100.00")]})
    notes = [
        {
            "external_id": f"CN-{n}",
            "invoice_external_id": "INV-00001",
            "amount": "60.00",
            "issued_on": "2025-03-10",
        }
        for n in (1, 2)
    ]

    response = post("credit-notes/bulk/", {"items": notes})

    assert response.status_code == 400
    assert [item["index"] for item in response.json()["items"]] == [1]
    assert CreditNote.objects.count() == 0
    assert Invoice.objects.get().open_amount == Decimal("100")
