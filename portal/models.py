import hashlib
import secrets

from django.db import models
from django.utils import timezone

MONEY = {"max_digits": 18, "decimal_places": 6}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class PortalLink(models.Model):
    """A personal link: only the hash of its random token is stored."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="portal_links"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    message = models.ForeignKey(
        "messaging.Message", null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Link {self.pk} of customer {self.customer_id}"

    @staticmethod
    def new_token() -> str:
        # 32 bytes: 256 bits of randomness, URL-safe.
        return secrets.token_urlsafe(32)

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class Checkout(models.Model):
    """A payment started on the debtor page with a payment provider."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        CANCELLED = "cancelled", "Cancelled"

    link = models.ForeignKey(PortalLink, on_delete=models.PROTECT)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT)
    provider = models.CharField(max_length=20, default="test")
    provider_reference = models.CharField(max_length=100, unique=True)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    invoice_ids = models.JSONField(default=list)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    payment = models.ForeignKey(
        "payments.Payment", null=True, blank=True, on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Checkout {self.provider_reference} ({self.status})"
