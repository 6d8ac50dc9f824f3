from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils.html import escape

from payments.models import CreditNote, LedgerEntry, Payment
from payments.services import credit_note_post, payment_record
from tests.admin.helpers import (
    assert_bounded_changelist,
    assert_no_raw_amounts,
    open_case,
    send_message,
    take_step,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_in_part(alice, make_invoice):
    """EUR 1,000.00 due 3 March 2025, of which 400.00 were paid."""
    invoice = make_invoice(alice, amount="1000.00", number="R-7")
    payment_record(
        customer=alice,
        amount=Decimal("400.00"),
        currency="EUR",
        received_on=date(2025, 3, 10),
        invoice=invoice,
        actor="test",
    )
    invoice.refresh_from_db()
    return invoice


def claim_show_lines(external_id: str) -> list[str]:
    out = StringIO()
    call_command("claim_show", external_id, stdout=out)
    # "Label:   text" lines, up to the message list.
    lines = out.getvalue().split("\nMessages:")[0].splitlines()
    return [tuple(part.strip() for part in line.split(":", 1)) for line in lines]


def test_the_claim_page_shows_the_same_facts_as_claim_show(admin_client, paid_in_part):
    """Principal, paid and open read the same in the admin and on the command line."""
    url = reverse("admin:payments_invoice_change", args=[paid_in_part.pk])

    response = admin_client.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    for label, text in claim_show_lines("R-7"):
        assert f'<th scope="row">{label}</th><td>{escape(text)}</td>' in html
    assert '<th scope="row">Principal</th><td>€1,000.00</td>' in html
    assert '<th scope="row">Paid</th><td>€400.00</td>' in html
    assert '<th scope="row">Open balance</th><td>€600.00</td>' in html


def test_the_claim_page_links_the_case_and_lists_the_messages(
    admin_client, paid_in_part
):
    case = open_case(paid_in_part)
    message = send_message(take_step(case, 1, date(2025, 3, 6)))

    response = admin_client.get(
        reverse("admin:payments_invoice_change", args=[paid_in_part.pk])
    )

    html = response.content.decode()
    assert reverse("admin:dunning_case_change", args=[case.pk]) in html
    assert reverse("admin:messaging_message_change", args=[message.pk]) in html
    assert "email sent (level 1, reminder" in html


def test_ledger_rows_are_shown_but_not_editable(admin_client, paid_in_part):
    """Money changes go through the services: no inputs, no delete boxes."""
    entry = LedgerEntry.objects.filter(invoice=paid_in_part, kind="payment").first()

    page = admin_client.get(
        reverse("admin:payments_invoice_change", args=[paid_in_part.pk])
    ).content.decode()

    assert "-€400.00" in page
    assert 'name="entries-0-amount"' not in page
    assert 'name="entries-0-DELETE"' not in page
    assert 'name="amount"' not in page
    assert (
        admin_client.post(
            reverse("admin:payments_ledgerentry_change", args=[entry.pk]),
            {"amount": "1"},
        ).status_code
        == 403
    )
    assert (
        admin_client.post(
            reverse("admin:payments_ledgerentry_delete", args=[entry.pk]),
            {"post": "yes"},
        ).status_code
        == 403
    )
    assert (
        admin_client.get(reverse("admin:payments_ledgerentry_add")).status_code == 403
    )
    entry.refresh_from_db()
    assert entry.amount == Decimal("-400")


def test_a_claim_cannot_be_added_by_hand(admin_client):
    """A claim without its principal ledger row would have no balance."""
    assert admin_client.get(reverse("admin:payments_invoice_add")).status_code == 403


def test_the_claim_list_shows_open_amounts_with_currency_and_case_state(
    admin_client, paid_in_part
):
    open_case(paid_in_part)

    response = admin_client.get(reverse("admin:payments_invoice_changelist"))

    html = response.content.decode()
    assert "€1,000.00" in html
    assert "€600.00" in html
    assert "In dunning" in html


def test_the_claim_list_searches_by_customer_external_id(
    admin_client, paid_in_part, bob_ltd, make_invoice
):
    make_invoice(bob_ltd, number="B-1")
    url = reverse("admin:payments_invoice_changelist")

    response = admin_client.get(url, {"q": "C-ALICE"})

    assert [i.number for i in response.context["cl"].result_list] == ["R-7"]


def test_the_customer_page_links_to_the_customers_claims(
    admin_client, paid_in_part, alice
):
    page = admin_client.get(reverse("admin:customers_customer_change", args=[alice.pk]))
    url = reverse("admin:payments_invoice_changelist")
    assert f"{url}?customer__id__exact={alice.pk}" in page.content.decode()

    response = admin_client.get(url, {"customer__id__exact": alice.pk})

    assert [i.number for i in response.context["cl"].result_list] == ["R-7"]


def test_a_payment_shows_its_allocations_read_only(admin_client, paid_in_part):
    payment = Payment.objects.get()

    response = admin_client.get(
        reverse("admin:payments_payment_change", args=[payment.pk])
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "R-7" in html
    assert "-€400.00" in html
    assert 'name="_save"' not in html


def test_a_credit_note_shows_its_allocation(admin_client, alice, make_invoice):
    invoice = make_invoice(alice, amount="80.00", number="R-8")
    credit_note_post(
        invoice=invoice,
        external_id="CN-1",
        amount=Decimal("30.00"),
        currency="EUR",
        issued_on=date(2025, 3, 1),
        actor="test",
    )
    note = CreditNote.objects.get()

    response = admin_client.get(
        reverse("admin:payments_creditnote_change", args=[note.pk])
    )

    assert response.status_code == 200
    assert "-€30.00" in response.content.decode()


def test_the_claim_list_runs_a_fixed_number_of_queries(
    admin_client, alice, bob_ltd, make_invoice, django_assert_max_num_queries
):
    """Five claims or fifty: the list page asks the same number of queries."""

    def add(count):
        for n in range(count):
            invoice = make_invoice(alice if n % 2 else bob_ltd, amount="10.00")
            if n % 3:
                open_case(invoice)

    assert_bounded_changelist(
        admin_client,
        reverse("admin:payments_invoice_changelist"),
        add,
        django_assert_max_num_queries,
    )


def test_a_clerk_edits_only_the_description_of_a_claim(admin_client, paid_in_part):
    """Free text may change; amounts and status posted alongside are ignored."""
    rows = paid_in_part.entries.count()
    url = reverse("admin:payments_invoice_change", args=[paid_in_part.pk])

    response = admin_client.post(
        url,
        {
            "description": "March delivery",
            "amount": "1",
            "open_amount": "0",
            "status": "paid",
            "entries-TOTAL_FORMS": str(rows),
            "entries-INITIAL_FORMS": str(rows),
            "entries-MIN_NUM_FORMS": "0",
            "entries-MAX_NUM_FORMS": "1000",
        },
    )

    assert response.status_code == 302
    paid_in_part.refresh_from_db()
    assert paid_in_part.description == "March delivery"
    assert (paid_in_part.amount, paid_in_part.open_amount) == (1000, 600)
    assert paid_in_part.status == "open"
    assert paid_in_part.entries.count() == rows


def test_the_money_pages_show_amounts_with_their_currency(
    client, manager, alice, paid_in_part
):
    """Claim, payment, credit note and ledger row read as money, not as the
    column's six decimals."""
    credit_note_post(
        invoice=paid_in_part,
        external_id="CN-2",
        amount=Decimal("30.00"),
        currency="EUR",
        issued_on=date(2025, 3, 12),
        actor="test",
    )
    principal = LedgerEntry.objects.get(invoice=paid_in_part, kind="principal")
    client.force_login(manager)

    claim = client.get(
        reverse("admin:payments_invoice_change", args=[paid_in_part.pk])
    ).content.decode()
    payment = client.get(
        reverse("admin:payments_payment_change", args=[Payment.objects.get().pk])
    ).content.decode()
    note = client.get(
        reverse("admin:payments_creditnote_change", args=[CreditNote.objects.get().pk])
    ).content.decode()
    entry = client.get(
        reverse("admin:payments_ledgerentry_change", args=[principal.pk])
    ).content.decode()

    assert '<div class="readonly">€1,000.00</div>' in claim
    assert '<div class="readonly">€570.00</div>' in claim
    # Each ledger row's title in the inline.
    assert "Payment -€400.00" in claim
    assert "Credit note -€30.00" in claim
    assert '<div class="readonly">€400.00</div>' in payment
    assert '<div class="readonly">€0.00</div>' in payment
    assert '<div class="readonly">€30.00</div>' in note
    assert "<h2>Principal €1,000.00</h2>" in entry
    assert '<div class="readonly">€1,000.00</div>' in entry
    for html in (claim, payment, note, entry):
        assert_no_raw_amounts(html)


def test_a_yen_claim_page_shows_no_decimals(client, manager, alice, make_invoice):
    """Yen have no minor unit: the page shows none."""
    invoice = make_invoice(alice, amount="2500", currency="JPY", number="JP-1")
    client.force_login(manager)

    html = client.get(
        reverse("admin:payments_invoice_change", args=[invoice.pk])
    ).content.decode()

    assert '<div class="readonly">¥2,500</div>' in html
    assert "Principal ¥2,500" in html
    assert "2,500.00" not in html
    assert_no_raw_amounts(html)
