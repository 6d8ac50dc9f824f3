"""What happened to a message after it left: provider ids, status events, alerts."""

from django.conf import settings
from django.db import models

from customers.models import Channel


class Delivery(models.Model):
    """One sent message as its provider knows it.

    The provider's id is what status webhooks refer to; the fallback fields say
    where the claims of a bounced message went.
    """

    message = models.OneToOneField(
        "messaging.Message", on_delete=models.CASCADE, related_name="delivery"
    )
    creditor = models.ForeignKey(
        "customers.Creditor",
        on_delete=models.CASCADE,
        related_name="message_deliveries",
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    provider = models.CharField(max_length=20)
    provider_message_id = models.CharField(max_length=200)
    sent_at = models.DateTimeField()
    # The first final failure (hard bounce or failed): what the alert counts.
    failed_at = models.DateTimeField(null=True, blank=True)
    fallback_message = models.OneToOneField(
        "messaging.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="fallback_of",
    )
    fallback_note = models.CharField(max_length=300, blank=True)
    # The claims (message item ids) that moved to the fallback message.
    moved_items = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_message_id"],
                name="delivery_unique_provider_message",
            )
        ]
        indexes = [
            models.Index(
                fields=["creditor", "channel", "sent_at"], name="delivery_rate"
            ),
        ]

    def __str__(self) -> str:
        return f"Delivery of message {self.message_id} ({self.provider})"


class DeliveryEvent(models.Model):
    """One status of one message, as a provider or the debtor's click reported it."""

    class Kind(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        OPENED = "opened", "Opened"
        CLICKED = "clicked", "Clicked"
        BOUNCED = "bounced", "Bounced"
        FAILED = "failed", "Failed"
        COMPLAINED = "complained", "Complained"

    class Bounce(models.TextChoices):
        HARD = "hard", "Hard"
        SOFT = "soft", "Soft"

    message = models.ForeignKey(
        "messaging.Message", on_delete=models.CASCADE, related_name="delivery_events"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    bounce = models.CharField(max_length=4, choices=Bounce.choices, blank=True)
    provider = models.CharField(max_length=20)
    # The provider's id of the event: a webhook delivered twice stores one row.
    provider_event_id = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_event_id"],
                condition=~models.Q(provider_event_id=""),
                name="delivery_event_unique_provider_event",
            )
        ]
        indexes = [models.Index(fields=["message", "kind"], name="event_kind")]

    def __str__(self) -> str:
        bounce = f" ({self.bounce})" if self.bounce else ""
        return f"{self.get_kind_display()}{bounce} of message {self.message_id}"

    @property
    def is_final_failure(self) -> bool:
        return self.kind == self.Kind.FAILED or (
            self.kind == self.Kind.BOUNCED and self.bounce == self.Bounce.HARD
        )


class ChannelAlert(models.Model):
    """A channel of a creditor whose failure rate jumped above its baseline."""

    creditor = models.ForeignKey("customers.Creditor", on_delete=models.CASCADE)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    opened_at = models.DateTimeField()
    window_start = models.DateTimeField()
    window_messages = models.PositiveIntegerField()
    window_failures = models.PositiveIntegerField()
    # Rates as fractions (0.25 = 25 %), four decimal places.
    window_rate = models.DecimalField(max_digits=6, decimal_places=4)
    baseline_messages = models.PositiveIntegerField()
    baseline_failures = models.PositiveIntegerField()
    baseline_rate = models.DecimalField(max_digits=6, decimal_places=4)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        permissions = [("acknowledge_channelalert", "Can acknowledge channel alerts")]
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "channel"],
                condition=models.Q(acknowledged_at__isnull=True),
                name="channel_alert_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} failures of {self.creditor}"

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None
