"""What the product records about its handling of personal data itself."""

from django.conf import settings
from django.db import models

# Ten years: the longest period German law keeps books and vouchers for
# (HGB §257, AO §147); a creditor with a shorter duty sets its own.
DEFAULT_RETENTION_DAYS = 3650


class RetentionPolicy(models.Model):
    """How long a creditor keeps a settled debtor's personal data.

    Kept here rather than on `Creditor`: the creditor's configuration history
    (audit) would otherwise change with every field added for privacy.
    """

    creditor = models.OneToOneField(
        "customers.Creditor", on_delete=models.CASCADE, related_name="retention"
    )
    retention_days = models.PositiveIntegerField(
        default=DEFAULT_RETENTION_DAYS,
        help_text="Days after a debtor's last claim was settled before their "
        "personal data is erased; the ledger stays",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        return f"{self.creditor}: {self.retention_days} days"


class Erasure(models.Model):
    """A debtor's personal data was erased: who, when and why, never what."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.PROTECT, related_name="erasure"
    )
    erased_at = models.DateTimeField()
    actor = models.CharField(max_length=100, help_text="user:<id> or system:<job>")
    reason = models.CharField(max_length=300)
    forced = models.BooleanField(
        default=False, help_text="A manager erased while a claim was still open"
    )
    # Rows changed per table and files removed; counts only.
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-erased_at"]

    def __str__(self) -> str:
        return f"Customer {self.customer_id} erased {self.erased_at:%Y-%m-%d}"


class AccessLog(models.Model):
    """A member of staff saw, changed, exported or erased a debtor's data."""

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        CHANGE = "change", "Changed"
        EXPORT = "export", "Exported"
        ERASE = "erase", "Erased"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept when the user account is deleted later.
    username = models.CharField(max_length=150)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+"
    )
    action = models.CharField(max_length=8, choices=Action.choices)
    page = models.CharField(max_length=100, help_text="The admin page or command")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "at"], name="accesslog_customer")]

    def __str__(self) -> str:
        return f"{self.username} {self.action} customer {self.customer_id}"
