"""The registry of attributes a rule's conditions can test.

Each attribute has a name (stored in the condition row), a label for the admin, a
type that decides its operators and how a typed value is parsed, and a function
that reads it from a `ClaimContext`. Customer-level figures (open total, share
paid on time, risk score, first claim) come from `customer_aggregates`, which
answers a whole batch of customers with two queries.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, F, Min, Q, Sum

from core.money import ZERO

NUMBER = "number"
MONEY = "money"
CHOICE = "choice"
TEXT = "text"
BOOL = "bool"

OPERATORS = {
    "eq": "=",
    "ne": "≠",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
}
OPERATORS_BY_TYPE = {
    NUMBER: ["eq", "ne", "gt", "gte", "lt", "lte"],
    MONEY: ["eq", "ne", "gt", "gte", "lt", "lte"],
    CHOICE: ["eq", "ne", "in", "not_in"],
    TEXT: ["eq", "ne", "in", "not_in", "contains"],
    BOOL: ["eq"],
}
AGE_BANDS = ["18-29", "30-44", "45-59", "60+", "unknown"]


@dataclass
class CustomerFigures:
    """A customer's history and open claims, as of the evaluation day."""

    # Open balance per currency over all the customer's open claims.
    open_by_currency: dict = field(default_factory=dict)
    settled: int = 0
    settled_late: int = 0
    open_overdue: int = 0
    first_issued_on: date | None = None

    @property
    def paid_on_time_share(self) -> Decimal | None:
        if not self.settled:
            return None
        on_time = self.settled - self.settled_late
        return (Decimal(100) * on_time / self.settled).quantize(Decimal("0.1"))

    @property
    def risk_score(self) -> Decimal | None:
        # A heuristic until the models issue: the share (0-100) of the
        # customer's claims that were paid late or are overdue now.
        known = self.settled + self.open_overdue
        if not known:
            return None
        late = self.settled_late + self.open_overdue
        return (Decimal(100) * late / known).quantize(Decimal("0.1"))


@dataclass
class ClaimContext:
    """Everything a condition may read about one claim on one day."""

    invoice: object
    on: date
    late_days: int
    figures: CustomerFigures
    case: object = None
    # The plan step due now (or next), and the case's current step.
    step: object = None
    current_step: object = None

    @property
    def customer(self):
        return self.invoice.customer


def customer_aggregates(customer_ids, on: date) -> dict[int, CustomerFigures]:
    """History and open totals of many customers in two queries.

    History counts claims settled by `on`; a claim settled after its due date
    (not the holiday-moved one) counts as late.
    """
    from payments.models import Invoice

    ids = list(set(customer_ids))
    figures = {customer_id: CustomerFigures() for customer_id in ids}
    history = (
        Invoice.objects.filter(customer_id__in=ids, issued_on__lte=on)
        .values("customer_id")
        .annotate(
            settled=Count("id", filter=Q(settled_on__lte=on)),
            settled_late=Count(
                "id", filter=Q(settled_on__lte=on, settled_on__gt=F("due_on"))
            ),
            open_overdue=Count(
                "id",
                filter=Q(status="open", open_amount__gt=0, due_on__lt=on),
            ),
            first_issued_on=Min("issued_on"),
        )
    )
    for row in history:
        item = figures[row["customer_id"]]
        item.settled = row["settled"]
        item.settled_late = row["settled_late"]
        item.open_overdue = row["open_overdue"]
        item.first_issued_on = row["first_issued_on"]
    totals = (
        Invoice.objects.filter(customer_id__in=ids, status="open", open_amount__gt=0)
        .values("customer_id", "currency")
        .annotate(total=Sum("open_amount"))
    )
    for row in totals:
        figures[row["customer_id"]].open_by_currency[row["currency"]] = row["total"]
    return figures


def _age_band(ctx: ClaimContext) -> str:
    from personalisation.services import _age_band as band

    return band(ctx.customer, ctx.on)


def _tenure_years(ctx: ClaimContext):
    since = ctx.customer.customer_since
    if since is None:
        return None
    years = (
        ctx.on.year
        - since.year
        - ((ctx.on.month, ctx.on.day) < (since.month, since.day))
    )
    return Decimal(max(0, years))


def _first_invoice(ctx: ClaimContext):
    first = ctx.figures.first_issued_on
    return first is None or ctx.invoice.issued_on <= first


def _creditor_names() -> list[str]:
    from customers.models import Creditor

    return list(Creditor.objects.order_by("name").values_list("name", flat=True))


def _plan_names() -> list[str]:
    from dunning.models import Plan

    return list(Plan.objects.order_by("name").values_list("name", flat=True))


def _customer_kinds() -> list[str]:
    from customers.models import Customer

    return list(Customer.Kind.values)


def _step_actions() -> list[str]:
    from dunning.models import Step

    return list(Step.Action.values)


@dataclass(frozen=True)
class Attribute:
    name: str
    label: str
    type: str
    read: object
    help: str = ""
    # A list, or a function returning the allowed values of a choice.
    choices: object = None

    @property
    def operators(self) -> list[str]:
        return OPERATORS_BY_TYPE[self.type]

    def allowed_values(self) -> list[str] | None:
        if self.choices is None:
            return None
        return list(self.choices() if callable(self.choices) else self.choices)


ATTRIBUTES = [
    Attribute(
        "customer_kind",
        "Customer kind",
        CHOICE,
        lambda c: c.customer.kind,
        choices=_customer_kinds,
    ),
    Attribute(
        "age", "Age (years)", NUMBER, lambda c: _decimal(c.customer.age_on(c.on))
    ),
    Attribute("age_band", "Age band", CHOICE, _age_band, choices=AGE_BANDS),
    Attribute(
        "tenure_years",
        "Tenure (full years as a customer)",
        NUMBER,
        _tenure_years,
    ),
    Attribute(
        "country",
        "Customer country",
        TEXT,
        lambda c: c.customer.country.upper(),
        help="ISO 3166 code, e.g. DE",
    ),
    Attribute("language", "Customer language", TEXT, lambda c: c.customer.language),
    Attribute("segment", "Customer segment", TEXT, lambda c: c.customer.segment),
    Attribute(
        "risk_score",
        "Risk score (0-100, heuristic)",
        NUMBER,
        lambda c: c.figures.risk_score,
        help="Share of the customer's claims paid late or overdue now, in percent",
    ),
    Attribute(
        "paid_on_time_share",
        "Share of claims paid on time (%)",
        NUMBER,
        lambda c: c.figures.paid_on_time_share,
    ),
    Attribute(
        "first_invoice",
        "First claim of the customer",
        BOOL,
        _first_invoice,
        help="yes: no earlier claim of this customer",
    ),
    Attribute(
        "claim_amount",
        "Claim amount (as invoiced)",
        MONEY,
        lambda c: c.invoice.amount,
    ),
    Attribute(
        "claim_open",
        "Claim open balance",
        MONEY,
        lambda c: c.invoice.open_amount,
    ),
    Attribute(
        "customer_open_total",
        "Customer's open total (in the claim's currency)",
        MONEY,
        lambda c: c.figures.open_by_currency.get(c.invoice.currency, ZERO),
    ),
    Attribute(
        "currency",
        "Currency",
        TEXT,
        lambda c: c.invoice.currency.upper(),
        help="ISO 4217 code, e.g. EUR",
    ),
    Attribute("days_overdue", "Days overdue", NUMBER, lambda c: Decimal(c.late_days)),
    Attribute(
        "creditor",
        "Creditor",
        CHOICE,
        lambda c: c.invoice.creditor.name,
        choices=_creditor_names,
    ),
    Attribute(
        "plan",
        "Plan of the case",
        CHOICE,
        lambda c: c.case.plan.name if c.case is not None else None,
        choices=_plan_names,
        help="Unknown while the case has not opened",
    ),
    Attribute(
        "current_step",
        "Current step (position, 0 before the first)",
        NUMBER,
        lambda c: Decimal(c.current_step.position if c.current_step else 0),
    ),
    Attribute(
        "step_position",
        "Step due (position)",
        NUMBER,
        lambda c: Decimal(c.step.position) if c.step is not None else None,
        help="Unknown when the plan is not yet chosen (a case opening)",
    ),
    Attribute(
        "step_action",
        "Step due (action)",
        CHOICE,
        lambda c: c.step.action if c.step is not None else None,
        choices=_step_actions,
        help="Unknown when the plan is not yet chosen (a case opening)",
    ),
]
REGISTRY = {attribute.name: attribute for attribute in ATTRIBUTES}


def _decimal(value):
    return None if value is None else Decimal(value)


def attribute_choices() -> list[tuple[str, str]]:
    return [(a.name, a.label) for a in ATTRIBUTES]


def operator_choices() -> list[tuple[str, str]]:
    return list(OPERATORS.items())


def condition_text(attribute: str, operator: str, value: str) -> str:
    label = REGISTRY[attribute].label if attribute in REGISTRY else attribute
    return f"{label} {OPERATORS.get(operator, operator)} {value}"
