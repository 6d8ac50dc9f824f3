"""Payment providers behind one interface, and the built-in test provider.

A provider hosts the checkout: the debtor page creates a `Checkout`, the provider
gives it a reference and the URL the debtor is sent to, and later confirms the
payment. Which provider is active is a setting, read at call time.
"""

import secrets
from abc import ABC, abstractmethod

from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from portal.models import Checkout


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


PROVIDERS: dict[str, type[PaymentProvider]] = {TestProvider.code: TestProvider}


def active_provider() -> PaymentProvider | None:
    """The configured provider, or None when the page offers no online payment.

    `PORTAL_PAYMENT_PROVIDER` names it; without the setting the test provider is
    active in DEBUG only, so that a production deployment never accepts test
    payments by accident.
    """
    from django.conf import settings

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
