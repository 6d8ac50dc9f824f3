from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from django_fsm_log.decorators import fsm_log_by, fsm_log_description

from core.money import format_money

MONEY = {"max_digits": 18, "decimal_places": 6}


class Tone(models.TextChoices):
    EMPATHETIC = "empathetic", "Empathetic"
    NEUTRAL = "neutral", "Neutral"
    FIRM = "firm", "Firm"


TONE_ORDER = [Tone.EMPATHETIC, Tone.NEUTRAL, Tone.FIRM]


def firmer_tone(a: str, b: str) -> str:
    return max(a, b, key=TONE_ORDER.index)


class Plan(models.Model):
    """A manager-configured sequence of dunning steps."""

    name = models.CharField(max_length=100)
    creditor = models.ForeignKey(
        "customers.Creditor",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Empty: available to every creditor",
    )
    is_default = models.BooleanField(
        default=False, help_text="The product-wide plan for claims no rule assigns"
    )
    description = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    replaced_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="replaces",
        help_text="The version that took over when this one's steps were changed",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="one_default_plan",
            )
        ]

    def __str__(self) -> str:
        return self.name if self.version == 1 else f"{self.name} (v{self.version})"

    @property
    def is_current(self) -> bool:
        return self.replaced_by_id is None

    def current(self) -> "Plan":
        """The version that new cases of this plan follow."""
        plan = self
        while plan.replaced_by_id is not None:
            plan = plan.replaced_by
        return plan


class Step(models.Model):
    class Action(models.TextChoices):
        REMINDER = "reminder", "Reminder"
        NOTICE = "notice", "Dunning notice"
        FINAL_NOTICE = "final_notice", "Final notice"
        HANDOVER = "handover", "Hand over to collection agency"
        CALL = "call", "Call task for a clerk"

    class CountsFrom(models.TextChoices):
        DUE = "due", "the effective due date"
        PREVIOUS = "previous", "the previous step"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    action = models.CharField(max_length=20, choices=Action.choices)
    days = models.SmallIntegerField(
        help_text="Days after the effective due date (negative for a note before "
        "it) or after the previous step, as 'counts from' says"
    )
    counts_from = models.CharField(
        max_length=10, choices=CountsFrom.choices, default=CountsFrom.DUE
    )
    channels = models.JSONField(
        default=list,
        help_text='Allowed channels in order of preference, e.g. ["email"]',
    )

    class FeeKind(models.TextChoices):
        FIXED = "fixed", "Fixed amount"
        PERCENT = "percent", "Percentage of the open principal"

    fee_kind = models.CharField(
        max_length=10, choices=FeeKind.choices, default=FeeKind.FIXED
    )
    fee = models.DecimalField(
        **MONEY, default=0, help_text="Fixed fee in the claim's currency"
    )
    fee_percent = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        default=0,
        help_text="Percentage fee: percent of the claim's open principal",
    )
    fee_minimum = models.DecimalField(
        **MONEY,
        null=True,
        blank=True,
        help_text="Percentage fee: at least this, in the claim's currency",
    )
    fee_maximum = models.DecimalField(
        **MONEY,
        null=True,
        blank=True,
        help_text="Percentage fee: at most this, in the claim's currency",
    )
    tone_floor = models.CharField(
        max_length=12, choices=Tone.choices, default=Tone.NEUTRAL
    )
    minimum_amount = models.DecimalField(**MONEY, default=0)
    payment_days = models.PositiveSmallIntegerField(
        default=14, help_text="The new payment deadline, in days after the message"
    )
    # What an e-mail of this step carries (docs/ATTACHMENTS.md); other
    # channels ignore both.
    attach_letter = models.BooleanField(
        default=False,
        help_text="E-mail: attach the letter the letter channel would print, as PDF",
    )
    attach_invoices = models.BooleanField(
        default=False,
        help_text="E-mail: attach a copy of each listed claim's invoice, as PDF",
    )

    class Meta:
        ordering = ["plan", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "position"], name="step_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(fee__gte=0) & Q(fee_percent__gte=0),
                name="step_fee_not_negative",
                violation_error_message="A fee cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(fee_minimum__isnull=True)
                | Q(fee_maximum__isnull=True)
                | Q(fee_minimum__lte=F("fee_maximum")),
                name="step_fee_minimum_below_maximum",
                violation_error_message="The minimum fee is above the maximum fee.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} #{self.position} {self.name}"

    @property
    def offset(self) -> int:
        """Nominal days after the effective due date (see `dunning.plans`)."""
        if getattr(self, "_offset", None) is None:
            from dunning.plans import plan_offsets

            steps = list(self.plan.steps.order_by("position"))
            for step, offset in zip(steps, plan_offsets(steps), strict=True):
                if step.pk == self.pk:
                    self._offset = offset
        return self._offset

    def fee_for(self, open_principal: Decimal, currency: str) -> Decimal:
        """The fee this step charges on a claim, rounded to the currency."""
        from payments.fees import step_fee

        return step_fee(
            kind=self.fee_kind,
            fixed=self.fee,
            percent=self.fee_percent,
            minimum=self.fee_minimum,
            maximum=self.fee_maximum,
            open_principal=open_principal,
            currency=currency,
        )


class Case(ConcurrentTransitionMixin, models.Model):
    """The dunning workflow of one claim."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        IN_DUNNING = "in_dunning", "In dunning"
        PAUSED = "paused", "Paused"
        DISPUTED = "disputed", "Disputed"
        INSTALMENTS = "instalments", "In an instalment plan"
        HANDED_OVER = "handed_over", "Handed over"
        CLOSED_PAID = "closed_paid", "Closed: paid"
        CLOSED_WRITTEN_OFF = "closed_written_off", "Closed: written off"
        CLOSED_CANCELLED = "closed_cancelled", "Closed: cancelled"

    CLOSED = [State.CLOSED_PAID, State.CLOSED_WRITTEN_OFF, State.CLOSED_CANCELLED]
    ACTIVE = [State.OPEN, State.IN_DUNNING]
    LIVE = [
        State.OPEN,
        State.IN_DUNNING,
        State.PAUSED,
        State.DISPUTED,
        State.INSTALMENTS,
        State.HANDED_OVER,
    ]

    invoice = models.OneToOneField(
        "payments.Invoice", on_delete=models.PROTECT, related_name="case"
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT)
    creditor = models.ForeignKey("customers.Creditor", on_delete=models.PROTECT)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT)
    state = FSMField(default=State.OPEN, choices=State.choices, protected=True)
    current_step = models.ForeignKey(
        Step, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_step_on = models.DateField(null=True, blank=True)
    paused_until = models.DateField(null=True, blank=True)
    opened_on = models.DateField()
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["state"], name="case_state")]
        permissions = [
            ("work_case", "Can work cases: pause, promise, dispute, write off")
        ]

    def __str__(self) -> str:
        return f"Case {self.pk} ({self.get_state_display()})"

    # Transitions only change the state; services lock the row, call them and save
    # in one transaction (django-fsm never saves).
    @fsm_log_by
    @fsm_log_description
    @transition(field=state, source=State.OPEN, target=State.IN_DUNNING)
    def start(self, by=None, description=None):
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(field=state, source=[State.OPEN, State.IN_DUNNING], target=State.PAUSED)
    def pause(self, by=None, description=None):
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(field=state, source=State.PAUSED, target=State.IN_DUNNING)
    def resume(self, by=None, description=None):
        self.paused_until = None

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=state,
        source=[State.OPEN, State.IN_DUNNING, State.PAUSED],
        target=State.DISPUTED,
    )
    def dispute(self, by=None, description=None):
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(field=state, source=State.DISPUTED, target=State.IN_DUNNING)
    def resolve_dispute(self, by=None, description=None):
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(
        field=state,
        source=[State.OPEN, State.IN_DUNNING, State.PAUSED],
        target=State.INSTALMENTS,
    )
    def agree_instalments(self, by=None, description=None):
        self.paused_until = None

    @fsm_log_by
    @fsm_log_description
    @transition(field=state, source=State.INSTALMENTS, target=State.IN_DUNNING)
    def miss_instalment(self, by=None, description=None):
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(field=state, source=State.IN_DUNNING, target=State.HANDED_OVER)
    def hand_over(self, by=None, description=None):
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(field=state, source=LIVE, target=State.CLOSED_PAID)
    def close_paid(self, by=None, description=None):
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(field=state, source=State.CLOSED_PAID, target=State.IN_DUNNING)
    def reopen(self, by=None, description=None):
        # The money that closed it came back (a failed direct debit).
        self.closed_at = None

    @fsm_log_by
    @fsm_log_description
    @transition(field=state, source=LIVE, target=State.CLOSED_WRITTEN_OFF)
    def write_off(self, by=None, description=None):
        pass

    @fsm_log_by
    @fsm_log_description
    @transition(field=state, source=LIVE, target=State.CLOSED_CANCELLED)
    def cancel(self, by=None, description=None):
        pass


class Run(models.Model):
    """One execution of the dunning run, with its summary.

    A run that raised has its error and the figures of the batches it
    committed; a run whose process was killed keeps `finished_at` empty and
    counts as unfinished once `DUNNING_RUN_MAX_HOURS` have passed since it
    started.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"
        UNFINISHED = "unfinished", "Unfinished"

    run_date = models.DateField(
        null=True, blank=True, help_text="Empty: each creditor's today"
    )
    dry_run = models.BooleanField(default=False)
    actor = models.CharField(max_length=100)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(
        null=True, blank=True, help_text="When it ended, finished or failed"
    )
    error = models.TextField(blank=True, default="", help_text="Empty: no failure")
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Run {self.pk} for {self.run_date or 'today'}"

    def status(self, now=None) -> str:
        if self.error:
            return self.Status.FAILED
        if self.finished_at is not None:
            return self.Status.FINISHED
        if self.started_at < self.given_up_since(now):
            return self.Status.UNFINISHED
        return self.Status.RUNNING

    @classmethod
    def with_status(cls, status: str, now=None) -> Q:
        """The condition on runs that `status` returns `status` for."""
        given_up = cls.given_up_since(now)
        if status == cls.Status.FAILED:
            return ~Q(error="")
        if status == cls.Status.FINISHED:
            return Q(error="", finished_at__isnull=False)
        unfinished = Q(error="", finished_at__isnull=True)
        if status == cls.Status.UNFINISHED:
            return unfinished & Q(started_at__lt=given_up)
        return unfinished & Q(started_at__gte=given_up)

    @staticmethod
    def given_up_since(now=None):
        """A run started before this and not finished was killed."""
        longest = timedelta(hours=settings.DUNNING_RUN_MAX_HOURS)
        return (now or timezone.now()) - longest


class CaseStep(models.Model):
    """A step of a plan taken for a case: once, enforced by the database."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="steps_taken")
    step = models.ForeignKey(Step, on_delete=models.PROTECT, related_name="+")
    taken_on = models.DateField(help_text="Creditor-local date the step was due")
    taken_at = models.DateTimeField(auto_now_add=True)
    fee = models.DecimalField(**MONEY, default=0)
    open_amount = models.DecimalField(**MONEY, help_text="Claim's open amount then")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL)
    actor = models.CharField(max_length=100)

    class Meta:
        ordering = ["taken_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "step"], name="case_step_once")
        ]

    def __str__(self) -> str:
        return f"{self.step} on {self.taken_on}"


class Promise(models.Model):
    """A debtor's promise to pay by a date; its case pauses until then."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        KEPT = "kept", "Kept"
        BROKEN = "broken", "Broken"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="promises")
    promised_on = models.DateField(help_text="Creditor-local date to pay by")
    amount = models.DecimalField(**MONEY, help_text="In the claim's currency")
    currency = models.CharField(max_length=3)
    open_amount = models.DecimalField(
        **MONEY, help_text="The claim's open amount when the promise was made"
    )
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.PENDING
    )
    resolved_on = models.DateField(null=True, blank=True)
    actor = models.CharField(max_length=100, help_text="user:<id> or system:<job>")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-promised_on", "-id"]
        indexes = [
            models.Index(fields=["status", "promised_on"], name="promise_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="promise_amount_positive"
            )
        ]

    def __str__(self) -> str:
        amount = format_money(self.amount, self.currency)
        return f"Promise of {amount} by {self.promised_on}"


class CallTask(models.Model):
    """A call a plan step asks a clerk to make; open until the clerk records it."""

    class Outcome(models.TextChoices):
        REACHED = "reached", "Reached: talked about the claim"
        PROMISED = "promised", "Reached: promised to pay"
        DISPUTED = "disputed", "Reached: disputes the claim"
        NOT_REACHED = "not_reached", "Not reached"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="call_tasks")
    case_step = models.OneToOneField(
        CaseStep, on_delete=models.PROTECT, related_name="call_task"
    )
    due_on = models.DateField(help_text="Creditor-local date the call is due")
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    note = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["done_at", "due_on"], name="calltask_open")]

    def __str__(self) -> str:
        return f"Call for case {self.case_id} due {self.due_on}"

    @property
    def is_open(self) -> bool:
        return self.done_at is None
