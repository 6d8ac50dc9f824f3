from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from dunning.models import Run
from payments.services import credit_note_post, payment_record
from tests.admin.helpers import open_case, send_message, take_step

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
