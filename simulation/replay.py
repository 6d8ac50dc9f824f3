"""Replay a portfolio day by day in a scratch database under one policy.

Each day the product's own dunning run takes the steps that are due and plans
its messages; then the response model decides who pays that day, and the
payment is recorded with `payments.services.payment_record`, so claims and
cases close exactly as they do in production. Only this module's caller
decides which database that is: it runs in a `simulate_policy` process whose
database is a scratch file.
"""

import logging
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as day_time
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, Q, Sum

from core.money import quantum
from customers.models import Creditor
from dunning.models import Case, Step
from dunning.run import run_dunning
from messaging.models import Message
from payments.models import Invoice, LedgerEntry, Payment
from payments.services import payment_record
from personalisation.costs import channel_costs
from simulation.response import ResponseModel, pay_day_offset, uniform

logger = logging.getLogger(__name__)

ACTOR = "system:simulate"
METHOD = "simulated"
# The run plans in the morning of the creditor's day.
RUN_HOUR = day_time(8, 0)


def start_day(as_of: date | None) -> date:
    """The first simulated day: the day after the portfolio's as-of day, or
    after its latest issue or booking when it was imported whole."""
    if as_of is not None:
        return as_of + timedelta(days=1)
    latest = [
        Invoice.objects.aggregate(d=Max("issued_on"))["d"],
        Payment.objects.aggregate(d=Max("received_on"))["d"],
    ]
    return max(d for d in latest if d is not None) + timedelta(days=1)


@dataclass
class Replay:
    model: ResponseModel
    seed: int
    dispatch: bool = False
    # Claim or customer id → the day a persuaded debtor pays.
    promised: dict = field(default_factory=dict)
    contacts: Counter = field(default_factory=Counter)

    def run(self, *, start: date, days: int) -> None:
        for offset in range(days):
            self.day(start + timedelta(days=offset))

    def day(self, on: date) -> None:
        # One creditor per scratch database: the import's.
        creditor = Creditor.objects.order_by("id").first()
        if creditor is None:
            return
        now = datetime.combine(on, RUN_HOUR, tzinfo=ZoneInfo(creditor.time_zone))
        run_dunning(
            actor=ACTOR,
            run_date=on,
            now=now,
            send_now=self.dispatch,
            plan_only=not self.dispatch,
        )
        self._persuade(on)
        self._pay(on)

    def _persuade(self, on: date) -> None:
        """Each message of the day may persuade its debtor to pay what it
        lists within the window; the k-th contact persuades less."""
        messages = (
            Message.objects.filter(action_date=on)
            .exclude(status__in=[Message.Status.CANCELLED, Message.Status.FAILED])
            .select_related("customer")
            .prefetch_related("items")
            .order_by("id")
        )
        for message in messages:
            customer = message.customer
            self.contacts[customer.pk] += 1
            rate = self.model.persuasion_of(
                message.channel, self.contacts[customer.pk], on, customer
            )
            key = (customer.external_id, on.isoformat())
            if uniform(self.seed, "persuade", *key) >= rate:
                continue
            when = on + timedelta(
                days=pay_day_offset(self.seed, *key, window=self.model.window_days)
            )
            if self.model.unit == "customer":
                targets = [("customer", customer.pk)]
            else:
                targets = [("claim", item.invoice_id) for item in message.items.all()]
            for target in targets:
                if target not in self.promised or self.promised[target] > when:
                    self.promised[target] = when

    def _pay(self, on: date) -> None:
        claims = list(
            Invoice.objects.filter(status=Invoice.Status.OPEN, open_amount__gt=0)
            .select_related("customer__creditor")
            .order_by("customer_id", "due_on", "id")
        )
        if self.model.unit == "customer":
            by_customer = defaultdict(list)
            for claim in claims:
                by_customer[claim.customer_id].append(claim)
            for rows in by_customer.values():
                oldest = rows[0]
                if self._pays(on, ("customer", oldest.customer_id), oldest):
                    self._record(on, oldest.customer, rows, named=None)
            return
        for claim in claims:
            if self._pays(on, ("claim", claim.pk), claim):
                self._record(on, claim.customer, [claim], named=claim)

    def _pays(self, on: date, target, claim: Invoice) -> bool:
        if self.promised.get(target) == on:
            return True
        debtor = claim.customer.external_id
        hazard = self.model.daily_hazard(debtor, (on - claim.due_on).days)
        key = claim.external_id if target[0] == "claim" else debtor
        return uniform(self.seed, "base", key, on.isoformat()) < hazard

    def _record(self, on: date, customer, claims: list[Invoice], named) -> None:
        currency = claims[0].currency
        owed = sum(
            (c.open_amount for c in claims if c.currency == currency), Decimal(0)
        )
        key = named.external_id if named is not None else customer.external_id
        if uniform(self.seed, "full", key, on.isoformat()) >= self.model.full_share:
            # A part payment, rounded down to the currency's minor units.
            share = Decimal(str(self.model.partial_share))
            owed = (owed * share).quantize(quantum(currency), rounding=ROUND_DOWN)
        if owed <= 0:
            return
        payment_record(
            customer=customer,
            amount=owed,
            currency=currency,
            received_on=on,
            actor=ACTOR,
            external_id=f"sim-{key}-{on.isoformat()}",
            invoice=named,
            method=METHOD,
            source="simulation",
        )


def followed(start: date):
    """The claims the simulation follows: those still open on its first day
    (a query, not a list of ids: the Taiwan file has 110,907 of them)."""
    return Invoice.objects.filter(
        Q(settled_on__isnull=True) | Q(settled_on__gte=start),
        status__in=[Invoice.Status.OPEN, Invoice.Status.PAID],
        issued_on__lt=start,
    )


def scope(start: date) -> dict:
    """What the followed claims owe before the first day."""
    claims = followed(start)
    return {
        "open_amount": claims.aggregate(s=Sum("open_amount"))["s"] or Decimal(0),
        "overdue_amount": claims.filter(due_on__lt=start).aggregate(
            s=Sum("open_amount")
        )["s"]
        or Decimal(0),
    }


def metrics(*, at_start: dict, start: date, days: int) -> dict:
    """The figures of one policy after its replay."""
    creditor = Creditor.objects.order_by("id").first()
    currency = creditor.default_currency
    costs = channel_costs(creditor)
    claims = followed(start)
    count = claims.count()
    paid = list(
        claims.filter(status=Invoice.Status.PAID).values_list("settled_on", "due_on")
    )
    days_to_pay = [(settled - due).days for settled, due in paid]
    unit = quantum(currency)
    principal_left = LedgerEntry.objects.filter(
        invoice__in=claims, component=LedgerEntry.Component.PRINCIPAL
    ).aggregate(s=Sum("amount"))["s"] or Decimal(0)
    collected = Payment.objects.filter(method=METHOD).aggregate(s=Sum("amount"))[
        "s"
    ] or Decimal(0)
    contacts = Counter(
        dict(
            Message.objects.exclude(
                status__in=[Message.Status.CANCELLED, Message.Status.FAILED]
            )
            .values("channel")
            .annotate(n=Count("id"))
            .values_list("channel", "n")
        )
    )
    cost = sum((costs[c] * n for c, n in contacts.items()), Decimal(0))
    fees = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.FEE).aggregate(
        s=Sum("amount")
    )["s"] or Decimal(0)
    # An agency would get the cases that went through the plan's last step
    # (or a hand-over step) and are still unpaid at the end.
    last = {}
    for step in Step.objects.order_by("plan_id", "position"):
        last[step.plan_id] = step.pk
    open_cases = Case.objects.filter(invoice__in=claims).exclude(
        invoice__status=Invoice.Status.PAID
    )
    handovers = sum(
        1
        for plan_id, step_id, action in open_cases.values_list(
            "plan_id", "current_step_id", "current_step__action"
        )
        if step_id is not None
        and (step_id == last.get(plan_id) or action == Step.Action.HANDOVER)
    )
    unreachable = Message.objects.filter(status=Message.Status.CANCELLED).count()
    open_amount = at_start["open_amount"].quantize(unit)
    collected_principal = open_amount - principal_left
    return {
        "currency": currency,
        "start": start.isoformat(),
        "days": days,
        "claims": count,
        "open_at_start": str(open_amount),
        "overdue_at_start": str(at_start["overdue_amount"].quantize(unit)),
        "collected": str(collected.quantize(unit)),
        "collected_principal": str(collected_principal.quantize(unit)),
        "collection_rate": round(float(collected_principal / open_amount), 4)
        if open_amount
        else None,
        "claims_paid": len(paid),
        "claims_paid_share": round(len(paid) / count, 4) if count else None,
        "days_late_at_payment_mean": round(statistics.fmean(days_to_pay), 1)
        if days_to_pay
        else None,
        "days_late_at_payment_median": statistics.median(days_to_pay)
        if days_to_pay
        else None,
        "contacts": dict(sorted(contacts.items())),
        "contacts_total": sum(contacts.values()),
        "unreachable": unreachable,
        "cost": str(cost.quantize(unit)),
        "cost_per_unit_collected": round(float(cost / collected), 5)
        if collected
        else None,
        "handovers": handovers,
        "fees_charged": str(fees.quantize(unit)),
    }


def simulate(
    *, model: ResponseModel, seed: int, start: date, days: int, dispatch: bool = False
) -> dict:
    started = time.monotonic()
    at_start = scope(start)
    Replay(model=model, seed=seed, dispatch=dispatch).run(start=start, days=days)
    result = metrics(at_start=at_start, start=start, days=days)
    result["replay_seconds"] = round(time.monotonic() - started, 1)
    logger.info("simulated %d days over %d claims", days, result["claims"])
    return result
