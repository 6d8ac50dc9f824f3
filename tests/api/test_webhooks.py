"""Outbound webhooks: signed deliveries, retries with backoff, re-sending."""

import http.server
import re
import threading
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from django_q.models import Schedule

from api import webhooks
from api.events import emit
from api.models import ApiClient, Delivery, EventType, Subscription, token_hash
from tests.admin.helpers import open_case
from tests.api.conftest import make_client

pytestmark = pytest.mark.django_db

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "API.md"


def documented_recipe():
    """`verify_webhook` exactly as docs/API.md prints it for receivers."""
    text = API_DOC.read_text()
    code = re.search(r"<!-- recipe:verify -->\s*```python\n(.*?)```", text, re.S)
    namespace = {}
    exec(code.group(1), namespace)  # noqa: S102 - our own documentation
    return namespace["verify_webhook"]


class Receiver(http.server.BaseHTTPRequestHandler):
    answer = 200
    received: list

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(self.answer)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    """An HTTP endpoint on the loopback that records what it is sent."""
    handler = type("Handler", (Receiver,), {"received": [], "answer": 200})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_port}/hooks"
    yield handler
    server.shutdown()
    server.server_close()


@pytest.fixture
def subscription(erp, receiver):
    client, _token = erp
    return Subscription.objects.create(
        client=client,
        url=receiver.url,
        event_types=[EventType.DISPUTE_OPENED, EventType.CASE_CLOSED],
    )


@pytest.fixture
def case(alice, make_invoice):
    return open_case(make_invoice(alice, amount="120.00"))


def dispute(api, case):
    return api.post(
        f"/api/v1/cases/{case.pk}/dispute/", {"reason": "damaged"}, format="json"
    )


def test_an_event_is_delivered_signed_and_verifies_with_the_recipe(
    api, case, subscription, receiver, sync_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        dispute(api, case)

    ((headers, body),) = receiver.received
    verify_webhook = documented_recipe()
    assert verify_webhook(subscription.secret, body, headers["X-Dunning-Signature"])
    assert webhooks.verify(subscription.secret, body, headers["X-Dunning-Signature"])
    assert headers["X-Dunning-Event"] == "dispute.opened"
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (
        "delivered",
        1,
        200,
    )
    assert delivery.payload["data"]["case"] == case.pk
    assert headers["X-Dunning-Event-Id"] == delivery.payload["id"]


def test_an_old_timestamp_is_refused_as_a_replay(subscription):
    """A correct HMAC over a timestamp six minutes old does not verify."""
    body = b'{"type":"case.closed"}'
    six_minutes_ago = time.time() - 360
    old = webhooks.signature_header(subscription.secret, body, now=six_minutes_ago)
    fresh = webhooks.signature_header(subscription.secret, body)
    verify_webhook = documented_recipe()

    assert not verify_webhook(subscription.secret, body, old)
    assert not webhooks.verify(subscription.secret, body, old)
    assert verify_webhook(subscription.secret, body, fresh)


def test_a_changed_body_or_another_secret_does_not_verify(subscription):
    body = b'{"amount":"10.00"}'
    header = webhooks.signature_header(subscription.secret, body)
    verify_webhook = documented_recipe()

    assert not verify_webhook(subscription.secret, b'{"amount":"99.00"}', header)
    assert not verify_webhook("whsec_other", body, header)
    assert not verify_webhook(subscription.secret, body, "v1=abc")


def test_a_failed_delivery_is_retried_with_backoff(
    api, case, subscription, receiver, sync_tasks, django_capture_on_commit_callbacks
):
    """A 500 leaves the delivery pending with the next attempt scheduled."""
    receiver.answer = 500

    with django_capture_on_commit_callbacks(execute=True):
        dispute(api, case)

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (
        "pending",
        1,
        500,
    )
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 50 < wait <= webhooks.BACKOFF[0]
    retry = Schedule.objects.get(name=f"webhook-delivery-{delivery.pk}-1")
    assert (retry.func, retry.args) == ("api.tasks.delivery_send", f"({delivery.pk},)")


def test_a_delivery_is_given_up_after_the_last_attempt(subscription, receiver):
    receiver.answer = 503
    emit(EventType.CASE_CLOSED, subscription.client.creditors.get(), {"case": 1})
    delivery = Delivery.objects.get()

    for _ in range(webhooks.MAX_ATTEMPTS):
        webhooks.delivery_send(delivery.pk)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", webhooks.MAX_ATTEMPTS)
    assert delivery.next_attempt_at is None
    assert len(receiver.received) == webhooks.MAX_ATTEMPTS


def test_the_admin_sends_a_delivery_again(client, subscription, receiver, sync_tasks):
    receiver.answer = 500
    emit(EventType.CASE_CLOSED, subscription.client.creditors.get(), {"case": 1})
    delivery = Delivery.objects.get()
    webhooks.delivery_send(delivery.pk)
    receiver.answer = 200
    client.force_login(User.objects.create_superuser("root", password="x"))

    response = client.post(
        "/admin/api/delivery/",
        {"action": "resend", "_selected_action": [delivery.pk]},
        follow=True,
    )

    assert "1 delivery(ies) queued to be sent again." in response.content.decode()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 2)


def test_events_reach_only_subscribers_of_the_creditor_and_type(
    creditor, beta, subscription, receiver
):
    """Beta's client and a revoked client get nothing of Acme's events."""
    other, _ = make_client("Beta ERP", [beta])
    Subscription.objects.create(
        client=other, url=receiver.url, event_types=[EventType.CASE_CLOSED]
    )
    revoked, _ = make_client("Old ERP", [creditor], revoked_at=timezone.now())
    Subscription.objects.create(
        client=revoked, url=receiver.url, event_types=[EventType.CASE_CLOSED]
    )

    emit(EventType.CASE_CLOSED, creditor, {"case": 1})
    emit(EventType.PAYMENT_RECEIVED, creditor, {"payment": 1})

    assert list(Delivery.objects.values_list("subscription", "event_type")) == [
        (subscription.pk, "case.closed")
    ]


def test_an_event_of_a_rolled_back_change_is_never_sent(
    api,
    alice,
    make_invoice,
    subscription,
    receiver,
    sync_tasks,
    django_capture_on_commit_callbacks,
):
    """The first note closes a case, the second is refused: the batch rolls
    back, and so does the "case.closed" event of the first."""
    settled = make_invoice(alice, amount="100.00", number="A")
    open_case(settled)
    make_invoice(alice, amount="100.00", number="B")
    notes = [
        {"external_id": "CN-1", "invoice_external_id": "A", "amount": "100.00"},
        {"external_id": "CN-2", "invoice_external_id": "B", "amount": "150.00"},
    ]

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/credit-notes/bulk/",
            {"items": [{**note, "issued_on": "2025-03-10"} for note in notes]},
            format="json",
        )

    assert response.status_code == 400
    assert not Delivery.objects.exists()
    assert receiver.received == []


def test_a_token_client_creation_in_the_admin_shows_the_token_once(client, creditor):
    client.force_login(User.objects.create_superuser("root", password="x"))

    response = client.post(
        "/admin/api/apiclient/add/",
        {
            "name": "New ERP",
            "creditors": [creditor.pk],
            "scope": "write",
            "throttle_rate": "600/min",
            "subscriptions-TOTAL_FORMS": "0",
            "subscriptions-INITIAL_FORMS": "0",
        },
        follow=True,
    )

    page = response.content.decode()
    token = re.search(r"copy it now: (dk_[\w-]+)", page).group(1)
    assert ApiClient.objects.get(name="New ERP").token_hash == token_hash(token)
    again = client.get("/admin/api/apiclient/").content.decode()
    assert token not in again
