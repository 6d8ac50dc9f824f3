import json
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from customers.models import Creditor, Customer
from payments.services import payment_record
from tests.admin.helpers import open_case, send_message, take_step

pytestmark = pytest.mark.django_db


def claim_show(*args) -> str:
    out = StringIO()
    call_command("claim_show", *args, stdout=out)
    return out.getvalue()


def claim_json(*args) -> dict:
    return json.loads(claim_show(*args, "--json"))


@pytest.fixture
def claim(alice, make_invoice):
    """EUR 1,000.00 due on 1 May 2025, a public holiday in Germany."""
    return make_invoice(alice, amount="1000.00", due_on=date(2025, 5, 1), number="R-1")


def test_it_shows_principal_paid_and_open_after_a_partial_payment(alice, claim):
    """A named partial payment reduces the open balance and counts as paid."""
    payment_record(
        customer=alice,
        amount=Decimal("400"),
        currency="EUR",
        received_on=date(2025, 5, 5),
        invoice=claim,
        actor="test",
    )

    facts = claim_json("R-1", "--as-of", "2025-05-12")

    assert facts["principal"] == "1000.00"
    assert facts["paid"] == "400.00"
    assert facts["credited"] == "0.00"
    assert facts["fees"] == "0.00"
    assert facts["interest"] == "0.00"
    assert facts["open"] == "600.00"
    assert facts["currency"] == "EUR"
    assert facts["status"] == "open"


def test_it_moves_the_due_date_past_a_holiday_and_counts_days_from_there(claim):
    """1 May is Labour Day: the claim is due on 2 May, 10 days before 12 May."""
    facts = claim_json("R-1", "--as-of", "2025-05-12")

    assert facts["due_on"] == "2025-05-01"
    assert facts["effective_due_on"] == "2025-05-02"
    assert facts["days_overdue"] == 10
    assert facts["as_of"] == "2025-05-12"


def test_it_counts_days_to_today_in_the_creditors_time_zone(
    claim, creditor, monkeypatch
):
    """At 23:30 UTC it is already the next day in Tokyo."""
    creditor.time_zone = "Asia/Tokyo"
    creditor.save()
    monkeypatch.setattr(
        "django.utils.timezone.now", lambda: datetime(2025, 5, 11, 23, 30, tzinfo=UTC)
    )

    facts = claim_json("R-1")

    assert facts["as_of"] == "2025-05-12"
    assert facts["days_overdue"] == 10


def test_it_shows_the_case_state_current_step_and_messages(claim):
    """The case's state, its current step and each message listing the claim."""
    case = open_case(claim)
    take_step(case, 1, date(2025, 5, 5))
    second = take_step(case, 2, date(2025, 5, 16))
    send_message(second, channel="letter", status="sent")

    facts = claim_json("R-1", "--as-of", "2025-05-20")

    assert facts["case_state"] == "in_dunning"
    assert facts["case_id"] == case.pk
    assert facts["plan"] == "Standard"
    assert facts["current_step"] == {"position": 2, "name": "First notice"}
    assert facts["last_step_on"] == "2025-05-16"
    assert [(m["channel"], m["status"], m["level"]) for m in facts["messages"]] == [
        ("letter", "sent", 2)
    ]
    assert facts["messages"][0]["at"] == "2025-05-16T08:00:00+00:00"


def test_a_jpy_claim_has_no_decimals(creditor):
    """Yen have no minor unit: amounts are whole numbers in JSON and in text."""
    customer = Customer.objects.create(
        creditor=creditor, external_id="C-JP", name="Kenji Sato", country="JP"
    )
    from payments.services import invoice_create

    invoice_create(
        creditor=creditor,
        customer=customer,
        external_id="JP-1",
        number="JP-1",
        currency="JPY",
        amount=Decimal("2500"),
        issued_on=date(2025, 2, 1),
        due_on=date(2025, 3, 3),
        actor="test",
    )
    payment_record(
        customer=customer,
        amount=Decimal("565"),
        currency="JPY",
        received_on=date(2025, 3, 10),
        actor="test",
    )

    facts = claim_json("JP-1", "--as-of", "2025-03-20")
    text = claim_show("JP-1", "--as-of", "2025-03-20")

    assert (facts["principal"], facts["paid"], facts["open"]) == ("2500", "565", "1935")
    assert "Open balance:       ¥1,935\n" in text
    assert "¥1,935.00" not in text


def test_the_text_output_formats_amounts_with_their_currency(alice, claim):
    """The human output uses the currency's symbol and decimals."""
    payment_record(
        customer=alice,
        amount=Decimal("400"),
        currency="EUR",
        received_on=date(2025, 5, 5),
        invoice=claim,
        actor="test",
    )

    text = claim_show("R-1", "--as-of", "2025-05-12")

    assert "Principal:          €1,000.00\n" in text
    assert "Paid:               €400.00\n" in text
    assert "Open balance:       €600.00\n" in text
    assert "Effective due date: 2025-05-02\n" in text
    assert "Case state:         no case\n" in text
    assert "Messages:           none\n" in text


def test_an_id_used_by_two_creditors_needs_the_creditor(claim, make_invoice):
    """Without --creditor the command names the creditors instead of guessing."""
    other = Creditor.objects.create(name="Beta AG")
    bert = Customer.objects.create(creditor=other, external_id="C-B", name="Bert")
    make_invoice(bert, amount="50.00", number="R-1")

    with pytest.raises(CommandError, match=r"'Acme GmbH', 'Beta AG'.*--creditor"):
        claim_show("R-1")

    facts = claim_json("R-1", "--creditor", "Beta AG", "--as-of", "2025-05-12")
    assert facts["creditor"] == "Beta AG"
    assert facts["principal"] == "50.00"


def test_an_unknown_id_is_refused():
    """An id no creditor uses is a clear error, not an empty report."""
    with pytest.raises(CommandError, match="no claim with external id 'NOPE'"):
        claim_show("NOPE")


def test_a_bad_as_of_date_is_refused(claim):
    with pytest.raises(CommandError, match="--as-of '12.05.2025' is not a date"):
        claim_show("R-1", "--as-of", "12.05.2025")


def test_before_its_issue_date_the_claim_is_not_issued_yet(claim):
    """Issued on 1 April: on 31 March it had no status, case or overdue days."""
    case = open_case(claim)
    take_step(case, 1, date(2025, 5, 5))

    text = claim_show("R-1", "--as-of", "2025-03-31")

    assert "Status:             Not issued yet on 2025-03-31\n" in text
    assert "Case state:         none on 2025-03-31\n" in text
    assert "Current step:       none\n" in text
    assert "Issue date:         2025-04-01\n" in text
    assert (
        "Days overdue:       none, not issued yet on 2025-03-31 (Europe/Berlin)\n"
        in text
    )
    assert "In dunning" not in text
    facts = claim_json("R-1", "--as-of", "2025-03-31")
    assert (facts["issued_on"], facts["as_of"]) == ("2025-04-01", "2025-03-31")
    assert facts["days_overdue"] == 0


def test_on_its_issue_date_the_claim_has_its_status(claim):
    text = claim_show("R-1", "--as-of", "2025-04-01")

    assert "Status:             Open\n" in text
    assert "Case state:         no case\n" in text
    assert "Days overdue:       0 (as of 2025-04-01, Europe/Berlin)\n" in text
