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
    run = models.ForeignKey(
        "dunning.Run", null=True, blank=True, on_delete=models.SET_NULL
    )
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
    # The provider's id of the accepted message (SMS sid, e-mail Message-ID,
    # letter file name): status callbacks of the provider refer to it.
    provider_id = models.CharField(max_length=200, blank=True, db_index=True)
    # Sending attempts made; a transient failure puts the message back to
    # `planned` with the next attempt's time (docs/ARCHITECTURE.md, dispatch).
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When a failed attempt is tried again"
    )
    last_error = models.CharField(max_length=300, blank=True)
    # Set when a worker claims the message; a message still `sending` long after
    # it was claimed lost its worker (messaging.services.interrupted_sends_fail).
    sending_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-scheduled_at", "-id"]
        indexes = [
            models.Index(fields=["status", "scheduled_at"], name="message_due"),
            models.Index(
                fields=["status", "next_attempt_at"], name="message_retry_due"
            ),
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
    open_amount = models.DecimalField(
        **MONEY, help_text="At planning; resent as of sending"
    )
    # What the message showed for the claim when it went out (fees, interest
    # and payments up to then); empty before sending and for a claim left out.
    sent_amount = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="As of sending, in `currency`"
    )
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["invoice__due_on", "id"]

    def __str__(self) -> str:
        return f"Claim {self.invoice_id} at level {self.level} ({self.action})"


class MessageTemplate(models.Model):
    """The wording of one action on one channel, in one tone and language.

    `body` is Django template syntax over the documented context
    (docs/TEMPLATES.md): for e-mail the text body (the HTML is generated from it
    unless `html_body` is given), for SMS and WhatsApp the whole text, for a
    letter its main text block (address field, claim table and payment details
    stay in the fixed layout).
    """

    class Action(models.TextChoices):
        # The same codes as dunning.Step.Action.
        REMINDER = "reminder", "Reminder"
        NOTICE = "notice", "Dunning notice"
        FINAL_NOTICE = "final_notice", "Final notice"
        HANDOVER = "handover", "Hand over to collection agency"

    class Tone(models.TextChoices):
        EMPATHETIC = "empathetic", "Empathetic"
        NEUTRAL = "neutral", "Neutral"
        FIRM = "firm", "Firm"

    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        GERMAN = "de", "German"

    action = models.CharField(max_length=20, choices=Action.choices)
    step = models.ForeignKey(
        "dunning.Step",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        limit_choices_to={"plan__replaced_by__isnull": True},
        related_name="message_templates",
        help_text="Empty: every step with this action",
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    tone = models.CharField(max_length=12, choices=Tone.choices)
    language = models.CharField(max_length=8, choices=Language.choices)
    variant = models.SlugField(
        max_length=20,
        default="a",
        help_text='Experiment arm, as the decision\'s variant; "a" is the default',
    )
    subject = models.CharField(
        max_length=300, help_text="E-mail subject, letter heading; unused by SMS"
    )
    body = models.TextField()
    html_body = models.TextField(
        blank=True,
        help_text="E-mail only, optional: HTML inside the branded layout instead "
        "of the text body's paragraphs",
    )
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["action", "channel", "language", "tone", "variant"]
        constraints = [
            # Two constraints because NULL steps are distinct to a unique index.
            models.UniqueConstraint(
                fields=["action", "channel", "tone", "language", "variant"],
                condition=models.Q(step__isnull=True),
                name="message_template_unique_any_step",
                violation_error_message="A template for this action, channel, "
                "tone, language and variant (any step) already exists.",
            ),
            models.UniqueConstraint(
                fields=["action", "step", "channel", "tone", "language", "variant"],
                condition=models.Q(step__isnull=False),
                name="message_template_unique_step",
                violation_error_message="A template for this step, channel, "
                "tone, language and variant already exists.",
            ),
        ]

    def __str__(self) -> str:
        step = f" step {self.step_id}" if self.step_id else ""
        return (
            f"{self.get_action_display()}{step} / {self.get_channel_display()} / "
            f"{self.tone} / {self.language} / {self.variant}"
        )

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from messaging.templating import template_problems

        errors = {}
        if self.step_id and self.step.action != self.action:
            errors["step"] = [
                f"This step's action is {self.step.get_action_display()!r}: choose "
                "a step with the template's action, or none."
            ]
        if self.html_body and self.channel != Channel.EMAIL:
            errors["html_body"] = ["Only e-mail templates have an HTML body."]
        errors.update(
            template_problems(
                action=self.action,
                channel=self.channel,
                tone=self.tone,
                language=self.language,
                subject=self.subject,
                body=self.body,
                html_body=self.html_body,
            )
        )
        if errors:
            raise ValidationError(errors)
