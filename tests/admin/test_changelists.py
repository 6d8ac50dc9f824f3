from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from customers.models import Creditor, Customer
from dunning.models import Run
from payments.models import Invoice
from payments.services import credit_note_post, payment_record
from tests.admin.helpers import (
    assert_bounded_changelist,
    open_case,
    send_message,
    take_step,
)

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "customers_creditor",
    "customers_customer",
    "payments_invoice",
    "payments_payment",
    "payments_creditnote",
    "payments_ledgerentry",
    "dunning_plan",
    "dunning_case",
    "dunning_casestep",
    "dunning_run",
    "messaging_message",
    "personalisation_decision",
]


@pytest.fixture
def ledger(alice, make_invoice):
    """One claim of each kind of history: paid in part, credited, dunned."""
    first = make_invoice(alice, amount="100.00")
    second = make_invoice(alice, amount="40.00")
    payment_record(
        customer=alice,
        amount=Decimal("30"),
        currency="EUR",
        received_on=date(2025, 3, 5),
        invoice=first,
        actor="test",
    )
    credit_note_post(
        invoice=second,
        external_id="CN-1",
        amount=Decimal("10"),
        currency="EUR",
        issued_on=date(2025, 3, 5),
        actor="test",
    )
    case = open_case(first)
    send_message(take_step(case, 1, date(2025, 3, 6)))
    Run.objects.create(actor="system:test", summary={"cases": 1})


@pytest.mark.parametrize("name", CHANGELISTS)
def test_every_list_page_loads(admin_client, ledger, name):
    response = admin_client.get(reverse(f"admin:{name}_changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.parametrize("name", CHANGELISTS)
def test_every_detail_page_loads(admin_client, ledger, name):
    model = admin_client.get(reverse(f"admin:{name}_changelist")).context["cl"].model
    obj = model.objects.order_by("pk").first()

    response = admin_client.get(reverse(f"admin:{name}_change", args=[obj.pk]))

    assert response.status_code == 200


# -- The claim list on many claims ---------------------------------------------

# A fixed "today" for the overdue buckets, which count days on the local date.
TODAY = date(2025, 6, 30)


@pytest.fixture
def today(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args: TODAY)
    return TODAY


@pytest.fixture
def many_claims(alice, bob_ltd, make_invoice, today):
    """Add n claims, alternately Alice's and Bob's, 10 to 29 days overdue; every
    third without a case."""

    def add(n):
        for i in range(n):
            due_on = today - timedelta(days=10 + i % 20)
            claim = make_invoice(alice if i % 2 else bob_ltd, due_on=due_on)
            if i % 3:
                open_case(claim)

    return add


# Each search or filter matches every claim, so the page holds all of them.
CLAIM_LIST_QUERIES = [
    "q=INV",
    "q=inv-00",
    "status__exact=open&overdue=1-30",
    "creditor__id__exact={creditor}&overdue=1-30",
    "q=INV&status__exact=open&creditor__id__exact={creditor}",
]


@pytest.mark.parametrize("query", CLAIM_LIST_QUERIES)
def test_the_claim_list_searched_and_filtered_asks_a_bounded_number_of_queries(
    admin_client, many_claims, creditor, query, django_assert_max_num_queries
):
    """Fifty claims found ask no more queries than five."""
    url = reverse("admin:payments_invoice_changelist")

    assert_bounded_changelist(
        admin_client,
        f"{url}?{query.format(creditor=creditor.pk)}",
        many_claims,
        django_assert_max_num_queries,
    )


def test_the_claim_list_skips_the_count_of_every_claim(admin_client, many_claims):
    """A search counts the claims found, not also all claims in the table."""
    many_claims(3)

    response = admin_client.get(
        reverse("admin:payments_invoice_changelist"), {"q": "INV-0001"}
    )

    assert response.context["cl"].result_count == 1
    assert response.context["cl"].full_result_count is None


@pytest.fixture
def claim_found(admin_client):
    def found(query):
        response = admin_client.get(reverse("admin:payments_invoice_changelist"), query)
        assert response.status_code == 200
        return {claim.number for claim in response.context["cl"].result_list}

    return found


def test_the_claim_search_finds_number_external_id_and_customer(
    claim_found, alice, bob_ltd, make_invoice, today
):
    """Every word must match one of the claim's or its customer's fields."""
    for customer, number, external_id in [
        (alice, "R-2025-0042", "ERP-77"),
        (bob_ltd, "R-2025-0099", "ERP-78"),
    ]:
        claim = make_invoice(customer, number=number)
        Invoice.objects.filter(pk=claim.pk).update(external_id=external_id)

    assert claim_found({"q": "0042"}) == {"R-2025-0042"}
    assert claim_found({"q": "r-2025"}) == {"R-2025-0042", "R-2025-0099"}
    assert claim_found({"q": "erp-78"}) == {"R-2025-0099"}
    assert claim_found({"q": "ahrens"}) == {"R-2025-0042"}
    assert claim_found({"q": "C-BOB"}) == {"R-2025-0099"}
    assert claim_found({"q": "Bob 0099"}) == {"R-2025-0099"}
    assert claim_found({"q": "Alice 0099"}) == set()


def test_the_overdue_bucket_filter_lists_the_claims_in_it(
    claim_found, alice, make_invoice, today
):
    """A claim is overdue from the day after its due date; buckets meet at 30,
    60 and 90 days without overlapping."""
    for days_overdue in [-5, 0, 1, 30, 31, 60, 61, 90, 91, 400]:
        make_invoice(
            alice,
            number=f"D{days_overdue}",
            due_on=today - timedelta(days=days_overdue),
        )

    assert claim_found({"overdue": "not_due"}) == {"D-5", "D0"}
    assert claim_found({"overdue": "1-30"}) == {"D1", "D30"}
    assert claim_found({"overdue": "31-60"}) == {"D31", "D60"}
    assert claim_found({"overdue": "61-90"}) == {"D61", "D90"}
    assert claim_found({"overdue": "90+"}) == {"D91", "D400"}
    assert len(claim_found({})) == 10


def test_the_overdue_bucket_combines_with_status_and_creditor(
    claim_found, alice, make_invoice, creditor, today
):
    """A paid claim drops out under "open" but stays in its bucket; another
    creditor's claim drops out under the creditor."""
    other = Creditor.objects.create(
        name="Beta AG", country="DE", time_zone="Europe/Berlin"
    )
    other_customer = Customer.objects.create(
        creditor=other, external_id="C-BETA", name="Beta Kunde"
    )
    due_on = today - timedelta(days=45)
    make_invoice(alice, number="OPEN-45", due_on=due_on)
    make_invoice(other_customer, number="OTHER-45", due_on=due_on)
    paid = make_invoice(alice, number="PAID-45", due_on=due_on)
    payment_record(
        customer=alice,
        amount=paid.amount,
        currency="EUR",
        received_on=today,
        invoice=paid,
        actor="test",
    )

    in_bucket = {"overdue": "31-60"}
    assert claim_found(in_bucket) == {"OPEN-45", "OTHER-45", "PAID-45"}
    assert claim_found({**in_bucket, "status__exact": "open"}) == {
        "OPEN-45",
        "OTHER-45",
    }
    assert claim_found({**in_bucket, "creditor__id__exact": creditor.pk}) == {
        "OPEN-45",
        "PAID-45",
    }
