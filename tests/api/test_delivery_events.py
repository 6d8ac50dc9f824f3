"""Engagement and delivery events an ERP reports about its creditors' messages."""

import pytest

from customers.models import Customer
from delivery.models import Delivery, DeliveryEvent
from messaging.models import Message
from tests.delivery.conftest import send

pytestmark = pytest.mark.django_db

URL = "/api/v1/delivery-events/"


@pytest.fixture
def sent_email(alice, make_invoice, settings):
    settings.DELIVERY_EMAIL_PROVIDER = "mailgun"
    return send(alice, make_invoice(alice, amount="120.00"))


def report(api, message, kind="opened", event_id="EV-1", **kw):
    body = {
        "event_id": event_id,
        "message": message.pk,
        "kind": kind,
        "occurred_at": "2025-04-01T10:00:00+02:00",
        **kw,
    }
    return api.post(URL, body, format="json")


def test_an_open_reported_by_the_erp_is_stored_once(api, erp, sent_email):
    """The same event id twice: one event, the second answer is 200."""
    first = report(api, sent_email)
    again = report(api, sent_email)

    assert first.status_code == 201, first.content
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    events = DeliveryEvent.objects.filter(message=sent_email, kind="opened")
    assert [(e.provider, e.provider_event_id) for e in events] == [
        (f"api:{erp[0].pk}", "EV-1")
    ]


def test_a_hard_bounce_from_the_erp_plans_the_claims_by_letter(api, sent_email):
    """The same fallback path as a provider's bounce: address bad, letter planned."""
    response = report(
        api, sent_email, kind="bounced", bounce="hard", reason="No such mailbox"
    )

    assert response.status_code == 201, response.content
    sent_email.refresh_from_db()
    assert sent_email.status == Message.Status.FAILED
    assert sent_email.status_reason.startswith("bounced (No such mailbox)")
    customer = Customer.objects.get(pk=sent_email.customer_id)
    assert customer.email_undeliverable_since is not None
    fallback = Delivery.objects.get(message=sent_email).fallback_message
    assert fallback.channel == "letter"
    assert fallback.status == Message.Status.PLANNED


def test_a_reused_event_id_for_another_status_is_a_conflict(api, sent_email):
    report(api, sent_email, kind="delivered")

    response = report(api, sent_email, kind="opened")

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert not DeliveryEvent.objects.filter(message=sent_email, kind="opened")


def test_another_creditors_message_is_unknown(beta_api, sent_email):
    """Beta's ERP cannot report on Acme's message, nor learn that it exists."""
    response = report(beta_api, sent_email)

    assert response.status_code == 400
    assert response.json()["errors"] == {"message": ["Unknown message."]}
    assert not DeliveryEvent.objects.filter(provider__startswith="api:")


def test_a_bounce_must_say_hard_or_soft(api, sent_email):
    response = report(api, sent_email, kind="bounced")

    assert response.status_code == 400
    assert "bounce" in response.json()["errors"]


@pytest.mark.parametrize(
    "occurred_at", ["0538-04-16T12:23:57Z", "2999-01-01T00:00:00Z"]
)
def test_an_event_outside_any_plausible_time_is_refused(api, sent_email, occurred_at):
    """Found by schemathesis: year 538 came back with an offset of +00:53:28."""
    response = report(api, sent_email, occurred_at=occurred_at)

    assert response.status_code == 400
    assert "occurred_at" in response.json()["errors"]
    assert not DeliveryEvent.objects.filter(message=sent_email, kind="opened").exists()
