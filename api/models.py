"""API clients and their tokens, stored idempotency keys, outbound webhooks.

A client's token is shown once when the client is created; only its SHA-256 is
stored. Tokens are 256 random bits, so a plain hash is as good as a slow one
and lets authentication find the client with one indexed lookup.
"""

import hashlib
import re
import secrets
import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property

TOKEN_PREFIX = "dk_"
RATE = re.compile(r"^\d+/(s|sec|m|min|h|hour|d|day)$")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def validate_rate(value: str) -> None:
    if not RATE.match(value):
        raise ValidationError(
            f"{value!r} is not a rate: requests per second, minute, hour or day, "
            'e.g. "600/min".'
        )


class ApiClient(models.Model):
    """An ERP or billing system with its own token, creditors and scope."""

    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Read and write"

    name = models.CharField(max_length=100, unique=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_hint = models.CharField(
        max_length=12, editable=False, help_text="The token's first characters"
    )
    creditors = models.ManyToManyField(
        "customers.Creditor",
        related_name="api_clients",
        help_text="The only creditors whose data this client sees and changes",
    )
    scope = models.CharField(max_length=5, choices=Scope.choices, default=Scope.READ)
    throttle_rate = models.CharField(
        max_length=20,
        default="600/min",
        validators=[validate_rate],
        help_text='Requests allowed per client, e.g. "600/min" or "20/s"',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(
        null=True, blank=True, help_text="Set: the token is refused from then on"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "API client"

    def __str__(self) -> str:
        return self.name

    # The authenticated principal of a request (`request.user`) is the client.
    is_authenticated = True
    is_anonymous = False

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.WRITE

    @cached_property
    def creditor_ids(self) -> list[int]:
        """The creditors in scope, read once per request (one instance each)."""
        return list(self.creditors.values_list("id", flat=True))

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def new_token(self) -> str:
        """Give the client a fresh token; the caller shows it once."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.token_hash = token_hash(token)
        self.token_hint = token[:10]
        return token

    def revoke(self) -> None:
        self.revoked_at = self.revoked_at or timezone.now()


class IdempotencyKey(models.Model):
    """A write answered once: the same key and request get the same response."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(
        max_length=64, help_text="SHA-256 of method, path and body"
    )
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "key"], name="idempotency_key_once_per_client"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code})"


class EventType(models.TextChoices):
    CASE_OPENED = "case.opened", "Case opened"
    STEP_TAKEN = "case.step_taken", "Step taken"
    MESSAGE_SENT = "message.sent", "Message sent"
    MESSAGE_FAILED = "message.failed", "Message failed"
    PAYMENT_RECEIVED = "payment.received", "Payment received"
    PROMISE_MADE = "promise.made", "Promise to pay made"
    PROMISE_BROKEN = "promise.broken", "Promise to pay broken"
    DISPUTE_OPENED = "dispute.opened", "Dispute opened"
    CASE_CLOSED = "case.closed", "Case closed"
    HANDED_OVER = "case.handed_over", "Handed over"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class Subscription(models.Model):
    """A client's endpoint for some event types of its creditors."""

    client = models.ForeignKey(
        ApiClient, on_delete=models.CASCADE, related_name="subscriptions"
    )
    url = models.URLField(max_length=500, help_text="http(s) URL that receives POSTs")
    event_types = models.JSONField(
        default=list, help_text="Event types to send, e.g. ['case.closed']"
    )
    secret = models.CharField(
        max_length=80,
        default=new_secret,
        help_text="Signs each delivery (HMAC-SHA256); give it to the receiver",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "webhook subscription"

    def __str__(self) -> str:
        return f"{self.client}: {self.url}"

    def clean(self) -> None:
        if not isinstance(self.event_types, list) or not self.event_types:
            raise ValidationError({"event_types": "Name at least one event type."})
        unknown = sorted(set(self.event_types) - set(EventType.values))
        if unknown:
            raise ValidationError(
                {
                    "event_types": f"Unknown event type(s) {', '.join(unknown)}; "
                    f"known: {', '.join(EventType.values)}."
                }
            )


class Delivery(models.Model):
    """One event sent (or to be sent) to one subscription, with its attempts."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.UUIDField(
        default=uuid.uuid4, help_text="The same for every subscription of one event"
    )
    event_type = models.CharField(max_length=30, choices=EventType.choices)
    creditor = models.ForeignKey("customers.Creditor", on_delete=models.CASCADE)
    payload = models.JSONField(help_text="The body sent, without the signature")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due")
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.subscription_id} ({self.status})"
