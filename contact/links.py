"""Unsubscribe links for messages: signed, without login, valid for good.

The token names the customer and the channel and is signed with SECRET_KEY
(django.core.signing); it does not expire, because a debtor may unsubscribe
from an old e-mail and the law expects that to work. Changing SECRET_KEY
invalidates every link sent before.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from customers.models import Channel

SALT = "contact.unsubscribe"


def unsubscribe_token(customer, channel: str) -> str:
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    return signing.dumps([customer.pk, channel], salt=SALT)


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    """(customer id, channel) from a token, or None for a forged or broken one."""
    try:
        customer_id, channel = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(customer_id, int) or channel not in Channel.values:
        return None
    return customer_id, channel


def unsubscribe_url(customer, channel: str) -> str:
    """The absolute link a message puts in its footer."""
    path = reverse("contact:unsubscribe", args=[unsubscribe_token(customer, channel)])
    return f"{settings.SITE_URL}{path}"


def list_unsubscribe_headers(customer) -> dict[str, str]:
    """The e-mail headers of RFC 2369 and RFC 8058 (one-click unsubscribe).

    Mail providers POST "List-Unsubscribe=One-Click" to the URL; the URL must
    be https in production for them to offer the button.
    """
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(customer, Channel.EMAIL)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
