"""Failed admin logins counted per IP address and per username.

django-ratelimit keeps the counts in Django's cache in fixed windows of the
rate's period. Counting happens on `user_login_failed`, so only a wrong
password costs an attempt; ops.middleware refuses the next one.
"""

import logging

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.urls import reverse
from django_ratelimit.core import get_usage

logger = logging.getLogger(__name__)


def _checks(username: str) -> list[tuple[str, object]]:
    name = username.strip().lower()
    return [
        ("admin-login:ip", "ip"),
        ("admin-login:user", lambda _group, _request: f"user:{name}"),
    ]


def login_blocked(request, username: str) -> bool:
    for group, key in _checks(username):
        usage = get_usage(
            request,
            group=group,
            key=key,
            rate=settings.ADMIN_LOGIN_RATE,
            increment=False,
        )
        if usage and usage["count"] >= usage["limit"]:
            logger.warning("admin login refused: too many failures (%s)", group)
            return True
    return False


def login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Only the admin's own form: other logins have their own limits.
    if request is None or request.path != reverse("admin:login"):
        return
    for group, key in _checks(credentials.get("username", "")):
        get_usage(
            request,
            group=group,
            key=key,
            rate=settings.ADMIN_LOGIN_RATE,
            increment=True,
        )


def connect() -> None:
    user_login_failed.connect(login_failed, dispatch_uid="ops-admin-login-failed")
