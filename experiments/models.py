"""Experiments on one decision of personalisation, their arms and assignments.

An experiment varies one answer of `personalisation.decide` (the wording
variant, the channel or the payment options offered) for the debtors in its
scope. Each debtor is assigned once (sticky) to an arm or to the holdout,
which gets the standard answer. Results are computed from the assignments,
messages and ledger (`experiments.results`), never from counters.
"""

import secrets
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from customers.models import Channel
from dunning.models import Step

PAYMENT_OPTIONS = ["card", "paypal", "bank_transfer", "direct_debit", "instalments"]


def new_salt() -> str:
    return secrets.token_hex(8)


class Experiment(models.Model):
    class Decides(models.TextChoices):
        VARIANT = "variant", "Wording variant"
        CHANNEL = "channel", "Channel"
        OFFER = "offer", "Payment options offered"
        SEND_HOUR = "send_hour", "Send time (local hour)"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"

    class Allocation(models.TextChoices):
        WEIGHTS = "weights", "Fixed weights"
        THOMPSON = "thompson", "Thompson sampling after the burn-in"

    class Metric(models.TextChoices):
        PAID_IN_FULL = "paid_in_full", "The message's claims paid in full"
        ANY_PAYMENT = "any_payment", "Any payment by the debtor"

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    decides = models.CharField(
        max_length=10, choices=Decides.choices, default=Decides.VARIANT
    )
    creditor = models.ForeignKey(
        "customers.Creditor",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Empty: the debtors of every creditor",
    )
    step = models.ForeignKey(
        "dunning.Step",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Empty: any step (narrow with the action)",
    )
    action = models.CharField(
        max_length=20,
        choices=Step.Action.choices,
        blank=True,
        help_text="Empty: any action; else only decisions whose firmest action is it",
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.CharField(max_length=100, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.CharField(max_length=100, blank=True)
    stop_reason = models.CharField(max_length=300, blank=True)
    holdout_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("10"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(50))],
        help_text="Share of debtors who get the standard answer, in per cent",
    )
    allocation = models.CharField(
        max_length=10, choices=Allocation.choices, default=Allocation.WEIGHTS
    )
    burn_in = models.PositiveIntegerField(
        default=100,
        help_text="Assignments per arm by weight before Thompson sampling starts",
    )
    metric = models.CharField(
        max_length=15, choices=Metric.choices, default=Metric.PAID_IN_FULL
    )
    window_days = models.PositiveSmallIntegerField(
        default=14,
        validators=[MinValueValidator(1)],
        help_text="A conversion counts when it happens within this many days "
        "of the message's action date",
    )
    min_sample = models.PositiveIntegerField(
        default=200, help_text="Assignments every arm and the holdout need first"
    )
    max_sample = models.PositiveIntegerField(
        default=5000,
        help_text="Assignments per arm after which no difference is the answer",
    )
    p_best = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.95"),
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal(1))],
        help_text="Probability to be best at which an arm wins",
    )
    # Hashed with the customer id: the same debtor lands in the same place
    # every time, a new experiment shuffles them afresh.
    salt = models.CharField(max_length=32, default=new_salt, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def holdout_share(self) -> float:
        return float(self.holdout_percent) / 100

    def covers(self, step_ids: set[int], action: str) -> bool:
        """Whether a decision for these steps and firmest action is in scope."""
        if self.step_id is not None and self.step_id not in step_ids:
            return False
        return not self.action or self.action == action


class Arm(models.Model):
    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, related_name="arms"
    )
    key = models.SlugField(max_length=20)
    label = models.CharField(max_length=100, blank=True)
    value = models.CharField(
        max_length=200,
        help_text='The answer: a variant ("b"), a channel ("sms") or payment '
        'options in order ("card,instalments")',
    )
    weight = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal(1),
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["experiment", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "key"], name="arm_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return self.label or self.key

    def value_error(self, decides: str) -> str:
        """Why the value cannot be an answer to `decides`, or ""."""
        if decides == Experiment.Decides.VARIANT:
            if not self.value or len(self.value) > 20:
                return "a variant is 1 to 20 characters"
        elif decides == Experiment.Decides.CHANNEL:
            if self.value not in Channel.values:
                return f"a channel is one of {', '.join(Channel.values)}"
        elif decides == Experiment.Decides.SEND_HOUR:
            if self.hour is None:
                return "a send time is a local time as HH:MM, e.g. 18:00"
        elif decides == Experiment.Decides.OFFER:
            options = self.options
            if not options or any(o not in PAYMENT_OPTIONS for o in options):
                return f"payment options are some of {', '.join(PAYMENT_OPTIONS)}"
        return ""

    @property
    def hour(self):
        """The arm's local send time of a send-hour experiment, or None."""
        from datetime import time

        try:
            return time.fromisoformat(self.value.strip())
        except ValueError:
            return None

    @property
    def options(self) -> list[str]:
        return [o.strip() for o in self.value.split(",") if o.strip()]


class Assignment(models.Model):
    """Where a debtor is in an experiment: an arm, or the holdout (no arm)."""

    class Method(models.TextChoices):
        HOLDOUT = "holdout", "Holdout"
        WEIGHTS = "weights", "By weight"
        BURN_IN = "burn_in", "By weight during the burn-in"
        THOMPSON = "thompson", "Thompson sampling"

    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, related_name="assignments"
    )
    arm = models.ForeignKey(Arm, null=True, blank=True, on_delete=models.PROTECT)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE)
    # The decision that assigned the debtor; its message is the one whose
    # outcome counts.
    decision = models.OneToOneField(
        "personalisation.Decision",
        on_delete=models.PROTECT,
        related_name="assignment",
    )
    method = models.CharField(max_length=10, choices=Method.choices)
    assigned_at = models.DateTimeField()

    class Meta:
        ordering = ["experiment", "assigned_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "customer"], name="assignment_once_per_debtor"
            ),
        ]
        indexes = [models.Index(fields=["experiment", "arm"], name="assignment_arm")]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.experiment_id}: {self.arm or 'holdout'}"
