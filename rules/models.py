"""Rule sets, their priority-ordered rules, and each rule's conditions.

A rule set is versioned: managers edit a draft, preview it with the dry-run and
activate it, which retires the set active before in the same scope (one creditor,
or every creditor when the set has none). Active and retired sets are never
edited; a change starts as a copy. Conditions are data (attribute, operator,
value) checked against `rules.attributes`; nothing a manager types is evaluated
as code.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from customers.models import Channel
from dunning.models import Tone


class PaymentOption(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CARD = "card", "Card"
    DIRECT_DEBIT = "direct_debit", "Direct debit"
    PAYPAL = "paypal", "PayPal"
    INSTALMENTS = "instalments", "Instalment plan"


class RuleSet(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    name = models.CharField(max_length=100)
    creditor = models.ForeignKey(
        "customers.Creditor",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Empty: applies to every creditor, after the creditor's own set",
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT, editable=False
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    copied_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, editable=False
    )
    description = models.TextField(blank=True)
    created_by = models.CharField(max_length=100, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_by = models.CharField(max_length=100, blank=True, editable=False)
    activated_at = models.DateTimeField(null=True, blank=True, editable=False)
    retired_by = models.CharField(max_length=100, blank=True, editable=False)
    retired_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["creditor_id", "-version", "-id"]
        constraints = [
            # One active set per creditor, and one global one (NULLs are
            # distinct in a unique index, hence the second constraint).
            models.UniqueConstraint(
                fields=["creditor"],
                condition=Q(status="active"),
                name="ruleset_one_active_per_creditor",
            ),
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="active", creditor__isnull=True),
                name="ruleset_one_active_global",
            ),
        ]

    def __str__(self) -> str:
        scope = self.creditor.name if self.creditor_id else "all creditors"
        return f"{self.name} v{self.version} ({scope}, {self.get_status_display()})"

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT


class Rule(models.Model):
    """Conditions (rows in groups) and the effects that apply when they hold."""

    rule_set = models.ForeignKey(
        RuleSet, on_delete=models.CASCADE, related_name="rules"
    )
    priority = models.PositiveIntegerField(
        default=100, help_text="Lower runs first; the first rule that matches applies"
    )
    name = models.CharField(max_length=150)
    enabled = models.BooleanField(default=True)
    # Effects. Each is optional; a rule needs at least one.
    plan = models.ForeignKey(
        "dunning.Plan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        limit_choices_to={"replaced_by__isnull": True},
        help_text="Plan for a claim whose case opens now (existing cases keep theirs)",
    )
    tone = models.CharField(
        max_length=12,
        choices=Tone.choices,
        blank=True,
        help_text="Set the tone (never below the step's tone floor)",
    )
    tone_cap = models.CharField(
        max_length=12,
        choices=Tone.choices,
        blank=True,
        help_text="At most this firm (the step's tone floor still wins)",
    )
    channels = models.JSONField(
        default=list,
        blank=True,
        help_text="Only these channels (consent and address still apply)",
    )
    preferred_channel = models.CharField(
        max_length=10,
        choices=Channel.choices,
        blank=True,
        help_text="Use this channel first when the debtor can be reached on it",
    )
    payment_options = models.JSONField(
        default=list, blank=True, help_text="Offer exactly these ways to pay"
    )
    contact_policy = models.ForeignKey(
        "contact.ContactPolicy",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rules",
        help_text="Contact these debtors under this policy instead of the "
        "creditor's or the product default",
    )
    waive_fee = models.BooleanField(default=False, help_text="Charge no step fee")
    skip_step = models.BooleanField(
        default=False,
        help_text="Pass over the step that is due: no message, no fee; the next "
        "step follows at its usual gap",
    )
    hold_for_review = models.BooleanField(
        default=False,
        help_text="Pause the case for a clerk (once per case and rule); resuming "
        "the case releases it",
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["rule_set", "priority", "id"]

    def __str__(self) -> str:
        return f"#{self.priority} {self.name}"

    def clean(self):
        from rules.validation import validate_effects

        if self.rule_set_id and not self.rule_set.is_editable:
            raise ValidationError(
                f"The rule set {self.rule_set} is {self.rule_set.status}; only drafts "
                "change. Copy it as a new draft (action on the rule sets list)."
            )
        validate_effects(self)

    def effects_text(self) -> str:
        from rules.engine import effects_text

        return effects_text(self)


class Condition(models.Model):
    """One row of a rule's conditions: attribute, operator and value.

    Rows with the same group number must all hold (AND); the rule matches when
    any one group holds (OR).
    """

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="conditions")
    group = models.PositiveSmallIntegerField(
        default=1, help_text="Rows of one group must all hold; any group suffices"
    )
    attribute = models.CharField(max_length=40)
    operator = models.CharField(max_length=12)
    value = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["rule", "group", "id"]

    def __str__(self) -> str:
        from rules.attributes import condition_text

        return condition_text(self.attribute, self.operator, self.value)

    def clean(self):
        from rules.validation import parse_condition

        parse_condition(self.attribute, self.operator, self.value)
