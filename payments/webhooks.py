"""The generic signed payments webhook: a payment provider (or the ERP's bank
link) reports payments that succeeded and direct debits that failed.

`POST /webhooks/payments/` with `X-Payment-Signature: t=<unix seconds>,v1=<hex>`,
HMAC-SHA256 under `PAYMENTS_WEBHOOK_SECRET` over "<t>.<raw body>" (the scheme
of our outbound webhooks and of Stripe's `Stripe-Signature`). A timestamp more
than five minutes off is refused, so a captured request cannot be replayed.
Each event id is acted on once; docs/API.md describes the body.
"""

import hashlib
import hmac
import json
import logging
import time
from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from customers.models import Customer
from payments.models import Invoice, LedgerEntry, Payment, ProviderPaymentEvent
from payments.services import LedgerError, payment_record

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Payment-Signature"
TOLERANCE_SECONDS = 300
PROVIDER = "signed"


def signature_verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """True if `header` ("t=<unix seconds>,v1=<hex>[,v1=<hex>…]") signs `body`
    with `secret` and its timestamp is at most `tolerance` seconds off.

    The scheme of Stripe's `Stripe-Signature` header: several `v1` values are
    allowed (a secret being rolled), any one matching is enough; other schemes
    (`v0`) are ignored.
    """
    if not secret:
        return False
    timestamp, candidates = None, []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False  # too old, or from the future: a replay
    signed = str(timestamp).encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, value) for value in candidates)


class EventUnreadable(ValueError):
    """A signed event whose body does not say what it needs to."""


def _text(data: dict, name: str, required: bool = True) -> str:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise EventUnreadable(f"data.{name} is missing")
        return ""
    if not isinstance(value, str | int):
        raise EventUnreadable(f"data.{name} must be a string")
    return str(value)


def _date(data: dict, name: str) -> date:
    try:
        return date.fromisoformat(_text(data, name))
    except ValueError:
        raise EventUnreadable(f"data.{name} must be a date (YYYY-MM-DD)") from None


def _payment_succeeded(creditor_id: int, data: dict, event_id: str):
    customer = (
        Customer.objects.select_related("creditor")
        .filter(
            creditor_id=creditor_id,
            external_id=_text(data, "customer_external_id"),
        )
        .first()
    )
    if customer is None:
        return None, "unknown customer"
    named = _text(data, "invoice_external_id", required=False)
    invoice = None
    if named:
        invoice = Invoice.objects.filter(
            creditor_id=creditor_id, customer=customer, external_id=named
        ).first()
        if invoice is None:
            return None, "unknown claim of this customer"
    try:
        amount = Decimal(_text(data, "amount"))
    except InvalidOperation:
        raise EventUnreadable("data.amount must be a decimal string") from None
    payment = payment_record(
        customer=customer,
        amount=amount,
        currency=_text(data, "currency"),
        received_on=_date(data, "received_on"),
        actor=f"webhook:{PROVIDER}",
        external_id=_text(data, "payment_id"),
        invoice=invoice,
        method=_text(data, "method", required=False)[:30],
        source="webhook",
        reference=event_id[:200],
    )
    _after_commit("api.tasks.claims_evaluate", _claims_of(payment))
    return payment, "payment recorded"


def _payment_failed(creditor_id: int, data: dict):
    from payments.services import payment_reverse

    payment = Payment.objects.filter(
        creditor_id=creditor_id, external_id=_text(data, "payment_id")
    ).first()
    if payment is None:
        # A debit that failed before it was ever reported as paid: nothing to
        # book back.
        return None, "unknown payment"
    reason = _text(data, "reason", required=False) or "direct debit failed"
    invoice_ids = payment_reverse(
        payment=payment,
        reversed_on=_date(data, "received_on"),
        actor=f"webhook:{PROVIDER}",
        reason=reason,
    )
    _after_commit("api.tasks.claims_dun", invoice_ids)
    return payment, "payment reversed" if invoice_ids else "reversed before"


def _claims_of(payment: Payment) -> list[int]:
    return sorted(
        set(
            LedgerEntry.objects.filter(payment=payment).values_list(
                "invoice_id", flat=True
            )
        )
    )


def _after_commit(task: str, invoice_ids: list[int]) -> None:
    from django_q.tasks import async_task

    if invoice_ids:
        transaction.on_commit(lambda: async_task(task, invoice_ids))


HANDLERS = {"payment.succeeded", "payment.failed"}


@transaction.atomic
def event_handle(event: dict) -> tuple[dict, bool]:
    """Act on one verified event; returns (answer, acted). An event id seen
    before is answered with what was done the first time."""
    try:
        event_id = str(event["id"])[:200]
        kind = str(event["type"])[:60]
        data = event["data"]
        creditor_id = int(data["creditor"])
    except (KeyError, TypeError, ValueError):
        raise EventUnreadable("id, type, data and data.creditor are needed") from None
    if not isinstance(data, dict) or not event_id:
        raise EventUnreadable("data must be an object")

    known = ProviderPaymentEvent.objects.filter(
        provider=PROVIDER, event_id=event_id
    ).first()
    if known is not None:
        return {"event": event_id, "outcome": known.outcome, "repeated": True}, False
    try:
        # A savepoint: the same event arriving twice at once loses on the
        # unique constraint and rolls back what it did.
        with transaction.atomic():
            record = ProviderPaymentEvent.objects.create(
                provider=PROVIDER, event_id=event_id, type=kind
            )
            if kind == "payment.succeeded":
                payment, outcome = _payment_succeeded(creditor_id, data, event_id)
            elif kind == "payment.failed":
                payment, outcome = _payment_failed(creditor_id, data)
            else:
                payment, outcome = None, "event not handled"
            record.payment, record.outcome = payment, outcome
            record.save(update_fields=["payment", "outcome"])
    except IntegrityError:
        known = ProviderPaymentEvent.objects.get(provider=PROVIDER, event_id=event_id)
        return {"event": event_id, "outcome": known.outcome, "repeated": True}, False
    logger.info("payments webhook event %s (%s): %s", record.pk, kind, outcome)
    answer = {"event": event_id, "outcome": outcome, "repeated": False}
    if payment is not None:
        answer["payment"] = payment.pk
    return answer, True


@csrf_exempt
@require_POST
def signed(request):
    """2xx tells the sender to stop retrying: a repeated event and one about an
    unknown customer or payment are answered 200 too. A bad signature is 403
    and stores nothing; a signed body that cannot be read is 400."""
    header = request.headers.get(SIGNATURE_HEADER, "")
    if not signature_verify(settings.PAYMENTS_WEBHOOK_SECRET, request.body, header):
        logger.warning("payments webhook: signature refused")
        return JsonResponse({"error": "invalid signature"}, status=403)
    try:
        event = json.loads(request.body)
        if not isinstance(event, dict):
            raise EventUnreadable("the body must be a JSON object")
        answer, acted = event_handle(event)
    except (ValueError, EventUnreadable, LedgerError) as error:
        # json's errors are ValueErrors; a LedgerError (wrong currency, a
        # non-positive amount) is a body that can never be booked.
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse(answer, status=201 if acted else 200)
