from django.db import models

from customers.models import Channel


class Decision(models.Model):
    """What personalisation chose for one action, with its reasons and scores."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE)
    action = models.CharField(max_length=20, help_text="The firmest step action")
    channel = models.CharField(max_length=10, blank=True)
    send_at = models.DateTimeField(null=True, blank=True)
    tone = models.CharField(max_length=12)
    variant = models.CharField(max_length=20, default="a")
    language = models.CharField(max_length=8)
    payment_options = models.JSONField(default=list)
    # One sentence per question (channel, send_time, tone, payment_options).
    reasons = models.JSONField(default=dict)
    scores = models.JSONField(default=dict)
    policy = models.CharField(max_length=40)
    # The propensity model's version; every model asked is in `model_versions`.
    model_version = models.CharField(max_length=40, blank=True)
    # What each learned answer came from: propensity, time, method → version.
    model_versions = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.channel or 'no channel'} / {self.tone} ({self.policy})"


class ModelVersion(models.Model):
    """One trained model in the registry: what it learned from and how well.

    At most one version per kind is active (a partial unique constraint); the
    decision records the version that scored it (`Decision.model_version`).
    """

    class Kind(models.TextChoices):
        PROPENSITY = "propensity", "Payment propensity"
        SEND_TIME = "send_time", "Send time"
        PAYMENT_METHOD = "payment_method", "Payment method"
        CHANNEL_UPLIFT = "channel_uplift", "Channel uplift"
        TONE = "tone", "Tone"

    class Status(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    # kind-source-timestamp: "channel_uplift-taiwan-…" takes 42 characters.
    version = models.CharField(max_length=60, unique=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.CANDIDATE
    )
    source = models.CharField(
        max_length=20, help_text="What it was trained on: product, ibm or taiwan"
    )
    algorithm = models.CharField(max_length=60)
    window_start = models.DateField(null=True, blank=True)
    window_end = models.DateField(null=True, blank=True)
    features = models.JSONField(default=list)
    # ROC AUC, Brier score, the base rate's Brier score, the calibration table
    # and the sizes of the training and held-out sets.
    metrics = models.JSONField(default=dict)
    path = models.CharField(max_length=300, help_text="The joblib file")
    reason = models.CharField(max_length=300, blank=True)
    trained_at = models.DateTimeField()
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=100, help_text="user:<id> or system:<job>")

    class Meta:
        ordering = ["-trained_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(status="active"),
                name="model_one_active_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version} ({self.status})"

    @property
    def auc(self) -> float | None:
        return self.metrics.get("roc_auc")


class ChannelCost(models.Model):
    """What one contact on a channel costs: for every creditor (no creditor) or
    for one, which then outranks the general figure. The channel decision weighs
    it against the expected recovery; the simulation and the results count it."""

    creditor = models.ForeignKey(
        "customers.Creditor",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text="Empty: the cost for every creditor without its own",
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    cost = models.DecimalField(
        max_digits=8,
        decimal_places=4,
        help_text="In the creditor's own currency (its default currency)",
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["creditor_id", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "channel"],
                condition=models.Q(creditor__isnull=False),
                name="channel_cost_one_per_creditor",
            ),
            models.UniqueConstraint(
                fields=["channel"],
                condition=models.Q(creditor__isnull=True),
                name="channel_cost_one_general",
            ),
            models.CheckConstraint(
                condition=models.Q(cost__gte=0), name="channel_cost_not_negative"
            ),
        ]

    def __str__(self) -> str:
        who = self.creditor or "every creditor"
        return f"{self.channel}: {self.cost} ({who})"
