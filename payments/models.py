"""Claims and the ledger their open balance follows from.

Every change of what a debtor owes is a row of `LedgerEntry`: the principal when the
claim is booked, payments and credit notes (negative), fees and interest (positive),
waivers and write-offs (negative). `Invoice.open_amount` is the sum of those rows,
kept in the same transaction by `payments.services`; it exists so that the run can
find open claims with an index instead of an aggregate.
"""

from datetime import date
from decimal import Decimal

from django.core.validators import FileExtensionValidator
from django.db import models
from django.db.models import F, Q

from core.calendar import effective_due_date
from core.money import format_money, validate_currency

MONEY = {"max_digits": 18, "decimal_places": 6}


def invoice_document_path(invoice, filename: str) -> str:
    """Under the media root, one folder per creditor; the storage makes the name
    unique when a document is uploaded again."""
    return f"invoices/{invoice.creditor_id}/{filename}"


def ledger_sum(total) -> Decimal:
    """A SUM over ledger amounts, exact to the column's six decimals.

    SQLite adds decimals as floating point (1e-16 errors); every ledger amount is
    a whole number of minor units, so quantizing restores the exact sum.
    """
    return Decimal(total or 0).quantize(Decimal("0.000001"))


# Ledger kinds that add to what is owed, and kinds that reduce it.
ADDING_KINDS = ["principal", "fee", "interest", "reversal"]
REDUCING_KINDS = ["payment", "credit", "waiver", "write_off"]


class Invoice(models.Model):
    """A claim: an amount owed with a due date."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        CREDITED = "credited", "Credited"
        WRITTEN_OFF = "written_off", "Written off"
        CANCELLED = "cancelled", "Cancelled"

    creditor = models.ForeignKey("customers.Creditor", on_delete=models.PROTECT)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="invoices"
    )
    external_id = models.CharField(max_length=100)
    number = models.CharField(max_length=100)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**MONEY, help_text="Principal as invoiced")
    issued_on = models.DateField()
    due_on = models.DateField()
    description = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    open_amount = models.DecimalField(
        **MONEY, help_text="Sum of the ledger rows; maintained by payments.services"
    )
    settled_on = models.DateField(null=True, blank=True)
    document = models.FileField(
        upload_to=invoice_document_path,
        blank=True,
        validators=[FileExtensionValidator(["pdf"])],
        help_text="The creditor's original invoice (PDF); e-mails of steps that "
        "attach invoices send it, or a generated copy when empty",
    )
    # Facts from the source system that are not ours to interpret (e.g. the IBM
    # file's historical "Disputed" flag); kept for models and explanations.
    source_facts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "external_id"], name="invoice_unique_external_id"
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="invoice_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(open_amount__gte=0), name="invoice_open_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_on"], name="invoice_open_due"),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.display(self.amount)})"

    def display(self, amount: Decimal, locale: str = "en") -> str:
        return format_money(amount, self.currency, locale)

    @property
    def effective_due_on(self) -> date:
        """The due date moved past weekends and the creditor's public holidays."""
        creditor = self.creditor
        return effective_due_date(self.due_on, creditor.country, creditor.subdivision)

    def is_overdue(self, on: date) -> bool:
        """Overdue when the creditor-local date `on` is after the effective due date."""
        return on > self.effective_due_on

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN and self.open_amount > 0


class Payment(models.Model):
    """Money received from a customer, allocated to claims through the ledger."""

    creditor = models.ForeignKey("customers.Creditor", on_delete=models.PROTECT)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="payments"
    )
    # NULL, not "", for payments without an id: the unique constraint skips NULLs.
    external_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    received_on = models.DateField()
    method = models.CharField(max_length=30, blank=True)
    source = models.CharField(
        max_length=30, blank=True, help_text="import, portal, api"
    )
    reference = models.CharField(max_length=200, blank=True)
    invoice = models.ForeignKey(
        Invoice,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="named_payments",
        help_text="The claim the payer named, if any; paid first",
    )
    unallocated_amount = models.DecimalField(
        **MONEY, default=0, help_text="Overpayment kept as a customer credit"
    )
    reversed_on = models.DateField(
        null=True, blank=True, help_text="The money came back: a failed debit"
    )
    reversal_reason = models.CharField(max_length=300, blank=True)
    refunded_amount = models.DecimalField(
        **MONEY, default=0, help_text="Given back to the payer so far (refunds)"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "external_id"],
                condition=Q(external_id__isnull=False),
                name="payment_unique_external_id",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="payment_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=F("amount")),
                name="payment_refund_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{format_money(self.amount, self.currency)} on {self.received_on}"


class CreditNote(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        POSTED = "posted", "Posted"
        CANCELLED = "cancelled", "Cancelled"

    creditor = models.ForeignKey("customers.Creditor", on_delete=models.PROTECT)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT)
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="credit_notes"
    )
    external_id = models.CharField(max_length=100)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    issued_on = models.DateField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.POSTED
    )
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "external_id"],
                name="credit_note_unique_external_id",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="credit_note_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Credit note {self.external_id}"


class LedgerEntry(models.Model):
    """One row of a claim's ledger: signed, in the claim's currency."""

    class Kind(models.TextChoices):
        PRINCIPAL = "principal", "Principal"
        PAYMENT = "payment", "Payment"
        CREDIT = "credit", "Credit note"
        FEE = "fee", "Fee"
        INTEREST = "interest", "Interest"
        WAIVER = "waiver", "Waiver"
        WRITE_OFF = "write_off", "Write-off"
        # A payment that came back (failed direct debit, charge-back).
        REVERSAL = "reversal", "Payment reversed"

    class Component(models.TextChoices):
        # What a row adds to or takes from: payments are allocated to costs,
        # then interest, then principal (BGB §367).
        PRINCIPAL = "principal", "Principal"
        COSTS = "costs", "Costs"
        INTEREST = "interest", "Interest"

    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="entries"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    component = models.CharField(max_length=10, choices=Component.choices)
    amount = models.DecimalField(**MONEY, help_text="Positive adds to what is owed")
    booked_on = models.DateField()
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="entries"
    )
    credit_note = models.ForeignKey(
        CreditNote,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    case_step = models.ForeignKey(
        "dunning.CaseStep",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    key = models.CharField(
        max_length=40,
        blank=True,
        default="",
        help_text="Idempotency key of a charge: compensation, interest:<accrued to>",
    )
    accrued_from = models.DateField(
        null=True, blank=True, help_text="Interest: first day counted"
    )
    accrued_to = models.DateField(
        null=True, blank=True, help_text="Interest: last day counted"
    )
    details = models.JSONField(
        default=dict,
        blank=True,
        help_text="Interest: the periods with principal, rate and days",
    )
    actor = models.CharField(max_length=100, help_text="user:<id> or system:<job>")
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["booked_on", "id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            # A step's fee is charged once per claim, however often the run executes.
            models.UniqueConstraint(
                fields=["invoice", "case_step"],
                condition=Q(kind="fee"),
                name="ledger_one_fee_per_step",
            ),
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(kind="principal"),
                name="ledger_one_principal",
            ),
            # Statutory compensation once per claim, interest once per period end.
            models.UniqueConstraint(
                fields=["invoice", "key"],
                condition=~Q(key=""),
                name="ledger_unique_charge_key",
            ),
            # A fee belongs to a step or carries a key: the two unique
            # constraints above then keep every fee from being charged twice.
            models.CheckConstraint(
                condition=~Q(kind="fee") | Q(case_step__isnull=False) | ~Q(key=""),
                name="ledger_fee_has_identity",
            ),
            models.CheckConstraint(
                condition=(Q(kind__in=ADDING_KINDS) & Q(amount__gt=0))
                | (Q(kind__in=REDUCING_KINDS) & Q(amount__lt=0)),
                name="ledger_sign_by_kind",
            ),
        ]
        indexes = [models.Index(fields=["invoice", "kind"], name="ledger_invoice_kind")]

    def __str__(self) -> str:
        # In the claim's currency: the admin selects the invoice with the rows.
        amount = format_money(self.amount, self.invoice.currency)
        return f"{self.get_kind_display()} {amount}"


class ReferenceRate(models.Model):
    """A published reference rate that statutory interest is expressed over."""

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    source = models.CharField(
        max_length=300, blank=True, help_text="Who publishes it and where"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReferenceRateValue(models.Model):
    """The rate from a date on; it holds until the next row's date."""

    reference = models.ForeignKey(
        ReferenceRate, on_delete=models.CASCADE, related_name="values"
    )
    valid_from = models.DateField()
    rate = models.DecimalField(
        max_digits=7, decimal_places=4, help_text="Percent per year, may be negative"
    )

    class Meta:
        ordering = ["reference", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["reference", "valid_from"], name="reference_rate_once_per_date"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference.code} {self.rate} % from {self.valid_from}"


class InterestRegime(models.Model):
    """How interest on late payment is computed: statutory or contractual."""

    class DayCount(models.TextChoices):
        ACT_365 = "act/365", "Actual/365"
        ACT_360 = "act/360", "Actual/360"
        THIRTY_360 = "30/360", "30/360"

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    legal_basis = models.CharField(max_length=200, blank=True)
    reference = models.ForeignKey(
        ReferenceRate,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Empty: a fixed (contractual) rate, the points below",
    )
    consumer_points = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        default=0,
        help_text="Percentage points over the reference rate for consumers "
        "(the annual rate itself when there is no reference rate)",
    )
    business_points = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        default=0,
        help_text="Percentage points over the reference rate for businesses "
        "(the annual rate itself when there is no reference rate)",
    )
    day_count = models.CharField(
        max_length=8, choices=DayCount.choices, default=DayCount.ACT_365
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def points_for(self, customer_kind: str) -> Decimal:
        if customer_kind == "business":
            return self.business_points
        return self.consumer_points


class CompensationTier(models.Model):
    """Flat compensation for recovery costs, owed by business debtors once per claim.

    The first tier (by `debt_below`, empty last) whose limit is above the claim's
    principal applies; only claims in the tier's currency get it.
    """

    regime = models.ForeignKey(
        InterestRegime, on_delete=models.CASCADE, related_name="compensation_tiers"
    )
    currency = models.CharField(max_length=3, validators=[validate_currency])
    debt_below = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="Empty: no upper limit"
    )
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["regime", "currency", "debt_below"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="compensation_amount_positive"
            )
        ]

    def __str__(self) -> str:
        limit = f"below {self.debt_below}" if self.debt_below is not None else "any"
        return f"{format_money(self.amount, self.currency)} ({limit})"


class InstalmentPlan(models.Model):
    """A schedule of part payments for one claim, agreed on the debtor page or
    elsewhere (the ERP API).

    Its instalments add up to the claim's open amount when it was agreed, in
    ascending due dates; `payments.instalments.instalment_plan_record` checks both.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    creditor = models.ForeignKey("customers.Creditor", on_delete=models.PROTECT)
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="instalment_plans"
    )
    external_id = models.CharField(max_length=100)
    currency = models.CharField(max_length=3)
    total = models.DecimalField(**MONEY, help_text="The claim's open amount then")
    agreed_on = models.DateField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    status_reason = models.CharField(
        max_length=200, blank=True, help_text="Why the plan completed or was cancelled"
    )
    ended_on = models.DateField(null=True, blank=True)
    actor = models.CharField(max_length=100, help_text="api:<client id>, user:<id>")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-agreed_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "external_id"],
                name="instalment_plan_unique_external_id",
            ),
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status="active"),
                name="instalment_plan_one_active_per_claim",
            ),
            models.CheckConstraint(
                condition=Q(total__gt=0), name="instalment_plan_total_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Instalment plan {self.external_id}"


class Instalment(models.Model):
    plan = models.ForeignKey(
        InstalmentPlan, on_delete=models.CASCADE, related_name="instalments"
    )
    position = models.PositiveSmallIntegerField()
    due_on = models.DateField()
    amount = models.DecimalField(**MONEY, help_text="In the plan's currency")

    class Meta:
        ordering = ["plan", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "position"], name="instalment_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="instalment_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{format_money(self.amount, self.plan.currency)} due {self.due_on}"


class ProviderPaymentEvent(models.Model):
    """One event of a payment provider's webhook, kept so that an event
    delivered twice is acted on once."""

    provider = models.CharField(max_length=30)
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=60)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="provider_payment_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.event_id}"
