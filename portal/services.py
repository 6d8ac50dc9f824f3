"""Personal links and payments made on the debtor page."""

import logging
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.money import ZERO, round_money
from customers.models import Customer
from payments.models import Invoice
from payments.services import payment_record
from portal.models import Checkout, PortalLink, hash_token

logger = logging.getLogger(__name__)


def link_create(
    *, customer, message=None, days: int | None = None, sealed=None
) -> tuple[PortalLink, str]:
    """A new personal link; the raw token is returned once and never stored.

    `sealed`, a `portal.access.SealedToken`, is the token of a letter's link
    with its short code, stored with the link in one row.
    """
    token = sealed.token if sealed else PortalLink.new_token()
    link = PortalLink.objects.create(
        customer=customer,
        token_hash=hash_token(token),
        short_code_hash=sealed.code_hash if sealed else None,
        short_code_seal=sealed.seal if sealed else "",
        message=message,
        expires_at=timezone.now() + timedelta(days=days or settings.PORTAL_LINK_DAYS),
    )
    return link, token


def link_url(token: str) -> str:
    return settings.SITE_URL + reverse("portal:home", args=[token])


def link_resolve(token: str) -> PortalLink | None:
    """The valid link for a token, or None; never tells why."""
    if not token or len(token) > 128:
        return None
    link = (
        PortalLink.objects.select_related("customer", "customer__creditor")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if link is None or not link.is_valid:
        return None
    return link


class CheckoutError(ValueError):
    """Refused payment on the debtor page; nothing was written."""


def checkout_start(
    *,
    link: PortalLink,
    invoice_ids,
    currency: str,
    provider,
    token: str,
    actor: str,
    amount: Decimal | None = None,
) -> tuple[Checkout, str]:
    """Start paying open claims of the link's customer in one currency.

    Returns the checkout and the URL the debtor is sent to. Claims of another
    customer, closed claims and claims in another currency are refused as a
    whole: a debtor pays only their own open claims. `amount` pays part of
    what the claims owe (the ledger allocates it, oldest first); more than
    they owe is refused.
    """
    currency = (currency or "").upper()
    try:
        wanted = {int(i) for i in invoice_ids}
    except (TypeError, ValueError):
        raise CheckoutError("Claims are named by their ids.") from None
    # An id no database column can hold names no claim (and would not reach
    # the query: SQLite and PostgreSQL refuse it).
    if any(not 0 < i < 2**63 for i in wanted):
        raise CheckoutError("Claims are named by their ids.")
    if not wanted:
        raise CheckoutError("No claim selected.")

    invoices = list(
        Invoice.objects.filter(
            id__in=wanted,
            customer=link.customer,
            currency=currency,
            status=Invoice.Status.OPEN,
            open_amount__gt=0,
        )
    )
    if len(invoices) != len(wanted):
        raise CheckoutError(
            "Only open claims of this customer in one currency can be paid."
        )

    owed = round_money(sum((i.open_amount for i in invoices), ZERO), currency)
    if amount is not None and not (0 < amount <= owed):
        raise CheckoutError("A part payment must be positive and at most what is owed.")
    amount = owed if amount is None else round_money(amount, currency)
    checkout = Checkout(
        link=link,
        customer=link.customer,
        amount=amount,
        currency=currency,
        invoice_ids=sorted(wanted),
    )
    # The provider is asked before anything is saved: a provider that fails
    # leaves no pending checkout behind.
    redirect_url = provider.create_checkout(checkout, token=token)
    checkout.save()
    logger.info(
        "checkout %s started with %s: %d claims (%s)",
        checkout.pk,
        checkout.provider,
        len(invoices),
        actor,
    )
    return checkout, redirect_url


@transaction.atomic
def checkout_complete(*, provider_reference: str, actor: str) -> Checkout:
    """Book the payment a provider confirmed; a repeated confirmation changes nothing.

    The checkout row is locked, so two deliveries of the same provider event
    cannot both record a payment.
    """
    checkout = Checkout.objects.select_for_update().get(
        provider_reference=provider_reference
    )
    if checkout.status == Checkout.Status.SUCCEEDED:
        logger.info("checkout %s already succeeded; confirmation ignored", checkout.pk)
        return checkout

    customer = Customer.objects.select_related("creditor").get(pk=checkout.customer_id)
    # A confirmation after a cancel still books the money: the provider's word
    # on what was charged outranks the page the debtor left.
    payment = payment_record(
        customer=customer,
        amount=checkout.amount,
        currency=checkout.currency,
        received_on=customer.creditor.local_today(),
        invoice_ids=checkout.invoice_ids,
        method="card",
        source="portal",
        reference=provider_reference,
        external_id=f"portal:{provider_reference}",
        actor=actor,
    )
    checkout.status = Checkout.Status.SUCCEEDED
    checkout.payment = payment
    checkout.save(update_fields=["status", "payment"])
    logger.info("checkout %s succeeded: payment %s", checkout.pk, payment.pk)
    return checkout


@transaction.atomic
def checkout_cancel(*, provider_reference: str, actor: str) -> Checkout:
    """The debtor left the provider's page without paying; only pending ones change."""
    checkout = Checkout.objects.select_for_update().get(
        provider_reference=provider_reference
    )
    if checkout.status == Checkout.Status.PENDING:
        checkout.status = Checkout.Status.CANCELLED
        checkout.save(update_fields=["status"])
        logger.info("checkout %s cancelled (%s)", checkout.pk, actor)
    return checkout
