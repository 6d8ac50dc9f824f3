"""The contact policy (when, how often and on which channels a debtor may be
contacted) and the opt-outs debtors give per channel.

Policies are configuration: one product default, at most one per creditor, and
any number that rules name to override them for the claims they match.
"""

from datetime import time

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from customers.models import Channel


# Callables, not fixed times: Django's check of a fixed time default
# (fields.W161) fires whenever it runs within seconds of that time of day.
def quiet_hours_end() -> time:
    return time(8, 0)


def quiet_hours_start() -> time:
    return time(20, 0)


class ContactPolicy(models.Model):
    class WhenCapped(models.TextChoices):
        NEXT_SLOT = "next_slot", "Keep the channel, wait for its next allowed slot"
        OTHER_CHANNEL = "other_channel", "Switch to another allowed channel"

    name = models.CharField(max_length=100, unique=True)
    product_default = models.BooleanField(
        default=False,
        help_text="Applies to every creditor without its own policy (only one)",
    )
    creditor = models.OneToOneField(
        "customers.Creditor",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="contact_policy",
        help_text="Applies to this creditor's debtors. Leave empty for the product "
        "default or for a policy that only rules name.",
    )
    description = models.TextField(blank=True)

    send_from = models.TimeField(
        default=quiet_hours_end, help_text="Earliest sending time, debtor's local time"
    )
    send_until = models.TimeField(
        default=quiet_hours_start,
        help_text="Nothing goes out at or after this time, debtor's local time",
    )
    weekends = models.BooleanField(
        default=False, help_text="Send on Saturdays and Sundays"
    )
    public_holidays = models.BooleanField(
        default=False, help_text="Send on public holidays of the debtor's country"
    )

    max_contacts = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        default=7,
        help_text="At most this many contacts on all channels together …",
    )
    max_contacts_days = models.PositiveSmallIntegerField(
        null=True, blank=True, default=7, help_text="… within this many days"
    )
    min_gap_hours = models.PositiveSmallIntegerField(
        default=24, help_text="Minimum time between two contacts, in hours (0: none)"
    )
    when_capped = models.CharField(
        max_length=20,
        choices=WhenCapped.choices,
        default=WhenCapped.NEXT_SLOT,
        help_text="When a channel's own cap is reached. The total cap and the "
        "minimum gap always move the message to its next allowed slot.",
    )

    email_enabled = models.BooleanField("e-mail allowed", default=True)
    email_max = models.PositiveSmallIntegerField(
        "e-mails at most", null=True, blank=True
    )
    email_max_days = models.PositiveSmallIntegerField(
        "within days", null=True, blank=True
    )
    sms_enabled = models.BooleanField("SMS allowed", default=True)
    sms_max = models.PositiveSmallIntegerField("SMS at most", null=True, blank=True)
    sms_max_days = models.PositiveSmallIntegerField(
        "within days", null=True, blank=True
    )
    whatsapp_enabled = models.BooleanField("WhatsApp allowed", default=True)
    whatsapp_max = models.PositiveSmallIntegerField(
        "WhatsApp messages at most", null=True, blank=True
    )
    whatsapp_max_days = models.PositiveSmallIntegerField(
        "within days", null=True, blank=True
    )
    letter_enabled = models.BooleanField("letters allowed", default=True)
    letter_max = models.PositiveSmallIntegerField(
        "letters at most", null=True, blank=True
    )
    letter_max_days = models.PositiveSmallIntegerField(
        "within days", null=True, blank=True
    )

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "contact policies"
        ordering = ["-product_default", "creditor__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["product_default"],
                condition=Q(product_default=True),
                name="contact_policy_one_product_default",
                violation_error_message="There is already a product default "
                "contact policy; untick it there first.",
            ),
            models.CheckConstraint(
                condition=Q(send_from__lt=models.F("send_until")),
                name="contact_policy_window_not_empty",
                violation_error_message="The sending window is empty: its end "
                "must be after its start.",
            ),
            models.CheckConstraint(
                condition=Q(product_default=False) | Q(creditor__isnull=True),
                name="contact_policy_default_has_no_creditor",
                violation_error_message="The product default applies to every "
                "creditor; leave the creditor empty.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def built_in(cls) -> "ContactPolicy":
        """The field defaults, for a database without a product default."""
        return cls(name="built-in default")

    @property
    def scope(self) -> str:
        if self.product_default:
            return "product default"
        if self.creditor_id:
            return f"creditor {self.creditor}"
        if self.pk is None:
            return "no policy configured"
        return "named by rules"

    def channel_enabled(self, channel: str) -> bool:
        return bool(getattr(self, f"{channel}_enabled", False))

    def channel_cap(self, channel: str) -> tuple[int, int] | None:
        """(contacts, days) on `channel`, or None without a cap."""
        most = getattr(self, f"{channel}_max", None)
        days = getattr(self, f"{channel}_max_days", None)
        return (most, days) if most and days else None

    def total_cap(self) -> tuple[int, int] | None:
        if self.max_contacts and self.max_contacts_days:
            return self.max_contacts, self.max_contacts_days
        return None

    def window_text(self) -> str:
        return f"{self.send_from:%H:%M}–{self.send_until:%H:%M}"

    def days_text(self) -> str:
        if self.weekends and self.public_holidays:
            return "every day"
        if self.weekends:
            return "every day but public holidays"
        if self.public_holidays:
            return "Monday to Friday, holidays included"
        return "working days"

    def longest_window_days(self) -> int:
        """The longest cap window or gap, in days: how far back contacts count."""
        windows = [cap[1] for cap in self._caps() if cap]
        return max([*windows, -(-self.min_gap_hours // 24)], default=0)

    def _caps(self):
        return [self.total_cap(), *(self.channel_cap(c) for c in Channel.values)]

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.send_from is not None and self.send_until is not None:
            if self.send_from >= self.send_until:
                errors.setdefault("send_until", []).append(
                    f"The sending window {self.window_text()} is empty: the end must "
                    "be after the start on the same day (no window across midnight)."
                )
        if self.product_default and self.creditor_id:
            errors.setdefault("creditor", []).append(
                "The product default applies to every creditor; leave this empty "
                "or untick 'product default'."
            )
        pairs = [("max_contacts", "max_contacts_days", "contacts in total")] + [
            (f"{c}_max", f"{c}_max_days", label.lower()) for c, label in Channel.choices
        ]
        for most_field, days_field, what in pairs:
            most, days = getattr(self, most_field), getattr(self, days_field)
            if most == 0:
                errors.setdefault(most_field, []).append(
                    f"A cap of 0 {what} would block the channel for good; leave it "
                    "empty for no cap, or disallow the channel."
                )
            if days == 0:
                errors.setdefault(days_field, []).append(
                    "A window of 0 days counts nothing; use at least 1."
                )
            if (most is None) != (days is None):
                field = days_field if days is None else most_field
                errors.setdefault(field, []).append(
                    f"A cap on {what} needs both the number and the days (or neither)."
                )
        if not any(self.channel_enabled(c) for c in Channel.values):
            errors.setdefault("__all__", []).append(
                "Every channel is disallowed, so no debtor could be contacted. "
                "Allow at least one channel (to stop contacts, pause the cases)."
            )
        if errors:
            raise ValidationError(errors)


class OptOut(models.Model):
    """A debtor's request to get nothing more on one channel.

    Recording one (`contact.services.opt_out_record`) also withdraws the
    customer's consent for the channel; the row is the evidence of when and how.
    """

    class Source(models.TextChoices):
        SMS_STOP = "sms_stop", "SMS STOP reply"
        EMAIL_UNSUBSCRIBE = "email_unsubscribe", "E-mail unsubscribe link"
        CLERK = "clerk", "Recorded by a clerk"
        IMPORT = "import", "Import"

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="opt_outs"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    source = models.CharField(max_length=20, choices=Source.choices)
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=300, blank=True)
    actor = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name = "opt-out"
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "channel"], name="optout_customer")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} opt-out of customer {self.customer_id}"
