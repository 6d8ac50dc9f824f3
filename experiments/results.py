"""Per-arm results of an experiment, computed from assignments, messages and the
ledger each time they are asked for (a handful of queries, none per debtor).

A debtor counts in the arm (or holdout) they were assigned to, whatever
happened to the message afterwards (intention to treat). They converted when,
within `window_days` of the assigning message's action date, every claim that
message listed was paid in full (metric "paid in full"), or the debtor made
any payment that was not reversed (metric "any payment").
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from experiments import stats
from experiments.models import Assignment, Experiment
from messaging.models import Message, MessageItem
from payments.models import Invoice, LedgerEntry, Payment

HOLDOUT = "holdout"


@dataclass
class Outcome:
    """The figures of one arm (or the holdout); `key` is the arm's key."""

    key: str
    label: str
    value: str
    assigned: int = 0
    sent: int = 0
    converted: int = 0
    collected: dict = field(default_factory=lambda: defaultdict(Decimal))
    rate: float = 0.0
    low: float = 0.0
    high: float = 1.0
    uplift: tuple | None = None
    p_best: float = 0.0

    @property
    def is_holdout(self) -> bool:
        return self.key == HOLDOUT


@dataclass
class Results:
    experiment: Experiment
    rows: list[Outcome]
    leader: Outcome | None
    verdict: str
    stop: bool


def outcomes(
    experiment: Experiment, *, learning_only: bool = False, count_sent: bool = True
) -> list[Outcome]:
    """Assigned, sent, converted and collected per arm, holdout last.

    `learning_only` leaves out the debtors of creditors who switched learning
    off: Thompson sampling learns from outcomes, and theirs are not used.
    Without `count_sent` the messages sent are not counted (one query less).
    """
    return outcomes_of(
        [experiment], learning_only=learning_only, count_sent=count_sent
    )[experiment.pk]


def outcomes_of(
    experiments, *, learning_only: bool = False, count_sent: bool = True
) -> dict[int, list]:
    """`outcomes` of several experiments in the same five queries."""
    experiments = {e.pk: e for e in experiments}
    rows, arm_ids = {}, {}
    for experiment in experiments.values():
        arms = list(experiment.arms.all())
        arm_ids[experiment.pk] = [arm.pk for arm in arms]
        for arm in arms:
            rows[arm.pk] = Outcome(arm.key, arm.label or arm.key, arm.value)
        rows[("holdout", experiment.pk)] = Outcome(HOLDOUT, "Holdout (standard)", "")

    def row_of(experiment_id, arm_id):
        return rows[arm_id if arm_id is not None else ("holdout", experiment_id)]

    assignments = Assignment.objects.filter(experiment_id__in=list(experiments))
    if learning_only:
        assignments = assignments.filter(customer__creditor__learning_enabled=True)
    assigned = assignments.values_list(
        "experiment_id",
        "arm_id",
        "customer_id",
        "decision__message__id",
        "decision__message__action_date",
    )
    # (experiment id, customer id) → arm id; message id → the window.
    arm_of, windows = {}, {}
    for experiment_id, arm_id, customer_id, message_id, action_date in assigned:
        row_of(experiment_id, arm_id).assigned += 1
        arm_of[(experiment_id, customer_id)] = arm_id
        if message_id is not None:
            days = experiments[experiment_id].window_days
            end = action_date + timedelta(days=days)
            windows[message_id] = (experiment_id, customer_id, action_date, end)

    # The assigned debtors' messages first, by the customer index; then the
    # experiment named in each decision.
    sent = Message.objects.filter(
        customer_id__in=assignments.values("customer_id"),
        status=Message.Status.SENT,
        decision__scores__experiment__experiment__in=list(experiments),
    ).values_list("decision__scores__experiment__experiment", "customer_id")
    for experiment_id, customer_id in sent if count_sent else ():
        key = (experiment_id, customer_id)
        if key in arm_of:
            row_of(experiment_id, arm_of[key]).sent += 1

    paid_in_full = {
        m: w
        for m, w in windows.items()
        if experiments[w[0]].metric == Experiment.Metric.PAID_IN_FULL
    }
    any_payment = {m: w for m, w in windows.items() if m not in paid_in_full}
    converted = _converted_paid_in_full(paid_in_full) | _converted_any_payment(
        any_payment
    )
    for (experiment_id, customer_id), collected in converted.items():
        row = row_of(experiment_id, arm_of[(experiment_id, customer_id)])
        row.converted += 1
        for currency, amount in collected.items():
            row.collected[currency] += amount
    return {
        pk: [rows[a] for a in arm_ids[pk]] + [rows[("holdout", pk)]]
        for pk in experiments
    }


def _converted_paid_in_full(windows: dict) -> dict[tuple, dict]:
    """(experiment id, customer id) → amount paid on the message's claims
    within the window, for the debtors whose listed claims all settled in it."""
    if not windows:
        return {}
    items = MessageItem.objects.filter(message_id__in=list(windows)).values_list(
        "message_id", "invoice_id", "invoice__status", "invoice__settled_on"
    )
    claims = defaultdict(list)
    for message_id, invoice_id, status, settled_on in items:
        claims[message_id].append((invoice_id, status, settled_on))
    paid = {}
    for message_id, listed in claims.items():
        _, _, start, end = windows[message_id]
        if all(
            status == Invoice.Status.PAID and settled_on and start <= settled_on <= end
            for _, status, settled_on in listed
        ):
            paid[message_id] = [invoice_id for invoice_id, _, _ in listed]

    # What the payments brought in on those claims inside the window, net of
    # reversals, in the claims' currency. A claim in two experiments' messages
    # counts in each.
    messages_of = defaultdict(list)
    for message_id, invoice_ids in paid.items():
        for invoice_id in invoice_ids:
            messages_of[invoice_id].append(message_id)
    entries = LedgerEntry.objects.filter(
        invoice_id__in=list(messages_of),
        kind__in=[LedgerEntry.Kind.PAYMENT, LedgerEntry.Kind.REVERSAL],
    ).values_list("invoice_id", "booked_on", "amount", "invoice__currency")
    result = {windows[m][:2]: defaultdict(Decimal) for m in paid}
    for invoice_id, booked_on, amount, currency in entries:
        for message_id in messages_of[invoice_id]:
            experiment_id, customer_id, start, end = windows[message_id]
            if start <= booked_on <= end:
                result[(experiment_id, customer_id)][currency] -= amount
    return result


def _converted_any_payment(windows: dict) -> dict[tuple, dict]:
    """(experiment id, customer id) → payments received within the window,
    for the debtors who paid anything in it."""
    if not windows:
        return {}
    by_customer = defaultdict(list)
    for experiment_id, customer_id, start, end in windows.values():
        by_customer[customer_id].append((experiment_id, start, end))
    payments = Payment.objects.filter(
        customer_id__in=list(by_customer), reversed_on__isnull=True
    ).values_list("customer_id", "received_on", "amount", "currency")
    result = {}
    for customer_id, received_on, amount, currency in payments:
        for experiment_id, start, end in by_customer[customer_id]:
            if start <= received_on <= end:
                key = (experiment_id, customer_id)
                result.setdefault(key, defaultdict(Decimal))[currency] += amount
    return result


def experiment_results(experiment: Experiment, rows=None) -> Results:
    """The table of the experiment's admin page and the stop rule's verdict;
    `rows` are its `outcomes` when already read."""
    rows = rows if rows is not None else outcomes(experiment)
    holdout = rows[-1]
    for row in rows:
        row.rate = row.converted / row.assigned if row.assigned else 0.0
        row.low, row.high = stats.wilson(row.converted, row.assigned)
        if not row.is_holdout:
            row.uplift = stats.uplift(
                row.converted, row.assigned, holdout.converted, holdout.assigned
            )
    # The holdout takes part only when it is used, so that a zero share does
    # not hand it a uniform posterior's chances.
    competing = [r for r in rows if not r.is_holdout or experiment.holdout_percent]
    chances = stats.probability_best(
        [stats.posterior(r.converted, r.assigned) for r in competing],
        seed=stats.seed_from(experiment.salt),
    )
    for row, chance in zip(competing, chances, strict=True):
        row.p_best = chance
    leader = (
        max(competing, key=lambda r: r.p_best)
        if any(r.assigned for r in rows)
        else None
    )
    verdict, stop = stop_rule(experiment, competing, leader)
    return Results(experiment, rows, leader, verdict, stop)


def stop_rule(experiment: Experiment, rows: list[Outcome], leader) -> tuple[str, bool]:
    """The verdict on the figures: keep running, or stop and why."""
    smallest = min(rows, key=lambda r: r.assigned)
    if smallest.assigned < experiment.min_sample:
        return (
            f"keep running: n < {experiment.min_sample} "
            f"({smallest.label} has {smallest.assigned})",
            False,
        )
    threshold = float(experiment.p_best)
    if leader is not None and leader.p_best >= threshold:
        who = "the holdout (standard)" if leader.is_holdout else f"arm {leader.key}"
        return f"stop: {who} is best with P ≥ {threshold:.2f}", True
    if all(r.assigned >= experiment.max_sample for r in rows if not r.is_holdout):
        return f"stop: no difference after {experiment.max_sample} per arm", True
    return f"keep running: no arm is best with P ≥ {threshold:.2f} yet", False
