"""Replies from debtors: what came in, what it is about, and what to do with it.

A reply is stored once per provider and provider message id, however often the
provider delivers it. Triage (`replies.services.reply_triage`) matches it to a
customer and cases, classifies its intent and proposes a case action; a clerk
confirms the proposal with one click, works it from the queue, or dismisses it.
"""

from django.conf import settings
from django.db import models

MONEY = {"max_digits": 18, "decimal_places": 6}


class Reply(models.Model):
    class Channel(models.TextChoices):
        # The channels a debtor can answer on; a letter's answer arrives by one
        # of these or by phone.
        EMAIL = "email", "E-mail"
        SMS = "sms", "SMS"
        WHATSAPP = "whatsapp", "WhatsApp"

    class Intent(models.TextChoices):
        ALREADY_PAID = "already_paid", "Already paid"
        DISPUTE = "dispute", "Dispute"
        PROMISE_TO_PAY = "promise_to_pay", "Promise to pay"
        HARDSHIP = "hardship", "Hardship or instalment request"
        ADDRESS_CHANGE = "address_change", "Address change"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        NEW = "new", "New"
        PROPOSED = "proposed", "Proposed"
        CONFIRMED = "confirmed", "Confirmed"
        DISMISSED = "dismissed", "Dismissed"
        QUEUED = "queued", "In queue"

    class Action(models.TextChoices):
        PAUSE = "pause", "Pause pending verification"
        DISPUTE = "dispute", "Mark disputed"
        PROMISE = "promise", "Record the promise to pay"
        NONE = "none", "No case action: handled by a clerk"

    OPEN = [Status.NEW, Status.PROPOSED, Status.QUEUED]

    channel = models.CharField(max_length=10, choices=Channel.choices)
    provider = models.CharField(
        max_length=20, help_text="Where it came from: imap, mailgun, twilio, generic"
    )
    provider_message_id = models.CharField(
        max_length=300, help_text="Message-ID or the provider's id; unique per provider"
    )
    sender = models.CharField(max_length=300, help_text="E-mail address or phone")
    subject = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True, help_text="The text as received")
    cleaned_text = models.TextField(
        blank=True, help_text="Without quoted history and signature: what was read"
    )
    received_at = models.DateTimeField()
    in_reply_to = models.CharField(max_length=1000, blank=True)
    references = models.TextField(blank=True)
    raw = models.TextField(
        blank=True, help_text="The raw message or the provider's payload"
    )

    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replies",
    )
    replied_to = models.ForeignKey(
        "messaging.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replies",
        help_text="Our message this answers, from In-Reply-To or References",
    )
    cases = models.ManyToManyField("dunning.Case", blank=True, related_name="replies")
    match_notes = models.CharField(
        max_length=500, blank=True, help_text="How the customer and cases were found"
    )

    intent = models.CharField(max_length=20, choices=Intent.choices, blank=True)
    confidence = models.FloatField(
        null=True, blank=True, help_text="The classifier's probability of the intent"
    )
    scores = models.JSONField(default=dict, blank=True)
    classifier_version = models.CharField(max_length=60, blank=True)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    queue_reason = models.CharField(max_length=300, blank=True)
    proposed_action = models.CharField(
        max_length=10, choices=Action.choices, blank=True
    )
    pause_until = models.DateField(null=True, blank=True)
    promised_on = models.DateField(
        null=True, blank=True, help_text="Parsed from the text, if it names a date"
    )
    promised_amount = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="Parsed from the text, if any"
    )

    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "replies"
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_message_id"],
                name="reply_once_per_provider_message",
            )
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="reply_status"),
        ]

    def __str__(self) -> str:
        return f"Reply {self.pk} ({self.get_channel_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN
