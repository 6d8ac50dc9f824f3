"""The figures of the results dashboard, each aggregated in the database.

Every function answers with one query (two for the collection rate) whatever the
number of claims, and sums money per currency, never across currencies. A period
is a range of creditor-local dates: the ledger's `booked_on`, a case's
`opened_on`, a message's `action_date`.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateField,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncWeek

from customers.models import Channel
from delivery.models import DeliveryEvent
from dunning.models import Case as DunningCase
from dunning.models import Step
from messaging.models import Message, MessageItem
from payments.models import Invoice, LedgerEntry, ledger_sum
from personalisation.costs import channel_costs_for
from portal.models import EngagementEvent

Kind = LedgerEntry.Kind
PRINCIPAL = LedgerEntry.Component.PRINCIPAL
# A reversal books a payment back: collections are net of them.
COLLECTING_KINDS = [Kind.PAYMENT, Kind.REVERSAL]

AGING_BUCKETS = [
    # (key, label, first day overdue, last day overdue); None is open-ended.
    ("current", "Current", None, 0),
    ("d1_30", "1–30", 1, 30),
    ("d31_60", "31–60", 31, 60),
    ("d61_90", "61–90", 61, 90),
    ("d90", "Over 90", 91, None),
]
FUNNEL_STAGES = ["sent", "opened", "clicked", "visited", "paid"]
# Age in whole years at the period's end, from the birth year.
AGE_BANDS = [(30, "under 30"), (45, "30–44"), (60, "45–59")]
AGE_OLDEST = "60 and over"
AGE_UNKNOWN = "unknown"


@dataclass(frozen=True)
class Scope:
    """What the dashboard looks at: a period, optionally a creditor and a currency."""

    date_from: date
    date_to: date
    creditor_id: int | None = None
    currency: str = ""

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def claims(self, prefix: str = "") -> Q:
        """The creditor and currency filters on a claim reached through `prefix`."""
        q = Q()
        if self.creditor_id:
            q &= Q(**{f"{prefix}creditor_id": self.creditor_id})
        if self.currency:
            q &= Q(**{f"{prefix}currency": self.currency})
        return q


def _money(total) -> Decimal:
    return ledger_sum(total)


def _ratio(part, whole) -> Decimal | None:
    """A share with four decimals, half up; None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


@dataclass
class CollectionRate:
    entering: Decimal = Decimal(0)
    credited: Decimal = Decimal(0)
    collected: Decimal = Decimal(0)
    cases: int = 0
    paid_cases: int = 0

    @property
    def collectable(self) -> Decimal:
        return self.entering - self.credited

    @property
    def rate(self) -> Decimal | None:
        return _ratio(self.collected, self.collectable)

    @property
    def count_rate(self) -> Decimal | None:
        return _ratio(self.paid_cases, self.cases)


def collection_rates(scope: Scope) -> dict[str, CollectionRate]:
    """Per currency: of the principal that entered dunning in the period, the
    share paid by the period's end (by amount and by claims paid in full)."""
    opened = F("invoice__case__opened_on")
    after_opening = Q(booked_on__gte=opened, booked_on__lte=scope.date_to)
    amounts = (
        LedgerEntry.objects.filter(
            scope.claims("invoice__"),
            invoice__case__opened_on__range=(scope.date_from, scope.date_to),
        )
        .values("invoice__currency")
        .annotate(
            entering=Sum("amount", filter=Q(component=PRINCIPAL, booked_on__lt=opened)),
            credited=Sum("amount", filter=Q(kind=Kind.CREDIT) & after_opening),
            collected=Sum(
                "amount",
                filter=Q(kind__in=COLLECTING_KINDS, component=PRINCIPAL)
                & after_opening,
            ),
        )
        .order_by()
    )
    counts = (
        DunningCase.objects.filter(
            scope.claims("invoice__"),
            opened_on__range=(scope.date_from, scope.date_to),
        )
        # A claim credited to zero was never owed: it is neither paid nor unpaid.
        .exclude(invoice__status=Invoice.Status.CREDITED)
        .values("invoice__currency")
        .annotate(
            cases=Count("id"),
            paid=Count(
                "id",
                filter=Q(
                    invoice__status=Invoice.Status.PAID,
                    invoice__settled_on__lte=scope.date_to,
                ),
            ),
        )
        .order_by()
    )
    rates: dict[str, CollectionRate] = defaultdict(CollectionRate)
    for row in amounts:
        rate = rates[row["invoice__currency"]]
        rate.entering = _money(row["entering"])
        rate.credited = -_money(row["credited"])
        rate.collected = -_money(row["collected"])
    for row in counts:
        rate = rates[row["invoice__currency"]]
        rate.cases, rate.paid_cases = row["cases"], row["paid"]
    return dict(sorted(rates.items()))


@dataclass
class Aging:
    amounts: dict[str, Decimal] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return sum(self.amounts.values(), Decimal(0))


def _bucket_q(on: date, first: int | None, last: int | None) -> Q:
    """Claims `first`…`last` days overdue on `on` (due the day before is 1)."""
    q = Q()
    if first is not None:
        q &= Q(due_on__lte=on - timedelta(days=first))
    if last is not None:
        q &= Q(due_on__gte=on - timedelta(days=last))
    return q


def _bucket_sums(field_name: str, on: date) -> dict:
    """Sum and count of `field_name` over the claims where it is positive, per
    aging bucket on `on`."""
    sums = {}
    for key, _, first, last in AGING_BUCKETS:
        in_bucket = _bucket_q(on, first, last) & Q(**{f"{field_name}__gt": 0})
        sums[f"{key}_amount"] = Sum(field_name, filter=in_bucket)
        sums[f"{key}_count"] = Count("id", filter=in_bucket)
    return sums


def aging(scope: Scope) -> dict[str, Aging]:
    """Per currency: open balances at the period's end, by days overdue then.

    Two queries: today's cached `open_amount` of every claim, and a correction
    for the claims with ledger rows booked after the period's end, whose
    balance then differs (their rows later are subtracted one claim at a time;
    for a period ending today there are none). Days count from the invoiced
    due date, not moved past holidays.
    """
    on = scope.date_to
    claims = Invoice.objects.filter(scope.claims(), issued_on__lte=on)
    now_rows = (
        claims.filter(open_amount__gt=0)
        .values("currency")
        .annotate(**_bucket_sums("open_amount", on))
        .order_by()
    )
    later = LedgerEntry.objects.filter(booked_on__gt=on)
    later_sum = (
        later.filter(invoice=OuterRef("pk"))
        .order_by()
        .values("invoice")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    then = ExpressionWrapper(
        F("open_amount") - Coalesce(Subquery(later_sum), Value(0)),
        output_field=Invoice._meta.get_field("open_amount"),
    )
    changed = {
        f"now_{name}": aggregate
        for name, aggregate in _bucket_sums("open_amount", on).items()
    }
    changed.update(_bucket_sums("balance_then", on))
    changed_rows = (
        claims.filter(pk__in=later.values("invoice_id"))
        .annotate(balance_then=then)
        .values("currency")
        .annotate(**changed)
        .order_by()
    )
    result: dict[str, Aging] = defaultdict(Aging)
    for row, sign, prefix in [
        *((row, 1, "") for row in now_rows),
        *((row, -1, "now_") for row in changed_rows),
        *((row, 1, "") for row in changed_rows),
    ]:
        figures = result[row["currency"]]
        for key, *_ in AGING_BUCKETS:
            amount = sign * _money(row[f"{prefix}{key}_amount"])
            figures.amounts[key] = figures.amounts.get(key, Decimal(0)) + amount
            count = sign * row[f"{prefix}{key}_count"]
            figures.counts[key] = figures.counts.get(key, 0) + count
    return {
        currency: figures
        for currency, figures in sorted(result.items())
        if any(figures.counts.values())
    }


def credit_sales(scope: Scope) -> dict[str, Decimal]:
    """Per currency: the principal invoiced in the period."""
    rows = (
        Invoice.objects.filter(
            scope.claims(), issued_on__range=(scope.date_from, scope.date_to)
        )
        .values("currency")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {row["currency"]: _money(row["total"]) for row in rows}


def dso(receivables: Decimal, sales: Decimal, days: int) -> Decimal | None:
    """Days sales outstanding, simple method: receivables at the period's end
    over the period's credit sales, times the period's days; one decimal, half up."""
    if not sales:
        return None
    return (receivables / sales * days).quantize(Decimal("0.1"), ROUND_HALF_UP)


@dataclass
class DaysToPay:
    claims: int
    mean: Decimal | None
    median: Decimal | None


def days_to_pay(scope: Scope) -> DaysToPay:
    """Due date to paid in full, over the claims settled in the period.

    The database counts claims per number of days; mean and median follow from
    that table, whose size is the spread of days, not the number of claims.
    """
    late = ExpressionWrapper(
        F("settled_on") - F("due_on"), output_field=DurationField()
    )
    rows = (
        Invoice.objects.filter(
            scope.claims(),
            status=Invoice.Status.PAID,
            settled_on__range=(scope.date_from, scope.date_to),
        )
        .annotate(late=late)
        .values("late")
        .annotate(n=Count("id"))
        .order_by("late")
    )
    histogram = [(row["late"].days, row["n"]) for row in rows]
    claims = sum(n for _, n in histogram)
    if not claims:
        return DaysToPay(0, None, None)
    mean = Decimal(sum(days * n for days, n in histogram)) / claims
    mean = mean.quantize(Decimal("0.1"), ROUND_HALF_UP)
    return DaysToPay(claims, mean, _median(histogram, claims))


def _median(histogram: list[tuple[int, int]], total: int) -> Decimal:
    """The median of sorted (value, count) pairs; between two middles, their mean."""
    lower_rank, upper_rank = (total - 1) // 2, total // 2
    lower = upper = None
    seen = 0
    for value, n in histogram:
        if lower is None and lower_rank < seen + n:
            lower = value
        if upper_rank < seen + n:
            upper = value
            break
        seen += n
    return (Decimal(lower + upper) / 2).quantize(Decimal("0.1"))


def _collections(scope: Scope):
    """Net payments booked in the period on claims in dunning (with a case)."""
    return LedgerEntry.objects.filter(
        scope.claims("invoice__"),
        kind__in=COLLECTING_KINDS,
        booked_on__range=(scope.date_from, scope.date_to),
        invoice__case__isnull=False,
    )


def collections_per_week(scope: Scope) -> dict[str, list[tuple[date, Decimal]]]:
    """Per currency: money collected per week (weeks start on Monday), every week
    of the period listed, empty ones at zero."""
    rows = (
        _collections(scope)
        .annotate(week=TruncWeek("booked_on", output_field=DateField()))
        .values("invoice__currency", "week")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    totals: dict[str, dict[date, Decimal]] = defaultdict(dict)
    for row in rows:
        totals[row["invoice__currency"]][row["week"]] = -_money(row["total"])
    first = scope.date_from - timedelta(days=scope.date_from.weekday())
    weeks = [
        first + timedelta(weeks=n) for n in range((scope.date_to - first).days // 7 + 1)
    ]
    return {
        currency: [(week, by_week.get(week, Decimal(0))) for week in weeks]
        for currency, by_week in sorted(totals.items())
    }


def contact_costs(scope: Scope) -> dict[str, Decimal]:
    """Per currency: what the messages sent in the period cost.

    Channel costs are in the creditor's own currency (`personalisation.costs`),
    so they count against the money collected in that currency. One query
    for the messages, one for the costs of every creditor among them.
    """
    messages = Message.objects.filter(
        status=Message.Status.SENT,
        action_date__range=(scope.date_from, scope.date_to),
    )
    if scope.creditor_id:
        messages = messages.filter(creditor_id=scope.creditor_id)
    if scope.currency:
        messages = messages.filter(creditor__default_currency=scope.currency)
    rows = (
        messages.values("creditor_id", "creditor__default_currency", "channel")
        .annotate(n=Count("id"))
        .order_by()
    )
    rows = list(rows)
    prices = channel_costs_for({row["creditor_id"] for row in rows})
    costs: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        price = prices[row["creditor_id"]].get(row["channel"], Decimal(0))
        costs[row["creditor__default_currency"]] += price * row["n"]
    return dict(sorted(costs.items()))


def cost_per_unit(costs: Decimal, collected: Decimal) -> Decimal | None:
    """Contact costs per unit of money collected, four decimals (0.0125 = 1.25 ct
    per euro)."""
    return _ratio(costs, collected)


def _age_band(on: date):
    year = on.year
    whens = [When(customer__birth_year__isnull=True, then=Value(AGE_UNKNOWN))]
    whens += [
        When(customer__birth_year__gt=year - age, then=Value(label))
        for age, label in AGE_BANDS
    ]
    return Case(*whens, default=Value(AGE_OLDEST))


# Breakdown key → (field of the grouped row, heading, labels of the codes).
BREAKDOWNS = {
    "step": ("decision__action", "Step (firmest action)", dict(Step.Action.choices)),
    "channel": ("channel", "Channel", dict(Channel.choices)),
    "tone": ("tone", "Tone", {}),
    "variant": ("decision__variant", "Variant", {}),
    "kind": ("customer__kind", "Customer kind", {}),
    "age": ("age_band", "Age band", {}),
    "country": ("customer__country", "Country", {}),
}


@dataclass
class FunnelRow:
    label: str
    counts: dict[str, int]

    def rate(self, stage: str) -> Decimal | None:
        return _ratio(self.counts[stage], self.counts["sent"])


@dataclass
class Funnel:
    total: FunnelRow
    breakdowns: dict[str, list[FunnelRow]]


def funnel(scope: Scope) -> Funnel:
    """Messages sent in the period, and how many of them were opened, clicked,
    led to a page visit and to a claim paid in full by the period's end.

    One grouped query over every breakdown at once; the breakdowns are summed
    from its rows, whose number is bounded by the combinations of steps,
    channels, tones, variants, segments and the four yes/no stages, not by the
    number of messages.
    A click proves an opening and a visit a click (providers do not report
    every opening; SMS and letters none), so the first four stages only
    shrink; paying needs no visit (a bank transfer after a letter).
    """
    # Sets of message ids, not correlated subqueries: the database hashes each
    # set once instead of probing it per message.
    opened = DeliveryEvent.objects.filter(kind=DeliveryEvent.Kind.OPENED)
    clicked = DeliveryEvent.objects.filter(kind=DeliveryEvent.Kind.CLICKED)
    visited = EngagementEvent.objects.filter(
        kind=EngagementEvent.Kind.VISIT, link__message__isnull=False
    )
    # A message's action date is its case steps' date (`CaseStep.taken_on`).
    paid = MessageItem.objects.filter(
        invoice__status=Invoice.Status.PAID,
        invoice__settled_on__gte=F("case_step__taken_on"),
        invoice__settled_on__lte=scope.date_to,
    )
    flags = {
        "was_opened": Q(pk__in=opened.values("message_id")),
        "was_clicked": Q(pk__in=clicked.values("message_id")),
        "was_visited": Q(pk__in=visited.values("link__message_id")),
        "was_paid": Q(pk__in=paid.values("message_id")),
    }
    messages = Message.objects.filter(
        status=Message.Status.SENT,
        action_date__range=(scope.date_from, scope.date_to),
    )
    if scope.creditor_id:
        messages = messages.filter(creditor_id=scope.creditor_id)
    if scope.currency:
        messages = messages.filter(
            pk__in=MessageItem.objects.filter(currency=scope.currency).values(
                "message_id"
            )
        )
    fields = [field for field, _, _ in BREAKDOWNS.values()]
    # Grouped by the flags too, so that each set is looked up once per message.
    rows = (
        messages.annotate(
            age_band=_age_band(scope.date_to),
            **{
                name: ExpressionWrapper(q, output_field=BooleanField())
                for name, q in flags.items()
            },
        )
        .values(*fields, *flags)
        .annotate(n=Count("id"))
        .order_by()
    )
    total = dict.fromkeys(FUNNEL_STAGES, 0)
    sums = {
        key: defaultdict(lambda: dict.fromkeys(FUNNEL_STAGES, 0)) for key in BREAKDOWNS
    }
    for row in rows:
        visit = row["was_visited"]
        click = visit or row["was_clicked"]
        reached = {
            "sent": True,
            "opened": click or row["was_opened"],
            "clicked": click,
            "visited": visit,
            "paid": row["was_paid"],
        }
        for stage in FUNNEL_STAGES:
            if not reached[stage]:
                continue
            total[stage] += row["n"]
            for key, (name, _, _) in BREAKDOWNS.items():
                sums[key][row[name] or ""][stage] += row["n"]
    breakdowns = {
        key: [
            FunnelRow(BREAKDOWNS[key][2].get(code, code) or "—", counts)
            for code, counts in sorted(sums[key].items())
        ]
        for key in BREAKDOWNS
    }
    return Funnel(FunnelRow("All messages", total), breakdowns)
