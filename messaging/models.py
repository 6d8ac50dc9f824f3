from django.db import models

from customers.models import Channel

MONEY = {"max_digits": 18, "decimal_places": 6}


class Message(models.Model):
    """One message to one debtor on one channel, listing one or more claims."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    creditor = models.ForeignKey("customers.Creditor", on_delete=models.PROTECT)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="messages"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # Derived from the case steps the message carries: the same steps can never
    # produce a second message, however often the run executes.
    idempotency_key = models.CharField(max_length=80, unique=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PLANNED
    )
    decision = models.OneToOneField(
        "personalisation.Decision", on_delete=models.PROTECT, related_name="message"
    )
    run = models.ForeignKey("dunning.Run", null=True, blank=True, on_delete=models.SET_NULL)
    action_date = models.DateField(help_text="Creditor-local date of the steps")
    scheduled_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    recipient = models.CharField(max_length=300, blank=True)
    language = models.CharField(max_length=8)
    tone = models.CharField(max_length=12)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True, help_text="Rendered content as sent")
    file_path = models.CharField(max_length=500, blank=True)
    status_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-scheduled_at", "-id"]
        indexes = [
            models.Index(fields=["status", "scheduled_at"], name="message_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.customer_id} ({self.status})"


class MessageItem(models.Model):
    """A claim listed in a message, at its own level and amount."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="items")
    case_step = models.OneToOneField(
        "dunning.CaseStep", on_delete=models.PROTECT, related_name="message_item"
    )
    invoice = models.ForeignKey("payments.Invoice", on_delete=models.PROTECT)
    level = models.PositiveSmallIntegerField()
    action = models.CharField(max_length=20)
    open_amount = models.DecimalField(**MONEY, help_text="At planning; resent as of sending")
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["invoice__due_on", "id"]
