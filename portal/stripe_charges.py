"""Stripe's `charge.*` events: a refund or a charge-back reverses the payment.

A card payment on the debtor page was booked when its checkout session
completed (`portal.services.checkout_complete`). Stripe reports later that the
charge behind it was refunded (`charge.refunded`) or disputed by the
cardholder (`charge.dispute.created`, a charge-back): the money is gone, so
the payment is booked back with `payments.services.payment_reverse` and the
claims it had settled are dunned again. A partial refund books back that part
(`payments.services.payment_refund`). The charge names its PaymentIntent;
Stripe's list of checkout sessions filtered by that PaymentIntent names the
session, and so our checkout and its payment.

Each event id is acted on once and kept as a `ProviderPaymentEvent` with its
outcome and payment.
"""

import logging

import requests
from django.conf import settings
from django.db import IntegrityError, transaction

from core.money import format_money, from_minor, to_minor
from payments.models import Payment, ProviderPaymentEvent
from payments.services import LedgerError, payment_refund, payment_reverse
from portal.models import Checkout
from portal.providers import ProviderEventData, StripeCheckoutProvider
from portal.providers import _stripe_secret_key as stripe_secret_key

logger = logging.getLogger(__name__)

PROVIDER = StripeCheckoutProvider.code
CHARGE_EVENTS = "charge."
REFUNDED = "charge.refunded"
DISPUTED = "charge.dispute.created"


class StripeUnavailable(Exception):
    """Stripe did not say which checkout a charge belongs to; try again later."""


def _session_of(payment_intent: str) -> str | None:
    """The checkout session that created `payment_intent`, asked of Stripe."""
    try:
        response = requests.get(
            f"{settings.STRIPE_API_BASE}/v1/checkout/sessions",
            params={"payment_intent": payment_intent, "limit": 1},
            headers={"Authorization": f"Bearer {stripe_secret_key()}"},
            timeout=settings.STRIPE_TIMEOUT_SECONDS,
        )
    except requests.RequestException as exc:
        raise StripeUnavailable(f"session lookup failed: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise StripeUnavailable(f"session lookup refused: {response.status_code}")
    try:
        sessions = response.json()["data"]
        return str(sessions[0]["id"]) if sessions else None
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise StripeUnavailable("session lookup answered no list") from exc


def _payment_of(details: dict) -> Payment | None:
    payment_intent = details.get("payment_intent")
    if not isinstance(payment_intent, str) or not payment_intent:
        return None
    session = _session_of(payment_intent)
    if session is None:
        return None
    checkout = (
        Checkout.objects.select_related("payment__creditor")
        .filter(provider=PROVIDER, provider_reference=session)
        .first()
    )
    return checkout.payment if checkout is not None else None


def _reverse(payment: Payment, reason: str) -> str:
    invoice_ids = payment_reverse(
        payment=payment,
        reversed_on=payment.creditor.local_today(),
        actor=f"provider:{PROVIDER}",
        reason=reason,
    )
    if not invoice_ids:
        return "reversed before"
    _dun_again(invoice_ids)
    return "payment reversed"


def _refund(event: ProviderEventData, payment: Payment, refunded) -> str:
    """A part of the charge refunded: Stripe's `amount_refunded` is the charge's
    total so far, so only what it adds to the refunds booked before is booked."""
    if not isinstance(refunded, int) or isinstance(refunded, bool) or refunded < 0:
        logger.warning("stripe event %s: no amount refunded", event.id)
        return "refund without an amount: not booked"
    total = from_minor(refunded, payment.currency)
    added = total - payment.refunded_amount
    if payment.reversed_on is not None or added <= 0:
        return "refunded before"
    try:
        invoice_ids = payment_refund(
            payment=payment,
            amount=added,
            refunded_on=payment.creditor.local_today(),
            actor=f"provider:{PROVIDER}",
            reason=f"Stripe refund of charge {event.reference}",
        )
    except LedgerError as exc:
        logger.warning("stripe event %s: refund refused: %s", event.id, exc)
        return f"refund not booked: {exc}"[:200]
    _dun_again(invoice_ids)
    return f"{format_money(added, payment.currency)} refunded"


def _dun_again(invoice_ids) -> None:
    from django_q.tasks import async_task

    transaction.on_commit(lambda: async_task("api.tasks.claims_dun", invoice_ids))


def _act(event: ProviderEventData, payment: Payment) -> str:
    details = event.details
    if event.type == REFUNDED:
        if not details.get("refunded"):
            return _refund(event, payment, details.get("amount_refunded"))
        return _reverse(payment, f"Stripe refund of charge {event.reference}")
    if event.type == DISPUTED:
        amount = details.get("amount")
        if amount != to_minor(payment.amount, payment.currency):
            logger.warning(
                "stripe event %s: dispute of %s minor units on payment %s",
                event.id,
                amount,
                payment.pk,
            )
        reason = str(details.get("reason") or "unknown")[:200]
        return _reverse(payment, f"Stripe charge-back ({reason}), {event.reference}")
    return "event not handled"


def charge_event_handle(*, event: ProviderEventData) -> bool:
    """Act on a `charge.*` event once; False when its id was handled before.

    Stripe is asked which checkout the charge belongs to before anything is
    written; the event row and the reversal share one transaction, so an
    event whose booking failed is handled again when Stripe retries.
    """
    seen = ProviderPaymentEvent.objects.filter(provider=PROVIDER, event_id=event.id)
    if seen.exists():
        logger.info("stripe event %s already handled", event.id)
        return False
    payment = None
    if event.type in (REFUNDED, DISPUTED):
        payment = _payment_of(event.details)

    with transaction.atomic():
        try:
            # A savepoint: the same event arriving twice at once loses here.
            with transaction.atomic():
                record = ProviderPaymentEvent.objects.create(
                    provider=PROVIDER, event_id=event.id[:200], type=event.type[:60]
                )
        except IntegrityError:
            logger.info("stripe event %s handled at the same time", event.id)
            return False
        if payment is not None:
            outcome = _act(event, payment)
        elif event.type in (REFUNDED, DISPUTED):
            outcome = "no payment of ours"
        else:
            outcome = "event not handled"
        record.payment, record.outcome = payment, outcome[:300]
        record.save(update_fields=["payment", "outcome"])
    logger.info("stripe event %s (%s): %s", record.pk, event.type, outcome)
    return True
