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
    # The short address printed on a letter (portal/access.py): the hash of its
    # code, and the token sealed with a key only the printed passcode gives.
    # NULL, not "": unique among the links that have one.
    short_code_hash = models.CharField(  # noqa: DJ001
        max_length=64, unique=True, null=True
    )
    short_code_seal = models.CharField(max_length=96, blank=True)
    # The page language the debtor switched to with this link; empty: the
    # customer's own language.
    language = models.CharField(max_length=8, blank=True)

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


class EngagementEvent(models.Model):
    """A visit or a choice on the debtor page, for the creditor and the models.

    `details` holds what was chosen (claim ids, amounts as strings, dates), never
    free text the debtor typed: reasons stay on the clerk task or the claim.
    """

    class Kind(models.TextChoices):
        VISIT = "visit", "Visited the page"
        LANGUAGE = "language", "Switched language"
        PAY_STARTED = "pay_started", "Started a payment"
        CLAIMS_LEFT_OUT = "claims_left_out", "Left claims out of a payment"
        INSTALMENTS_PREVIEWED = "instalments_previewed", "Previewed instalments"
        INSTALMENTS_AGREED = "instalments_agreed", "Agreed an instalment plan"
        PROMISED = "promised", "Promised to pay"
        ALREADY_PAID = "already_paid", "Says already paid"
        DISPUTED = "disputed", "Disputed a claim"
        PREFERENCES = "preferences", "Changed contact preferences"

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+"
    )
    link = models.ForeignKey(PortalLink, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    invoice = models.ForeignKey(
        "payments.Invoice",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="engagement_events",
    )
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "created_at"], name="engagement_customer")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.customer_id})"


class ClerkTask(models.Model):
    """Something a debtor said on the page that a clerk must look at."""

    class Kind(models.TextChoices):
        ALREADY_PAID = "already_paid", "Debtor says already paid"
        DISPUTE = "dispute", "Debtor disputes the claim"
        LEFT_OUT = "left_out", "Debtor left the claim out of a payment"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE)
    invoice = models.ForeignKey(
        "payments.Invoice", on_delete=models.CASCADE, related_name="clerk_tasks"
    )
    reason = models.TextField(blank=True, help_text="In the debtor's own words")
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["done_at", "created_at", "id"]
        indexes = [
            models.Index(fields=["done_at", "created_at"], name="clerktask_open")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: claim {self.invoice_id}"


class SepaMandate(models.Model):
    """A SEPA direct debit mandate the debtor gave for an instalment plan."""

    # The claim and the plan's external id rather than a key to the plan: a
    # portal migration may not depend on payments' later migrations (audit's
    # roles migration depends on the latest portal one).
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE)
    invoice = models.ForeignKey(
        "payments.Invoice", on_delete=models.CASCADE, related_name="sepa_mandates"
    )
    plan_external_id = models.CharField(max_length=100, unique=True)
    iban = models.CharField(max_length=34)
    account_holder = models.CharField(max_length=200)
    reference = models.CharField(max_length=35, unique=True)
    signed_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Mandate {self.reference}"


class ProviderEvent(models.Model):
    """A payment provider's webhook event already handled: each is handled once."""

    provider = models.CharField(max_length=20)
    event_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="provider_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} event {self.event_id}"
