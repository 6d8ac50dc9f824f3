"""The Stripe Checkout adapter against a fake Stripe on 127.0.0.1."""

import json
import threading
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from api.webhooks import signature_header
from dunning.models import Case
from payments.models import Invoice, LedgerEntry, Payment, ProviderPaymentEvent
from portal.models import Checkout, ProviderEvent
from tests.portal.conftest import NOW, charge_fee, open_case

pytestmark = pytest.mark.django_db

SECRET_KEY = "sk_test_fake"
WEBHOOK_SECRET = "whsec_fake"
WEBHOOK_URL = "/webhooks/payments/stripe/"


class FakeStripe(BaseHTTPRequestHandler):
    """Answers POST /v1/checkout/sessions (create) and GET /v1/checkout/sessions
    (list, by `payment_intent`) like Stripe, and records each request."""

    def do_GET(self):
        url = urlsplit(self.path)
        server = self.server
        server.requests.append(
            {"path": url.path, "headers": dict(self.headers), "form": {}}
        )
        server.lookups.append(parse_qs(url.query))
        if server.fail_with:
            self._answer(server.fail_with, {"error": {"message": "no"}})
            return
        [intent] = parse_qs(url.query)["payment_intent"]
        session = server.sessions_by_intent.get(intent)
        sessions = [{"id": session, "object": "checkout.session"}] if session else []
        self._answer(200, {"object": "list", "data": sessions, "has_more": False})

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        server = self.server
        server.requests.append(
            {"path": self.path, "headers": dict(self.headers), "form": parse_qs(body)}
        )
        if server.fail_with:
            self._answer(server.fail_with, {"error": {"message": "no"}})
            return
        session_id = f"cs_test_{len(server.requests)}"
        base = f"http://127.0.0.1:{server.server_port}"
        self._answer(
            200,
            {
                "id": session_id,
                "object": "checkout.session",
                "url": f"{base}/c/pay/{session_id}",
            },
        )

    def _answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def stripe(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeStripe)
    server.requests, server.fail_with = [], None
    server.lookups, server.sessions_by_intent = [], {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    settings.PORTAL_PAYMENT_PROVIDER = "stripe"
    settings.STRIPE_API_BASE = base
    settings.STRIPE_CHECKOUT_ORIGIN = base
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def claim(alice, make_invoice):
    """EUR 250.00 in dunning with the first notice's fee of EUR 2.50."""
    invoice = make_invoice(
        alice, amount="250.00", due_on=date(2025, 2, 10), number="R-1"
    )
    charge_fee(open_case(invoice), position=2, taken_on=date(2025, 2, 24))
    invoice.refresh_from_db()
    return invoice


def pay(client, token, invoices, currency="EUR"):
    return client.post(
        reverse("portal:pay", args=[token]),
        {"currency": currency, "claims": [i.id for i in invoices]},
    )


def event(
    session_id,
    *,
    event_id="evt_1",
    kind="checkout.session.completed",
    payment_status="paid",
):
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": kind,
            "data": {
                "object": {
                    "id": session_id,
                    "object": "checkout.session",
                    "payment_status": payment_status,
                }
            },
        }
    ).encode()


def post_event(client, body, *, secret=WEBHOOK_SECRET, at=None):
    timestamp = (at or NOW).timestamp()
    return client.post(
        WEBHOOK_URL,
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature_header(secret, body, now=timestamp),
    )


def test_pay_now_opens_a_stripe_checkout_session_and_sends_the_debtor_there(
    client, stripe, alice_link, claim
):
    """Form-encoded POST with the secret key; amount in cents; return URLs on the
    debtor's own path; the pay form may lead to Stripe's origin."""
    _, token = alice_link

    response = pay(client, token, [claim])

    [request] = stripe.requests
    form = {key: values[0] for key, values in request["form"].items()}
    assert request["path"] == "/v1/checkout/sessions"
    assert request["headers"]["Authorization"] == f"Bearer {SECRET_KEY}"
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][currency]"] == "eur"
    assert form["line_items[0][price_data][unit_amount]"] == "25250"
    assert form["line_items[0][price_data][product_data][name]"] == "Acme GmbH: R-1"
    assert form["success_url"] == (
        f"http://testserver/p/{token}/thanks/{{CHECKOUT_SESSION_ID}}/"
    )
    assert form["cancel_url"] == f"http://testserver/p/{token}/"
    checkout = Checkout.objects.get()
    assert checkout.provider == "stripe"
    assert checkout.provider_reference == "cs_test_1"
    base = f"http://127.0.0.1:{stripe.server_port}"
    assert response.status_code == 302
    assert response["Location"] == f"{base}/c/pay/cs_test_1"
    page = client.get(reverse("portal:home", args=[token]))
    assert f"form-action 'self' {base}" in page["Content-Security-Policy"]


def test_a_yen_claim_is_sent_in_whole_yen(
    client, stripe, alice, alice_link, make_invoice
):
    """JPY has no minor unit: 12,000 yen is 12000, not 1200000."""
    invoice = make_invoice(alice, amount="12000", currency="JPY", number="R-2")

    pay(client, alice_link[1], [invoice], currency="JPY")

    form = stripe.requests[0]["form"]
    assert form["line_items[0][price_data][currency]"] == ["jpy"]
    assert form["line_items[0][price_data][unit_amount]"] == ["12000"]


def test_a_signed_completed_event_pays_the_claim_once(
    client, stripe, alice_link, claim
):
    """The webhook books the payment; the same event again changes nothing."""
    _, token = alice_link
    pay(client, token, [claim])

    first = post_event(client, event("cs_test_1"))
    again = post_event(client, event("cs_test_1"))
    other_event_same_session = post_event(client, event("cs_test_1", event_id="evt_2"))
    thanks = client.get(reverse("portal:thanks", args=[token, "cs_test_1"]))

    assert first.status_code == again.status_code == 200
    assert first.content == b"ok" and again.content == b"duplicate"
    assert other_event_same_session.status_code == 200
    assert Payment.objects.count() == 1
    claim.refresh_from_db()
    assert claim.status == Invoice.Status.PAID
    assert Case.objects.values_list("state", flat=True).get(invoice=claim) == (
        Case.State.CLOSED_PAID
    )
    assert Checkout.objects.get().status == Checkout.Status.SUCCEEDED
    assert ProviderEvent.objects.filter(provider="stripe").count() == 2
    assert thanks.status_code == 200
    assert "Vielen Dank für Ihre Zahlung" in thanks.content.decode()


@pytest.mark.parametrize(
    "tamper",
    ["wrong secret", "old timestamp", "changed body", "no header"],
)
def test_an_event_without_a_valid_signature_is_refused(
    client, stripe, alice_link, claim, tamper
):
    """Wrong secret, more than five minutes old, altered or unsigned: 400, nothing
    booked, nothing remembered."""
    pay(client, alice_link[1], [claim])
    body = event("cs_test_1")
    if tamper == "wrong secret":
        response = post_event(client, body, secret="whsec_other")
    elif tamper == "old timestamp":
        response = post_event(client, body, at=NOW - timedelta(minutes=5, seconds=1))
    elif tamper == "changed body":
        header = signature_header(WEBHOOK_SECRET, body, now=NOW.timestamp())
        response = client.post(
            WEBHOOK_URL,
            body.replace(b"evt_1", b"evt_9"),
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=header,
        )
    else:
        response = client.post(WEBHOOK_URL, body, content_type="application/json")

    assert response.status_code == 400
    assert not Payment.objects.exists()
    assert not ProviderEvent.objects.exists()
    assert Checkout.objects.get().status == Checkout.Status.PENDING


def test_a_header_with_two_signatures_passes_when_one_is_ours(
    client, stripe, alice_link, claim
):
    """While a secret is rolled Stripe signs with both: one matching is enough."""
    pay(client, alice_link[1], [claim])
    body = event("cs_test_1")
    ours = signature_header(WEBHOOK_SECRET, body, now=NOW.timestamp())
    theirs = signature_header("whsec_old", body, now=NOW.timestamp())
    header = f"{theirs},{ours.split(',')[1]}"

    response = client.post(
        WEBHOOK_URL, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )

    assert response.status_code == 200
    assert Payment.objects.count() == 1


def test_a_signature_within_five_minutes_is_accepted(client, stripe, alice_link, claim):
    """Clocks differ a little: 4 min 59 s old is still fine."""
    pay(client, alice_link[1], [claim])

    response = post_event(
        client, event("cs_test_1"), at=NOW - timedelta(minutes=4, seconds=59)
    )

    assert response.status_code == 200
    assert Payment.objects.count() == 1


def test_a_delayed_payment_is_booked_when_stripe_reports_it_succeeded(
    client, stripe, alice_link, claim
):
    """Completed but "unpaid" (a SEPA debit on its way) books nothing yet."""
    pay(client, alice_link[1], [claim])

    post_event(client, event("cs_test_1", payment_status="unpaid"))
    booked_on_completion = Payment.objects.count()
    post_event(
        client,
        event(
            "cs_test_1",
            event_id="evt_2",
            kind="checkout.session.async_payment_succeeded",
        ),
    )

    assert booked_on_completion == 0
    assert Payment.objects.count() == 1
    assert Checkout.objects.get().status == Checkout.Status.SUCCEEDED


def test_an_expired_session_cancels_the_pending_checkout(
    client, stripe, alice_link, claim
):
    """Stripe's "expired" event leaves the claim open and the checkout cancelled."""
    pay(client, alice_link[1], [claim])

    response = post_event(client, event("cs_test_1", kind="checkout.session.expired"))

    assert response.status_code == 200
    assert Checkout.objects.get().status == Checkout.Status.CANCELLED
    assert not Payment.objects.exists()


def test_an_event_for_a_session_that_is_not_ours_books_nothing(client, stripe):
    """Another integration's session on the same Stripe account is ignored."""
    response = post_event(client, event("cs_live_elsewhere"))

    assert response.status_code == 200
    assert not Payment.objects.exists()


def test_stripe_refusing_the_session_leaves_no_checkout(
    client, stripe, alice_link, claim
):
    """A 5xx from Stripe: the debtor sees the page again, nothing is saved."""
    stripe.fail_with = 500

    response = pay(client, alice_link[1], [claim])

    assert response.status_code == 400
    assert "können hier nicht bezahlt werden" in response.content.decode()
    assert not Checkout.objects.exists()


def test_the_webhook_takes_posts_only(client, stripe):
    """A GET on the webhook is not allowed."""
    assert client.get(WEBHOOK_URL).status_code == 405


# --- charge events: refunds and charge-backs -----------------------------------


# NOW, 22:30 UTC on 1 April, is already 2 April at the creditor in Berlin.
BERLIN_TODAY = date(2025, 4, 2)


def charge_event(kind, obj, *, event_id="evt_charge_1"):
    return json.dumps(
        {"id": event_id, "object": "event", "type": kind, "data": {"object": obj}}
    ).encode()


def refund(*, refunded=True, amount_refunded=25250, intent="pi_1"):
    return {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": intent,
        "amount": 25250,
        "amount_refunded": amount_refunded,
        "refunded": refunded,
        "currency": "eur",
    }


def dispute(*, reason="fraudulent", intent="pi_1"):
    return {
        "id": "dp_1",
        "object": "dispute",
        "charge": "ch_1",
        "payment_intent": intent,
        "amount": 25250,
        "currency": "eur",
        "reason": reason,
        "status": "needs_response",
    }


@pytest.fixture
def paid(client, stripe, alice_link, claim):
    """The claim paid by card through checkout session cs_test_1 (PaymentIntent
    pi_1); the case closed."""
    pay(client, alice_link[1], [claim])
    assert post_event(client, event("cs_test_1")).content == b"ok"
    stripe.sessions_by_intent["pi_1"] = "cs_test_1"
    payment = Payment.objects.get()
    claim.refresh_from_db()
    assert claim.status == Invoice.Status.PAID
    return payment


def test_a_refund_reverses_the_card_payment_once(client, stripe, claim, paid):
    """The claim is open again and its case back in dunning; the same event
    again books nothing."""
    body = charge_event("charge.refunded", refund())

    first = post_event(client, body)
    again = post_event(client, body)

    assert (first.status_code, first.content) == (200, b"ok")
    assert (again.status_code, again.content) == (200, b"duplicate")
    assert stripe.lookups == [{"payment_intent": ["pi_1"], "limit": ["1"]}]
    assert stripe.requests[-1]["headers"]["Authorization"] == f"Bearer {SECRET_KEY}"
    paid.refresh_from_db()
    assert paid.reversed_on == BERLIN_TODAY
    assert paid.reversal_reason == "Stripe refund of charge ch_1"
    claim.refresh_from_db()
    assert claim.status == Invoice.Status.OPEN
    assert claim.open_amount == Decimal("252.50")
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).count() == 2
    assert Case.objects.get(invoice=claim).state != Case.State.CLOSED_PAID
    record = ProviderPaymentEvent.objects.get()
    assert (record.provider, record.event_id, record.type) == (
        "stripe",
        "evt_charge_1",
        "charge.refunded",
    )
    assert (record.payment, record.outcome) == (paid, "payment reversed")


def test_a_charge_back_reverses_the_payment_with_its_reason(
    client, stripe, claim, paid
):
    response = post_event(
        client, charge_event("charge.dispute.created", dispute(reason="fraudulent"))
    )

    assert response.status_code == 200
    paid.refresh_from_db()
    assert paid.reversal_reason == "Stripe charge-back (fraudulent), dp_1"
    claim.refresh_from_db()
    assert claim.status == Invoice.Status.OPEN
    reasons = set(
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).values_list(
            "reason", flat=True
        )
    )
    assert reasons == {f"payment {paid.pk} reversed: " + paid.reversal_reason}
    assert ProviderPaymentEvent.objects.get().outcome == "payment reversed"


def test_a_refund_after_a_charge_back_changes_nothing_more(client, stripe, claim, paid):
    """Two events about the same money: the payment is reversed once."""
    post_event(client, charge_event("charge.dispute.created", dispute()))
    post_event(client, charge_event("charge.refunded", refund(), event_id="evt_2"))

    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).count() == 2
    outcomes = ProviderPaymentEvent.objects.order_by("id").values_list(
        "outcome", flat=True
    )
    assert list(outcomes) == ["payment reversed", "reversed before"]


def test_a_partial_refund_books_back_that_part_once(client, stripe, claim, paid):
    """€50.00 of €252.50 refunded: the claim owes €50.00 again and its case is
    back in dunning; the same total again, in a new event, books nothing more."""
    body = refund(refunded=False, amount_refunded=5000)
    first = post_event(client, charge_event("charge.refunded", body))
    again = post_event(client, charge_event("charge.refunded", body, event_id="evt_2"))

    assert (first.status_code, again.status_code) == (200, 200)
    paid.refresh_from_db()
    assert paid.reversed_on is None
    assert paid.refunded_amount == Decimal("50.00")
    claim.refresh_from_db()
    assert claim.status == Invoice.Status.OPEN
    assert claim.open_amount == Decimal("50.00")
    assert Case.objects.get(invoice=claim).state != Case.State.CLOSED_PAID
    outcomes = ProviderPaymentEvent.objects.order_by("id").values_list(
        "outcome", flat=True
    )
    assert list(outcomes) == ["€50.00 refunded", "refunded before"]


def test_refunds_adding_up_to_the_charge_reverse_the_payment(
    client, stripe, claim, paid
):
    """Stripe's amount_refunded is the total so far: 50.00, then 252.50."""
    post_event(
        client,
        charge_event("charge.refunded", refund(refunded=False, amount_refunded=5000)),
    )
    post_event(client, charge_event("charge.refunded", refund(), event_id="evt_2"))

    paid.refresh_from_db()
    assert paid.reversed_on == BERLIN_TODAY
    claim.refresh_from_db()
    assert claim.open_amount == Decimal("252.50")
    reversed_total = sum(
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).values_list(
            "amount", flat=True
        )
    )
    assert reversed_total == Decimal("252.50")


def test_a_charge_of_another_integration_books_nothing(client, stripe, paid):
    """Stripe knows no checkout session of ours for the PaymentIntent."""
    response = post_event(
        client, charge_event("charge.refunded", refund(intent="pi_elsewhere"))
    )

    assert response.status_code == 200
    paid.refresh_from_db()
    assert paid.reversed_on is None
    record = ProviderPaymentEvent.objects.get()
    assert (record.payment, record.outcome) == (None, "no payment of ours")


def test_stripe_not_answering_the_lookup_stores_nothing_and_asks_for_a_retry(
    client, stripe, claim, paid
):
    """503 makes Stripe deliver the event again; then it is booked."""
    body = charge_event("charge.refunded", refund())
    stripe.fail_with = 500

    refused = post_event(client, body)
    stripe.fail_with = None
    retried = post_event(client, body)

    assert refused.status_code == 503
    assert retried.status_code == 200
    assert ProviderPaymentEvent.objects.get().outcome == "payment reversed"
    paid.refresh_from_db()
    assert paid.reversed_on == BERLIN_TODAY


def test_other_charge_events_are_kept_but_not_acted_on(client, stripe, paid):
    response = post_event(client, charge_event("charge.succeeded", refund()))

    assert response.status_code == 200
    assert stripe.lookups == []
    assert ProviderPaymentEvent.objects.get().outcome == "event not handled"
    paid.refresh_from_db()
    assert paid.reversed_on is None


def test_a_charge_event_without_a_valid_signature_is_refused(client, stripe, paid):
    body = charge_event("charge.refunded", refund())

    response = post_event(client, body, secret="whsec_other")

    assert response.status_code == 400
    assert not ProviderPaymentEvent.objects.exists()
    paid.refresh_from_db()
    assert paid.reversed_on is None
