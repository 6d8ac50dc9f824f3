"""Personal links and payments made on the debtor page."""

from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from portal.models import PortalLink, hash_token


def link_create(*, customer, message=None, days: int | None = None) -> tuple[PortalLink, str]:
    """A new personal link; the raw token is returned once and never stored."""
    token = PortalLink.new_token()
    link = PortalLink.objects.create(
        customer=customer,
        token_hash=hash_token(token),
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
