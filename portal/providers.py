"""Payment providers behind one interface, and the built-in test provider.

A provider hosts the checkout: the debtor page creates a `Checkout`, the provider
gives it a reference and the URL the debtor is sent to, and later confirms the
payment. Which provider is active is a setting, read at call time.
"""

import json
import logging
import secrets
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from core.money import to_minor
from payments.models import Invoice
from payments.webhooks import signature_verify
from portal.models import Checkout, ProviderEvent
from portal.services import CheckoutError, checkout_cancel, checkout_complete

logger = logging.getLogger(__name__)


class ProviderError(Exception):
    """A confirmation that does not come from the provider or names no checkout."""


class PaymentProvider(ABC):
    code: str = ""

    @abstractmethod
    def create_checkout(self, checkout: Checkout, *, token: str) -> str:
        """Register an unsaved checkout with the provider.

        Sets `checkout.provider` and `checkout.provider_reference` and returns the
        URL the debtor is redirected to. `token` is the personal link's raw token,
        for return and cancel URLs on the debtor's own path; it must not be sent
        anywhere else.
        """

    @abstractmethod
    def parse_confirmation(self, request) -> str:
        """Check a confirmation request and return the provider reference it names.

        Raises ProviderError if the request is not an authentic confirmation.
        """


class TestProvider(PaymentProvider):
    """Confirms payments on a page of its own; moves no money.

    For demonstrations and tests only: whoever holds a link can "pay" with it,
    so it is active only when configured (or in DEBUG, see `active_provider`).
    """

    __test__ = False  # not a pytest test class
    code = "test"

    def create_checkout(self, checkout: Checkout, *, token: str) -> str:
        checkout.provider = self.code
        checkout.provider_reference = f"test_{secrets.token_urlsafe(18)}"
        return reverse("portal:test_pay", args=[token, checkout.provider_reference])

    def parse_confirmation(self, request) -> str:
        # The confirmation is posted from the provider's own page, whose URL
        # names the reference; the form must name the same one.
        reference = request.POST.get("reference", "")
        expected = request.resolver_match.kwargs.get("reference") or ""
        if not reference or not secrets.compare_digest(reference, expected):
            raise ProviderError("the confirmation names another checkout")
        return reference


class ProviderUnavailable(CheckoutError):
    """The provider refused or did not answer; no checkout was saved."""


@dataclass(frozen=True)
class ProviderEventData:
    """An authentic provider event: its id, type and the checkout it names.

    `details` is the event's object as sent (a charge or dispute for `charge.*`
    events, `portal.stripe_charges`)."""

    id: str
    type: str
    reference: str
    paid: bool
    details: dict = field(default_factory=dict)


class StripeCheckoutProvider(PaymentProvider):
    """Stripe Checkout: a hosted payment page, confirmed by a signed webhook.

    Talks to Stripe's REST API directly (a form-encoded POST, as Stripe's own
    libraries send it): one call, and the fake Stripe in the tests speaks it.
    """

    code = "stripe"
    COMPLETED = (
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
    )
    EXPIRED = "checkout.session.expired"

    def create_checkout(self, checkout: Checkout, *, token: str) -> str:
        invoices = Invoice.objects.filter(id__in=checkout.invoice_ids)
        numbers = ", ".join(
            invoices.order_by("due_on", "id").values_list("number", flat=True)
        )
        creditor = checkout.customer.creditor
        # Stripe puts the session id into the return URL where it reads
        # {CHECKOUT_SESSION_ID}; reverse() would percent-encode the braces.
        thanks = reverse("portal:thanks", args=[token, "SESSION"]).replace(
            "SESSION", "{CHECKOUT_SESSION_ID}"
        )
        form = {
            "mode": "payment",
            "line_items[0][quantity]": "1",
            "line_items[0][price_data][currency]": checkout.currency.lower(),
            # Stripe counts in the currency's minor units: cents, yen.
            "line_items[0][price_data][unit_amount]": str(
                to_minor(checkout.amount, checkout.currency)
            ),
            "line_items[0][price_data][product_data][name]": (
                f"{creditor.name}: {numbers}"[:250]
            ),
            "success_url": settings.SITE_URL + thanks,
            "cancel_url": settings.SITE_URL + reverse("portal:home", args=[token]),
            "metadata[invoice_ids]": ",".join(str(i) for i in checkout.invoice_ids),
        }
        try:
            response = requests.post(
                f"{settings.STRIPE_API_BASE}/v1/checkout/sessions",
                data=form,
                headers={
                    "Authorization": f"Bearer {_stripe_secret_key()}",
                    # A retried request must not open a second session.
                    "Idempotency-Key": secrets.token_hex(16),
                },
                timeout=settings.STRIPE_TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            logger.warning("stripe: checkout session failed: %s", type(exc).__name__)
            raise ProviderUnavailable("The payment provider did not answer.") from exc
        if response.status_code != 200:
            logger.warning("stripe: checkout session refused: %d", response.status_code)
            raise ProviderUnavailable("The payment provider refused the payment.")
        session = response.json()
        checkout.provider = self.code
        checkout.provider_reference = session["id"]
        return session["url"]

    def parse_event(self, request) -> ProviderEventData:
        """Check the `Stripe-Signature` of a webhook and read the event it carries."""
        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            raise ImproperlyConfigured("STRIPE_WEBHOOK_SECRET must be set for Stripe.")
        header = request.headers.get("Stripe-Signature", "")
        # Five minutes, as Stripe's libraries allow: an old capture is refused.
        # Several v1 values (a secret being rolled): any one may match.
        if not signature_verify(
            secret, request.body, header, now=timezone.now().timestamp()
        ):
            raise ProviderError("the signature does not match")
        try:
            event = json.loads(request.body)
            session = event["data"]["object"]
            return ProviderEventData(
                id=str(event["id"]),
                type=str(event["type"]),
                reference=str(session.get("id", "")),
                # "unpaid" on completion: a delayed method (SEPA); its
                # async_payment_succeeded event comes later.
                paid=session.get("payment_status") == "paid",
                details=session,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ProviderError("the event is not a checkout session event") from exc

    def parse_confirmation(self, request) -> str:
        event = self.parse_event(request)
        if event.type not in self.COMPLETED or not event.paid:
            raise ProviderError("the event confirms no payment")
        return event.reference


def _stripe_secret_key() -> str:
    key = settings.STRIPE_SECRET_KEY
    if not key:
        raise ImproperlyConfigured("STRIPE_SECRET_KEY must be set for Stripe.")
    return key


@transaction.atomic
def provider_event_handle(*, provider: str, event: ProviderEventData) -> bool:
    """Act on a provider's event once; False when its id was handled before.

    The event row is written in the same transaction as the payment, so an
    event whose booking failed is handled again when the provider retries.
    """
    try:
        with transaction.atomic():
            ProviderEvent.objects.create(
                provider=provider, event_id=event.id, kind=event.type[:100]
            )
    except IntegrityError:
        logger.info("%s event %s already handled", provider, event.id)
        return False

    actor = f"provider:{provider}"
    known = Checkout.objects.filter(
        provider=provider, provider_reference=event.reference
    ).exists()
    if not known:
        logger.warning("%s event %s names no checkout of ours", provider, event.id)
    elif event.type in StripeCheckoutProvider.COMPLETED and event.paid:
        checkout_complete(provider_reference=event.reference, actor=actor)
    elif event.type == StripeCheckoutProvider.EXPIRED:
        checkout_cancel(provider_reference=event.reference, actor=actor)
    return True


def form_action_sources() -> str:
    """CSP form-action: this site, and the hosted checkout the pay form leads to."""
    sources = ["'self'"]
    if (
        getattr(settings, "PORTAL_PAYMENT_PROVIDER", None)
        == StripeCheckoutProvider.code
    ):
        parts = urlsplit(settings.STRIPE_CHECKOUT_ORIGIN)
        if parts.scheme and parts.netloc:
            sources.append(f"{parts.scheme}://{parts.netloc}")
    return " ".join(sources)


PROVIDERS: dict[str, type[PaymentProvider]] = {
    TestProvider.code: TestProvider,
    StripeCheckoutProvider.code: StripeCheckoutProvider,
}


def active_provider() -> PaymentProvider | None:
    """The configured provider, or None when the page offers no online payment.

    `PORTAL_PAYMENT_PROVIDER` names it; without the setting the test provider is
    active in DEBUG only, so that a production deployment never accepts test
    payments by accident.
    """
    code = getattr(settings, "PORTAL_PAYMENT_PROVIDER", None)
    if code is None:
        code = TestProvider.code if settings.DEBUG else ""
    if not code:
        return None
    if code not in PROVIDERS:
        raise ImproperlyConfigured(
            f"PORTAL_PAYMENT_PROVIDER={code!r} is not one of {sorted(PROVIDERS)}."
        )
    return PROVIDERS[code]()
