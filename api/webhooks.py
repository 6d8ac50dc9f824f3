"""Sending webhook deliveries: signed, logged, retried with backoff.

Each POST carries `X-Dunning-Signature: t=<unix time>,v1=<hex>` where the hex
is HMAC-SHA256 with the subscription's secret over "<t>.<raw body>". The
receiver recomputes it and refuses timestamps older than five minutes, so a
captured request cannot be replayed later (docs/API.md has the recipe;
`verify` is the same recipe in Python).

Delivery is at least once: a receiver that answered slowly may get an event
twice and recognises it by the event id (`X-Dunning-Event-Id`).
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from api.models import Delivery

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Dunning-Signature"
TOLERANCE_SECONDS = 300
TIMEOUT_SECONDS = 10
# Seconds to wait after the 1st, 2nd, ... failed attempt; after the last one
# the delivery is given up (about a day after the event).
BACKOFF = [60, 300, 1800, 7200, 21600, 43200]
MAX_ATTEMPTS = len(BACKOFF) + 1


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, now: float | None = None) -> str:
    timestamp = int(now if now is not None else time.time())
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """True if `header` signs `body` with `secret` and is at most `tolerance`
    seconds old (a replayed old request is refused even with a valid HMAC)."""
    parts = dict(
        part.split("=", 1) for part in header.split(",") if "=" in part.strip()
    )
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    now = now if now is not None else time.time()
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected, parts.get("v1", ""))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a new address to send the event to."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _post(url: str, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def delivery_send(delivery_id: int) -> str:
    """Attempt one delivery now; on failure plan the next attempt."""
    delivery = (
        Delivery.objects.select_related("subscription__client")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or delivery.status == Delivery.Status.DELIVERED:
        return "skipped"
    subscription = delivery.subscription
    if not subscription.active or subscription.client.is_revoked:
        Delivery.objects.filter(pk=delivery_id).update(
            status=Delivery.Status.FAILED,
            last_error="subscription inactive or client revoked",
            next_attempt_at=None,
        )
        return Delivery.Status.FAILED

    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "dunning-webhooks/1",
        SIGNATURE_HEADER: signature_header(subscription.secret, body),
        "X-Dunning-Event": delivery.event_type,
        "X-Dunning-Event-Id": str(delivery.event_id),
        "X-Dunning-Delivery": str(delivery.pk),
    }
    code, error = None, ""
    try:
        code = _post(subscription.url, body, headers)
    except (OSError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"

    attempts = delivery.attempts + 1
    if code is not None and 200 <= code < 300:
        Delivery.objects.filter(pk=delivery_id).update(
            status=Delivery.Status.DELIVERED,
            attempts=attempts,
            response_code=code,
            last_error="",
            next_attempt_at=None,
            delivered_at=timezone.now(),
        )
        return Delivery.Status.DELIVERED
    return _failed(delivery, attempts, code, error or f"HTTP {code}")


def _failed(delivery: Delivery, attempts: int, code, error: str) -> str:
    from django_q.models import Schedule
    from django_q.tasks import schedule

    logger.warning(
        "webhook delivery %s attempt %d failed: %s", delivery.pk, attempts, error
    )
    if attempts >= MAX_ATTEMPTS:
        status, next_at = Delivery.Status.FAILED, None
    else:
        status = Delivery.Status.PENDING
        next_at = timezone.now() + timedelta(seconds=BACKOFF[attempts - 1])
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status,
        attempts=attempts,
        response_code=code,
        last_error=error[:300],
        next_attempt_at=next_at,
    )
    if next_at is not None:
        # A one-off schedule: django-q2 deletes it once it has run.
        schedule(
            "api.tasks.delivery_send",
            delivery.pk,
            name=f"webhook-delivery-{delivery.pk}-{attempts}",
            schedule_type=Schedule.ONCE,
            next_run=next_at,
        )
    return status


def deliveries_resend(delivery_ids) -> int:
    """Send deliveries again now (the admin's action), whatever their status."""
    from django_q.tasks import async_task

    delivery_ids = list(delivery_ids)
    with transaction.atomic():
        count = Delivery.objects.filter(pk__in=delivery_ids).update(
            status=Delivery.Status.PENDING, next_attempt_at=None, last_error=""
        )
    for delivery_id in delivery_ids:
        async_task("api.tasks.delivery_send", delivery_id)
    return count
