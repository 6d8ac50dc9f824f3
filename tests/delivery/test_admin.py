"""The delivery pages of the admin: read-only, one page per message, no N+1."""

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.roles import MANAGER
from delivery.models import Delivery

from .conftest import mailgun_payload, post_mailgun
from .test_alerts import deliveries

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client):
    user = User.objects.create_user("mona", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=MANAGER))
    client.force_login(user)
    return user


def test_the_delivery_page_lists_the_messages_events(client, manager, sent_email):
    post_mailgun(client, mailgun_payload(sent_email, "delivered"))
    delivery = Delivery.objects.get(message=sent_email)

    page = client.get(reverse("admin:delivery_delivery_change", args=[delivery.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "sent" in html and "delivered" in html and "mailgun" in html
    assert "Save" not in html


@pytest.mark.parametrize("name", ["delivery_delivery", "delivery_deliveryevent"])
def test_lists_ask_as_many_queries_for_thirty_rows_as_for_one(
    client, manager, alice, name, django_assert_max_num_queries
):
    url = reverse(f"admin:{name}_changelist")
    deliveries(alice, count=1, failed=1, hours_ago=1)
    for delivery in Delivery.objects.all():
        delivery.message.delivery_events.create(
            kind="failed", provider="twilio", occurred_at=delivery.sent_at
        )
    with CaptureQueriesContext(connection) as one_row:
        assert client.get(url).status_code == 200

    deliveries(alice, count=29, failed=29, hours_ago=1)
    for delivery in Delivery.objects.filter(message__delivery_events__isnull=True):
        delivery.message.delivery_events.create(
            kind="failed", provider="twilio", occurred_at=delivery.sent_at
        )
    with django_assert_max_num_queries(len(one_row)):
        response = client.get(url)

    counted = {
        "delivery_delivery": "30 deliveries",
        "delivery_deliveryevent": "30 delivery events",
    }
    assert counted[name] in response.content.decode()
