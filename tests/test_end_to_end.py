"""The whole cycle on the real data sets: import, run, send, pay, run again."""

import json
import subprocess
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from dunning.models import Case
from messaging.models import Message
from payments.models import Invoice, LedgerEntry

pytestmark = pytest.mark.django_db


def run(on: str) -> dict:
    out = StringIO()
    call_command("run_dunning", "--date", on, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def ibm_portfolio(ibm_file):
    call_command(
        "import_portfolio", str(ibm_file), "--format", "ibm-ar", "--as-of", "2013-06-30"
    )


def test_ibm_run_opens_cases_and_sends_on_two_channels(ibm_portfolio):
    """Electronic billers get e-mails, paper billers get letters."""
    summary = run("2013-07-15")

    assert summary["cases_opened"] > 0
    assert sum(summary["steps_taken"].values()) > 0
    assert summary["messages"].get("email", 0) > 0
    assert summary["messages"].get("letter", 0) > 0
    assert summary["dispatched"]["total"]["sent"] == sum(summary["messages"].values())
    assert (
        Message.objects.filter(status="sent").values("channel").distinct().count() >= 2
    )


def test_ibm_run_again_on_the_same_date_creates_nothing(ibm_portfolio):
    """The same date twice: no new step, message or fee."""
    run("2013-07-15")
    run("2013-07-29")
    messages = Message.objects.count()
    fees = LedgerEntry.objects.filter(kind="fee").count()

    again = run("2013-07-29")

    assert again["messages"] == {}
    assert again["steps_taken"] == {}
    assert again["fees_charged"]["count"] == 0
    assert Message.objects.count() == messages
    assert LedgerEntry.objects.filter(kind="fee").count() == fees
    assert fees > 0


def test_ibm_letter_pdf_lists_claim_numbers_and_open_amounts(ibm_portfolio):
    """The letter's text holds each claim's number and its open amount."""
    run("2013-07-15")
    letter = Message.objects.filter(channel="letter", status="sent").first()
    text = subprocess.run(
        ["pdftotext", "-layout", letter.file_path, "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    for item in letter.items.select_related("invoice"):
        invoice = item.invoice
        assert invoice.number in text
        assert invoice.display(invoice.open_amount) in text
    assert Path(letter.file_path).read_bytes().startswith(b"%PDF")


@pytest.mark.slow
def test_taiwan_portfolio_imports_and_a_run_completes(taiwan_file):
    """30,000 card holders import as consumers; the run plans every due step.

    Sending all ~27,000 e-mails is left to the dispatch job here (its own tests
    cover sending); a sample batch of them goes out at the end.
    """
    from customers.models import Customer
    from messaging.services import dispatch_due

    call_command("import_portfolio", str(taiwan_file), "--format", "uci-credit-default")
    assert Customer.objects.count() == 30_000
    open_claims = Invoice.objects.filter(status="open").count()

    out = StringIO()
    call_command(
        "run_dunning", "--date", "2005-10-31", "--plan-only", "--json", stdout=out
    )
    summary = json.loads(out.getvalue())

    assert summary["claims_examined"] == open_claims
    assert summary["cases_opened"] == Case.objects.count() > 0
    planned = Message.objects.filter(status="planned").count()
    assert planned == sum(summary["messages"].values()) > 0
    sample = list(
        Message.objects.filter(status="planned").values_list("id", flat=True)[:200]
    )
    sent = dispatch_due(message_ids=sample)
    assert sent["total"]["sent"] == 200


def test_paying_through_the_link_in_the_email_stops_all_later_messages(
    ibm_portfolio, client
):
    """The debtor opens the e-mailed link, pays everything; later runs skip them."""
    import re

    run("2013-07-15")
    email = Message.objects.filter(channel="email", status="sent").first()
    token = re.search(r"/p/([A-Za-z0-9_-]+)/", email.body).group(1)
    customer = email.customer
    open_ids = list(
        Invoice.objects.filter(customer=customer, status="open").values_list(
            "id", flat=True
        )
    )
    page = client.get(f"/p/{token}/")
    assert page.status_code == 200
    assert email.items.first().invoice.number in page.content.decode()

    checkout = client.post(f"/p/{token}/pay/", {"currency": "USD", "claims": open_ids})
    reference = checkout["Location"].rstrip("/").rsplit("/", 1)[-1]
    confirm = client.post(
        checkout["Location"], {"action": "confirm", "reference": reference}
    )
    assert confirm.status_code == 302

    assert not Invoice.objects.filter(customer=customer, status="open").exists()
    states = set(Case.objects.filter(customer=customer).values_list("state", flat=True))
    assert states == {Case.State.CLOSED_PAID}

    later = [run(day) for day in ("2013-07-29", "2013-08-12", "2013-08-26")]

    assert sum(sum(s["messages"].values()) for s in later) > 0
    assert not Message.objects.filter(
        customer=customer, action_date__gt=date(2013, 7, 15)
    ).exists()
