"""The lean claim check accepts exactly what the serializer accepts, or defers."""

from datetime import date
from decimal import Decimal

import pytest
from rest_framework.exceptions import ValidationError

from api import lean
from api.serializers import InvoiceItemSerializer
from tests.api.conftest import invoice_item

VALID = [
    invoice_item(1),
    invoice_item(2, amount="0.01", number="R-2", description="Rechnung für März"),
    invoice_item(3, amount="999999999999.99", number="", description=""),
    invoice_item(4, currency="JPY", amount="1200"),
    invoice_item(5, currency="KWD", amount="1.125"),
    invoice_item(6, issued_on="2025-03-03", due_on="2025-03-03"),
    {**invoice_item(7), "unknown": "ignored, as the serializer does"},
]

# Each is valid for the serializer but unusual: the lean check defers.
UNUSUAL = [
    invoice_item(8, amount=100),
    invoice_item(9, amount=" 100.00"),
    invoice_item(10, external_id=" INV-10 "),
    invoice_item(11, amount="0000000000000.50"),
    invoice_item(12, issued_on="20250201"),
]

INVALID = [
    invoice_item(20, amount="-1.00"),
    invoice_item(21, amount="0"),
    invoice_item(22, amount="1.001"),
    invoice_item(23, currency="JPY", amount="1.5"),
    invoice_item(24, currency="XYZ"),
    invoice_item(25, currency="eur"),
    invoice_item(26, issued_on="2025-04-01"),
    invoice_item(27, due_on="2025-02-30"),
    invoice_item(28, external_id=""),
    invoice_item(29, external_id="x" * 101),
    invoice_item(30, number=None),
    invoice_item(31, description="x" * 301),
    invoice_item(32, customer_external_id="C\x00"),
    invoice_item(33, amount="NaN"),
    invoice_item(34, amount="1e3"),
    invoice_item(36, amount="١٠٠.٠٠"),
    invoice_item(37, currency="XAU"),
    invoice_item(38, currency="XXX"),
    {"external_id": "INV-35"},
    ["not", "an", "object"],
]


def serializer_says(item):
    try:
        return dict(InvoiceItemSerializer().run_validation(item))
    except ValidationError:
        return None


@pytest.mark.parametrize("item", VALID)
def test_a_plain_claim_is_checked_to_the_serializers_values(item):
    """Same keys, same values (amounts quantized as DecimalField does)."""
    checked = lean.invoice_item(item)

    assert checked is not None
    assert checked == serializer_says(item)
    assert str(checked["amount"]) == str(serializer_says(item)["amount"])


def test_the_values_are_typed():
    checked = lean.invoice_item(invoice_item(1, amount="120.50"))

    assert checked["amount"] == Decimal("120.50")
    assert checked["issued_on"] == date(2025, 2, 1)


@pytest.mark.parametrize("item", UNUSUAL + INVALID)
def test_anything_else_is_left_to_the_serializer(item):
    assert lean.invoice_item(item) is None


@pytest.mark.parametrize("item", INVALID)
def test_the_deferred_invalid_items_are_invalid_for_the_serializer(item):
    """So their errors are the serializer's own messages."""
    assert serializer_says(item) is None


@pytest.mark.parametrize(
    "body",
    [
        {"items": []},
        {"items": [{}] * 1001},
        {"items": "x"},
        {"creditor": "1", "items": [{}]},
        {"creditor": None, "items": [{}]},
        {"creditor": True, "items": [{}]},
        ["items"],
    ],
)
def test_an_unusual_envelope_is_left_to_the_serializer(body):
    assert lean.envelope(body) is None


def test_a_plain_envelope_passes_as_it_is():
    items = [invoice_item(1)]

    assert lean.envelope({"creditor": 7, "items": items}) == {
        "creditor": 7,
        "items": items,
    }
    assert lean.envelope({"items": items}) == {"items": items}
