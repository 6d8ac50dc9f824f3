"""The providers' webhook events in the admin: read by managers and auditors."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from audit.roles import AUDITOR, CLERK, MANAGER
from payments.models import ProviderPaymentEvent
from payments.services import payment_record

pytestmark = pytest.mark.django_db

LIST = reverse("admin:payments_providerpaymentevent_changelist")


def staff(username: str, role: str) -> User:
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def events(alice):
    payment = payment_record(
        customer=alice,
        amount=Decimal("50.00"),
        currency="EUR",
        received_on=alice.creditor.local_today(),
        actor="test",
        external_id="P-1",
        source="webhook",
    )
    return [
        ProviderPaymentEvent.objects.create(
            provider="stripe",
            event_id="evt_refund_1",
            type="charge.refunded",
            payment=payment,
            outcome="payment reversed",
        ),
        ProviderPaymentEvent.objects.create(
            provider="signed",
            event_id="evt_other_2",
            type="payment.failed",
            outcome="unknown payment",
        ),
    ]


@pytest.mark.parametrize("role", [MANAGER, AUDITOR])
def test_managers_and_auditors_list_the_events_with_their_outcome(client, events, role):
    client.force_login(staff("reader", role))

    page = client.get(LIST).content.decode()

    assert "evt_refund_1" in page and "evt_other_2" in page
    assert "charge.refunded" in page and "payment reversed" in page
    assert "€50.00" in page  # the linked payment


def test_the_search_finds_an_event_by_its_id(client, events):
    client.force_login(staff("maria", MANAGER))

    page = client.get(LIST, {"q": "evt_refund_1"}).content.decode()

    assert "evt_refund_1" in page
    assert "evt_other_2" not in page


def test_nobody_edits_adds_or_deletes_an_event(client, events):
    client.force_login(User.objects.create_superuser("root", password="x"))
    event = events[0]
    change = reverse("admin:payments_providerpaymentevent_change", args=[event.pk])

    shown = client.get(change)
    posted = client.post(change, {"outcome": "edited"})
    added = client.get(reverse("admin:payments_providerpaymentevent_add"))
    deleted = client.post(
        reverse("admin:payments_providerpaymentevent_delete", args=[event.pk]),
        {"post": "yes"},
    )

    assert shown.status_code == 200
    assert 'name="_save"' not in shown.content.decode()
    assert (posted.status_code, added.status_code, deleted.status_code) == (
        403,
        403,
        403,
    )
    event.refresh_from_db()
    assert event.outcome == "payment reversed"


def test_a_clerk_does_not_see_the_events(client, events):
    client.force_login(staff("carl", CLERK))

    assert client.get(LIST).status_code == 403
    assert "providerpaymentevent" not in client.get("/admin/").content.decode()
