"""The dunning run: for every overdue open claim, take the plan step that is due.

The run works in batches of customers. Each batch is one transaction that locks its
claims first, so two runs (or two workers) over the same claims serialise instead of
both acting; the unique constraints on case steps, fees and message keys are the
last line of defence. A step is taken once: the next step of a case is the one after
its current step, and it is due when the claim is late enough and enough days have
passed since the previous step really happened. After downtime that gives one step,
not one per missed day, and later steps keep their spacing.
"""

import hashlib
import logging
import time as clock
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Mod
from django.utils import timezone
from django_fsm_log.models import StateLog

from contact.policy import ContactBook
from core.calendar import effective_due_date
from core.money import ZERO
from customers.models import Creditor
from dunning.bulk import analyze_tables, insert_rows, model_row
from dunning.models import CallTask, Case, CaseStep, Plan, Run, Step
from dunning.plans import annotate_offsets, may_be_due, step_due_on
from dunning.services import cases_instalments_missed, cases_resume_due
from experiments.allocation import ExperimentBook
from messaging.models import Message, MessageItem
from payments import charges
from payments.models import InstalmentPlan, Invoice, LedgerEntry
from payments.services import component_balances
from personalisation.learned import learned_load
from personalisation.models import Decision
from personalisation.services import DueItem, decide
from rules.attributes import ClaimContext, CustomerFigures, customer_aggregates
from rules.engine import RuleBook, held_reviews, hold_description, message_outcome

logger = logging.getLogger(__name__)

# Case states in which the run may act on a claim.
ACTIONABLE = [Case.State.OPEN, Case.State.IN_DUNNING]


class _DryRunRollback(Exception):
    pass


@dataclass
class RunStats:
    claims_examined: int = 0
    cases_opened: int = 0
    steps_taken: Counter = field(default_factory=Counter)
    messages: Counter = field(default_factory=Counter)
    fees_count: int = 0
    fees_by_currency: defaultdict = field(default_factory=lambda: defaultdict(Decimal))
    message_ids: list = field(default_factory=list)
    resumed: Counter = field(default_factory=Counter)
    dates: set = field(default_factory=set)
    held_for_review: int = 0
    steps_skipped: Counter = field(default_factory=Counter)
    call_tasks: int = 0

    def merge(self, other: "RunStats") -> None:
        """Add the figures of another partition of the same run."""
        self.claims_examined += other.claims_examined
        self.cases_opened += other.cases_opened
        self.steps_taken.update(other.steps_taken)
        self.messages.update(other.messages)
        self.fees_count += other.fees_count
        for currency, amount in other.fees_by_currency.items():
            self.fees_by_currency[currency] += amount
        self.message_ids.extend(other.message_ids)
        self.resumed.update(other.resumed)
        self.dates |= other.dates
        self.held_for_review += other.held_for_review
        self.steps_skipped.update(other.steps_skipped)
        self.call_tasks += other.call_tasks

    def as_json(self, run_date, seconds: float, dispatched: dict) -> dict:
        return {
            # Without --date each creditor runs on its own local today; the
            # run has one date when they all share it.
            "date": (
                run_date.isoformat()
                if run_date
                else (min(self.dates).isoformat() if len(self.dates) == 1 else None)
            ),
            "dates": sorted(d.isoformat() for d in self.dates),
            "claims_examined": self.claims_examined,
            "cases_opened": self.cases_opened,
            "cases_resumed": self.resumed["resumed"],
            "promises_broken": self.resumed["promises_broken"],
            "steps_taken": dict(sorted(self.steps_taken.items())),
            "steps_skipped": dict(sorted(self.steps_skipped.items())),
            "held_for_review": self.held_for_review,
            "messages": dict(sorted(self.messages.items())),
            "call_tasks": self.call_tasks,
            "fees_charged": {
                "count": self.fees_count,
                "by_currency": {
                    c: str(a) for c, a in sorted(self.fees_by_currency.items())
                },
            },
            "dispatched": dispatched,
            "seconds": round(seconds, 3),
        }


class PlanBook:
    """Plans and their steps, and the rules that apply, loaded once per run."""

    def __init__(self, rules: RuleBook | None = None):
        self.rules = rules if rules is not None else RuleBook.empty()
        self.steps: dict[int, list[Step]] = defaultdict(list)
        for step in Step.objects.select_related("plan").order_by("plan_id", "position"):
            self.steps[step.plan_id].append(step)
        for steps in self.steps.values():
            annotate_offsets(steps)
        self.default = Plan.objects.filter(is_default=True).first()
        offsets = [s.offset for steps in self.steps.values() for s in steps]
        # How many days before the due date a pre-due note may go out; None
        # when every step comes after the due date.
        early = [-d for d in offsets if d <= 0]
        self.lookahead = max(early) if early else None

    def horizon(self, on: date) -> date:
        """The latest due date of a claim the run reads on `on`: overdue ones,
        and those a step on or before the due date may reach that day."""
        if self.lookahead is None:
            return on - timedelta(days=1)
        return on + timedelta(days=self.lookahead)

    def plan_for(self, creditor: Creditor) -> Plan:
        plan = creditor.default_plan or self.default
        if plan is None:
            raise RuntimeError("No default dunning plan: create one in the admin.")
        return plan

    def opens_on(self, plan_id: int, late_days: int) -> bool:
        """Whether a claim this many days past its effective due date gets a
        case under the plan: once overdue, or on the day of a first step
        that comes before the due date (a pre-due note)."""
        steps = self.steps[plan_id]
        first = steps[0].offset if steps else 1
        return late_days > 0 or late_days >= first

    def next_step(self, case: Case) -> tuple[Step | None, Step | None]:
        """The step after the case's current one, and the current one."""
        steps = self.steps[case.plan_id]
        if case.current_step_id is None:
            return (steps[0] if steps else None), None
        for index, step in enumerate(steps):
            if step.id == case.current_step_id:
                following = steps[index + 1] if index + 1 < len(steps) else None
                return following, step
        return None, None


def _step_is_due(case: Case, step: Step, previous: Step | None, late_days: int, on):
    effective_due = on - timedelta(days=late_days)
    due = step_due_on(
        step, previous, effective_due=effective_due, last_step_on=case.last_step_on
    )
    return due <= on


def _message_key(channel: str, case_steps: list["TakenStep"]) -> str:
    pairs = ",".join(sorted(f"{cs.case_id}:{cs.step_id}" for cs in case_steps))
    return hashlib.sha256(f"{channel}|{pairs}".encode()).hexdigest()[:64]


@dataclass(frozen=True)
class Partition:
    """One of `count` disjoint shares of the customers: those whose id modulo
    `count` is `index`. A debtor's claims are all in one share, so the one
    message per debtor and day comes out the same however the run is split."""

    index: int = 0
    count: int = 1

    def __post_init__(self):
        if not 0 <= self.index < self.count:
            raise ValueError(f"partition {self.index} of {self.count} does not exist")


WHOLE = Partition()


def run_dunning(
    *,
    actor: str,
    run_date: date | None = None,
    dry_run: bool = False,
    send_now: bool = False,
    plan_only: bool = False,
    batch_size: int = 500,
    now: datetime | None = None,
    workers: int = 1,
) -> dict:
    """Take every due step for every creditor; return the run's summary.

    With `workers` > 1 the customers are split into that many partitions, each
    run as a django-q2 task by whichever `qcluster` worker takes it; this call
    waits for all of them and merges their figures. A dry run is one rolled-back
    transaction and so always runs in this process. A run that raises records
    the error on its `Run` and raises it on; its committed batches stay.
    """
    started = clock.monotonic()
    now = now or timezone.now()
    stats = RunStats()
    # The summary holds the run's figures from its start: that is how
    # `ops.health` tells a daily run, even an unfinished one, from the API's
    # real-time dunning of single claims.
    run = (
        None
        if dry_run
        else Run.objects.create(
            run_date=run_date, actor=actor, summary=stats.as_json(run_date, 0, {})
        )
    )

    def run_all():
        # Pauses that ended and promises that broke put cases back in dunning
        # before the run looks for due steps.
        _resume_due(run_date, actor, stats)
        if workers > 1 and not dry_run:
            for part in _run_partitions(run, workers, run_date, now, batch_size):
                stats.merge(part)
        else:
            book = PlanBook(rules=RuleBook.active())
            _run_partition(WHOLE, run_date, now, book, stats, run, actor, batch_size)

    try:
        if dry_run:
            # The dry run does all the work in one transaction and rolls it back.
            try:
                with transaction.atomic():
                    run_all()
                    raise _DryRunRollback
            except _DryRunRollback:
                pass
        else:
            run_all()

        dispatched = {}
        if not dry_run and not plan_only and stats.message_ids:
            from messaging.services import dispatch_due

            due_ids = list(
                Message.objects.filter(id__in=stats.message_ids, status="planned")
                .filter(Q(scheduled_at__lte=now) if not send_now else Q())
                .values_list("id", flat=True)
            )
            if due_ids:
                dispatched = dispatch_due(now=now, message_ids=due_ids, actor=actor)
    except BaseException as error:
        # KeyboardInterrupt and SystemExit too: the run stops either way.
        if run is not None:
            logger.exception("dunning run %s failed", run.pk)
            partial = stats.as_json(run_date, clock.monotonic() - started, {})
            _run_failed(run, error, {**partial, "dry_run": False})
        raise

    summary = stats.as_json(run_date, clock.monotonic() - started, dispatched)
    summary["dry_run"] = dry_run
    if run is not None:
        run.summary = summary
        run.finished_at = timezone.now()
        run.save(update_fields=["summary", "finished_at"])
        summary["run_id"] = run.pk
    logger.info(
        "dunning run %s: %d claims, %d cases opened, %d steps, %d messages",
        run.pk if run else "dry",
        stats.claims_examined,
        stats.cases_opened,
        sum(stats.steps_taken.values()),
        sum(stats.messages.values()),
    )
    return summary


def _run_failed(run: Run, error: BaseException, summary: dict) -> None:
    """Record that the run stopped on `error`, with the figures of the batches
    it committed: they stay, and running it again takes the steps still due.
    A split run's partitions that finished keep their figures in their tasks.
    """
    try:
        Run.objects.filter(pk=run.pk).update(
            error=f"{type(error).__name__}: {error}",
            finished_at=timezone.now(),
            summary=summary,
        )
    except Exception:
        # A lost database connection is a likely cause of the failure itself;
        # the run then stays unfinished and /healthz reports it after
        # DUNNING_RUN_MAX_HOURS.
        logger.exception("dunning run %s: its failure could not be recorded", run.pk)


def _resume_due(run_date, actor: str, stats: "RunStats") -> None:
    for creditor in Creditor.objects.order_by("id"):
        on = run_date or creditor.local_today()
        stats.dates.add(on)
        with transaction.atomic():
            resumed = cases_resume_due(on=on, actor=actor, creditor_ids=[creditor.id])
            # A missed instalment puts the case back in dunning before the
            # run looks for steps, so it takes its next step today.
            resumed["instalments_missed"] = cases_instalments_missed(
                on=on, actor=actor, creditor_ids=[creditor.id]
            )
        stats.resumed.update(resumed)


def _run_partition(partition, run_date, now, book, stats, run, actor, batch_size):
    refresh = StatisticsRefresh()
    for creditor in Creditor.objects.order_by("id"):
        on = run_date or creditor.local_today()
        stats.dates.add(on)
        _run_creditor(
            creditor, on, now, book, stats, run, actor, batch_size, partition, refresh
        )


class StatisticsRefresh:
    """ANALYZE, once, the tables the run's foreign-key checks read, when they
    were (nearly) empty as the run started.

    PostgreSQL checks a foreign key at COMMIT with a plan it prepares once per
    connection and keeps until the table's statistics change. Prepared on a
    (nearly) empty table that plan is a sequential scan, and the run's own
    inserts then make it quadratic: at a million claims 100,000 message items
    each read every case step and message written so far. After the first
    batches' rows an ANALYZE makes PostgreSQL plan the checks again, as index
    scans. A table that held many rows at the start is left alone.
    """

    MODELS = (Case, CaseStep, Decision, Message)
    SMALL = 10_000  # rows, as the table's statistics estimate them
    AFTER_STEPS = 2_000

    def __init__(self):
        self.pending = []
        if connection.vendor != "postgresql":
            return
        tables = {model._meta.db_table: model for model in self.MODELS}
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname, reltuples FROM pg_class "
                "WHERE oid = ANY(%s::text[]::regclass[])",
                [list(tables)],
            )
            self.pending = [
                tables[name] for name, rows in cursor.fetchall() if rows < self.SMALL
            ]

    def after_batch(self, stats: RunStats) -> None:
        if self.pending and sum(stats.steps_taken.values()) >= self.AFTER_STEPS:
            analyze_tables(self.pending)
            logger.info(
                "dunning run: statistics refreshed for %s",
                ", ".join(m._meta.db_table for m in self.pending),
            )
            self.pending = []


def run_partition(
    *,
    run_id: int,
    partition: Partition,
    run_date: date | None,
    now: datetime,
    batch_size: int = 500,
) -> "RunStats":
    """One partition of a split run (the body of the django-q2 task)."""
    run = Run.objects.get(pk=run_id)
    stats = RunStats()
    book = PlanBook(rules=RuleBook.active())
    _run_partition(partition, run_date, now, book, stats, run, run.actor, batch_size)
    return stats


def _run_partitions(run, workers: int, run_date, now, batch_size) -> list["RunStats"]:
    """Queue one task per partition and wait for all of them.

    Each partition is its own set of customers, so the tasks never touch the
    same claim; a partition that fails fails the run, and running the run again
    takes exactly the steps that are still due.
    """
    from django.conf import settings
    from django_q.tasks import async_task, fetch_group

    group = f"dunning-run-{run.pk}"
    for index in range(workers):
        async_task(
            "dunning.tasks.run_partition_task",
            run_id=run.pk,
            partition=Partition(index, workers),
            run_date=run_date,
            now=now,
            batch_size=batch_size,
            group=group,
            task_name=f"{group}-part-{index}",
        )
    deadline = clock.monotonic() + settings.DUNNING_PARTITION_TIMEOUT
    while True:
        tasks = list(fetch_group(group, failures=True) or [])
        if len(tasks) == workers:
            break
        if clock.monotonic() > deadline:
            raise RuntimeError(
                f"run {run.pk}: {len(tasks)} of {workers} partitions finished in "
                f"{settings.DUNNING_PARTITION_TIMEOUT} s; is a qcluster running?"
            )
        clock.sleep(0.2)
    failed = [task for task in tasks if not task.success]
    if failed:
        raise RuntimeError(
            f"run {run.pk}: partition task {failed[0].name} failed: {failed[0].result}"
        )
    return [task.result for task in tasks]


def _open_claims(creditor: Creditor, on: date, book: PlanBook, partition=WHOLE):
    """The open claims the run may look at: no case yet, or an actionable one."""
    claims = Invoice.objects.filter(
        creditor=creditor,
        status=Invoice.Status.OPEN,
        open_amount__gt=0,
        due_on__lte=book.horizon(on),
    ).filter(Q(case__isnull=True) | Q(case__state__in=ACTIONABLE))
    if partition.count > 1:
        claims = claims.alias(share=Mod("customer_id", partition.count)).filter(
            share=partition.index
        )
    return claims


def _candidates(creditor: Creditor, on: date, book: PlanBook, partition=WHOLE):
    """Of those, the claims that may act today: no case yet, or a case whose
    next step may be due (`may_be_due`; `_step_is_due` decides)."""
    due = may_be_due(book.steps, on)
    acting = Q(case__isnull=True)
    if due is not None:
        acting |= due
    return _open_claims(creditor, on, book, partition).filter(acting)


def _run_creditor(
    creditor, on, now, book, stats, run, actor, batch_size, partition, refresh
):
    # The batches are taken over the open claims, not the candidates: the
    # planner cannot estimate the due filter and would sort every candidate
    # for each batch; in customer order the index gives the next batch at once.
    claims = _open_claims(creditor, on, book, partition)
    last_customer = 0
    while True:
        customer_ids = list(
            claims.filter(customer_id__gt=last_customer)
            .order_by("customer_id")
            .values_list("customer_id", flat=True)
            .distinct()[:batch_size]
        )
        if not customer_ids:
            return
        last_customer = customer_ids[-1]
        run_committed_batch(
            creditor, on, now, book, stats, run, actor, customer_ids, partition
        )
        refresh.after_batch(stats)


def run_committed_batch(
    creditor, on, now, book, stats, run, actor, customer_ids, partition
) -> None:
    """One batch of customers in its own transaction (it locks their claims).

    Its figures are counted apart and join `stats` once committed, so that a
    run that fails reports the batches that stay.
    """
    batch = RunStats()
    with transaction.atomic():
        _run_batch(creditor, on, now, book, batch, run, actor, customer_ids, partition)
    stats.merge(batch)


def _run_batch(creditor, on, now, book, stats, run, actor, customer_ids, partition):
    # Lock the claims first: a concurrent run or payment waits for this batch.
    # Within a debtor in the order payment_record locks them (due date, issue
    # date, id), so that a payment and the run never wait on each other.
    invoices = list(
        _candidates(creditor, on, book, partition)
        .filter(customer_id__in=customer_ids)
        .select_for_update(of=("self",))
        .select_related("customer")
        .order_by("customer_id", "due_on", "issued_on", "id")
    )
    if not invoices:
        return
    for invoice in invoices:
        # Interest and compensation read the creditor's calendar and regimes.
        invoice.creditor = creditor
    cases = {
        c.invoice_id: c
        for c in Case.objects.filter(
            invoice_id__in=[i.id for i in invoices]
        ).select_related("plan")
    }
    plan = book.plan_for(creditor)
    # Rules read customer figures (open totals, history): one query per batch,
    # none when no rule applies to this creditor.
    rules = book.rules
    figures = {}
    held = {}
    if rules.rules_for(creditor.id):
        figures = customer_aggregates(customer_ids, on)
        held = held_reviews(c.pk for c in cases.values())

    def context(invoice, **kw):
        customer_figures = figures.get(invoice.customer_id) or CustomerFigures()
        return ClaimContext(
            invoice=invoice,
            on=on,
            late_days=invoice.late_days,
            figures=customer_figures,
            **kw,
        )

    new_cases = []
    holds = []
    in_plan = _agreed_plans([i.id for i in invoices if i.id not in cases])
    for invoice in invoices:
        stats.claims_examined += 1
        effective = effective_due_date(
            invoice.due_on, creditor.country, creditor.subdivision
        )
        invoice.late_days = (on - effective).days
        if invoice.id in cases:
            continue
        # The first matching rule may choose the plan or hold the case.
        opening = rules.evaluate(context(invoice))
        if book.opens_on((opening.plan or plan).pk, invoice.late_days):
            case = Case(
                invoice=invoice,
                customer_id=invoice.customer_id,
                creditor=creditor,
                plan=opening.plan or plan,
                opened_on=on,
                # A new case starts in dunning directly, or in the instalment
                # plan agreed before it opened; the log rows written below
                # record the transitions.
                state=Case.State.INSTALMENTS
                if invoice.id in in_plan
                else Case.State.IN_DUNNING,
            )
            if opening.hold and invoice.id not in in_plan:
                holds.append((case, opening))
            new_cases.append(case)
    if new_cases:
        _saved(new_cases, insert_rows(Case, [model_row(c) for c in new_cases]))
        _log_started(new_cases, actor, in_plan)
        stats.cases_opened += len(new_cases)
        cases.update({c.invoice_id: c for c in new_cases})

    taken: list[tuple[Invoice, Case, Step]] = []
    skipped: list[tuple[Invoice, Case, Step]] = []
    held_cases = {case.pk for case, _ in holds}
    for invoice in invoices:
        case = cases.get(invoice.id)
        if case is None or case.state not in ACTIONABLE or case.pk in held_cases:
            continue
        step, previous = book.next_step(case)
        if step is None or not _step_is_due(
            case, step, previous, invoice.late_days, on
        ):
            continue
        floor = max(creditor.minimum_amount, step.minimum_amount)
        if invoice.open_amount < floor:
            continue
        outcome = rules.evaluate(
            context(invoice, case=case, step=step, current_step=previous),
            held.get(case.pk, frozenset()),
        )
        invoice.rule_outcome = outcome
        if outcome.hold:
            holds.append((case, outcome))
        elif outcome.skip_step:
            skipped.append((invoice, case, step))
        else:
            taken.append((invoice, case, step))
    if holds:
        _hold_for_review(holds, actor)
        stats.held_for_review += len(holds)
    if skipped:
        _skip_steps(skipped, on, run, actor, stats)
    if not taken:
        return

    # Fees are computed on the open principal (for percentage fees) before
    # anything is booked today; interest and compensation are booked with the
    # step so that the message claims them.
    taken_invoices = [invoice for invoice, _, _ in taken]
    principal: dict[int, Decimal] = defaultdict(Decimal)
    if any(step.fee_kind == Step.FeeKind.PERCENT for _, _, step in taken):
        principal.update(
            (invoice_id, balances[LedgerEntry.Component.PRINCIPAL])
            for invoice_id, balances in component_balances(
                [i.id for i in taken_invoices]
            ).items()
        )
    step_rows = [
        {
            "case_id": case.pk,
            "step_id": step.id,
            "taken_on": on,
            "fee": (
                ZERO
                if invoice.rule_outcome.waive_fee
                else step.fee_for(principal[invoice.id], invoice.currency)
            ),
            "open_amount": invoice.open_amount,
            "run_id": run.pk if run else None,
            "actor": actor,
        }
        for invoice, case, step in taken
    ]
    case_steps = [
        TakenStep(id=step_id, case_id=row["case_id"], step_id=row["step_id"])
        for step_id, row in zip(
            insert_rows(CaseStep, step_rows), step_rows, strict=True
        )
    ]

    rows = []
    if creditor.consumer_interest_regime_id or creditor.business_interest_regime_id:
        rates = charges.RateBook()
        rows += charges.interest_entries(taken_invoices, on, actor=actor, book=rates)
        rows += charges.compensation_entries(
            taken_invoices, on, actor=actor, book=rates
        )
    rows = [model_row(entry) for entry in rows]
    for (invoice, case, step), step_row, case_step in zip(
        taken, step_rows, case_steps, strict=True
    ):
        stats.steps_taken[f"{step.position}:{step.name}"] += 1
        case.current_step = step
        case.last_step_on = on
        if step_row["fee"] > ZERO:
            rows.append(
                {
                    "invoice_id": invoice.id,
                    "kind": LedgerEntry.Kind.FEE,
                    "component": LedgerEntry.Component.COSTS,
                    "amount": step_row["fee"],
                    "booked_on": on,
                    "case_step_id": case_step.id,
                    "actor": actor,
                    "reason": f"fee of step {step.position} ({step.name})",
                }
            )
            stats.fees_count += 1
            stats.fees_by_currency[invoice.currency] += step_row["fee"]
    # Interest, compensation and fee rows have different keys: one insert each.
    for same in _by_keys(rows).values():
        insert_rows(LedgerEntry, same, ids=False)
    by_id = {invoice.id: invoice for invoice in taken_invoices}
    increases: dict[int, Decimal] = defaultdict(Decimal)
    for row in rows:
        by_id[row["invoice_id"]].open_amount += row["amount"]
        increases[row["invoice_id"]] += row["amount"]
    _apply_in_groups(taken, increases, on)

    # A call step puts a task in the clerks' list instead of a message.
    calls = [
        (case, case_step)
        for (_, case, step), case_step in zip(taken, case_steps, strict=True)
        if step.action == Step.Action.CALL
    ]
    if calls:
        insert_rows(
            CallTask,
            [
                {"case_id": case.pk, "case_step_id": case_step.id, "due_on": on}
                for case, case_step in calls
            ],
            ids=False,
        )
        stats.call_tasks += len(calls)
        called = {case_step.id for _, case_step in calls}
        kept = [
            (row, case_step)
            for row, case_step in zip(taken, case_steps, strict=True)
            if case_step.id not in called
        ]
        taken = [row for row, _ in kept]
        case_steps = [case_step for _, case_step in kept]
    if taken:
        _plan_messages(creditor, on, now, taken, case_steps, stats, run)


@dataclass(frozen=True, slots=True)
class TakenStep:
    """A case step written today: what the message items and keys need."""

    id: int
    case_id: int
    step_id: int


def _saved(instances, ids) -> None:
    """Give instances written by `insert_rows` their ids, as a save would."""
    for instance, pk in zip(instances, ids, strict=True):
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = connection.alias


def _by_keys(rows: list[dict]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[tuple(row)].append(row)
    return groups


def _apply_in_groups(taken, increases: dict[int, Decimal], on) -> None:
    """Move the cases and raise the claims' balances by what was charged today.

    One UPDATE per distinct step and per distinct increase instead of a
    row-by-row bulk_update: a plan has a handful of steps and fees, a batch
    thousands of rows. Interest differs per claim, so claims that bear interest
    get an UPDATE each.
    """
    stamp = timezone.now()
    by_step: dict[int, list[int]] = defaultdict(list)
    by_increase: dict[Decimal, list[int]] = defaultdict(list)
    for _invoice, case, step in taken:
        by_step[step.id].append(case.pk)
    for invoice_id, increase in increases.items():
        if increase:
            by_increase[increase].append(invoice_id)
    for step_id, case_ids in by_step.items():
        Case.objects.filter(pk__in=case_ids).update(
            current_step_id=step_id, last_step_on=on, updated_at=stamp
        )
    for increase, invoice_ids in by_increase.items():
        Invoice.objects.filter(pk__in=invoice_ids).update(
            open_amount=F("open_amount") + increase, updated_at=stamp
        )


def _hold_for_review(holds, actor: str) -> None:
    """Pause the cases a rule holds for a clerk; the log row names the rule.

    The log row is also what keeps the same rule from holding the case again
    once a clerk has resumed it (`rules.engine.held_reviews`).
    """
    stamp = timezone.now()
    Case.objects.filter(pk__in=[case.pk for case, _ in holds]).update(
        state=Case.State.PAUSED, updated_at=stamp
    )
    content_type = ContentType.objects.get_for_model(Case)
    insert_rows(
        StateLog,
        [
            {
                "by_id": None,
                "source_state": case.state,
                "state": Case.State.PAUSED,
                "transition": "pause",
                "content_type_id": content_type.pk,
                "object_id": case.pk,
                "description": hold_description(outcome, actor),
            }
            for case, outcome in holds
        ],
        ids=False,
    )


def _skip_steps(skipped, on, run, actor: str, stats: RunStats) -> None:
    """A rule passes over a due step: recorded once, no fee, no message."""
    insert_rows(
        CaseStep,
        [
            {
                "case_id": case.pk,
                "step_id": step.id,
                "taken_on": on,
                "fee": ZERO,
                "open_amount": invoice.open_amount,
                "run_id": run.pk if run else None,
                "actor": actor,
            }
            for invoice, case, step in skipped
        ],
        ids=False,
    )
    for _, case, step in skipped:
        case.current_step = step
        case.last_step_on = on
        stats.steps_skipped[f"{step.position}:{step.name}"] += 1
    _apply_in_groups(skipped, {}, on)


def _agreed_plans(invoice_ids: list[int]) -> dict[int, str]:
    """The claims among `invoice_ids` with an active instalment plan, agreed
    before their case opened (an ERP's plan): the plan's external id."""
    if not invoice_ids:
        return {}
    return dict(
        InstalmentPlan.objects.filter(
            invoice_id__in=invoice_ids, status=InstalmentPlan.Status.ACTIVE
        ).values_list("invoice_id", "external_id")
    )


def _log_started(cases: list[Case], actor: str, in_plan: dict[int, str]) -> None:
    """The state log of new cases: started, and into its plan where one was
    agreed before."""
    content_type = ContentType.objects.get_for_model(Case)

    def row(case, source, state, transition, description):
        return {
            "by_id": None,
            "source_state": source,
            "state": state,
            "transition": transition,
            "content_type_id": content_type.pk,
            "object_id": case.pk,
            "description": description,
        }

    rows = []
    for case in cases:
        rows.append(
            row(
                case,
                Case.State.OPEN,
                Case.State.IN_DUNNING,
                "start",
                f"overdue ({actor})",
            )
        )
        if case.invoice_id in in_plan:
            rows.append(
                row(
                    case,
                    Case.State.IN_DUNNING,
                    Case.State.INSTALMENTS,
                    "agree_instalments",
                    f"instalment plan {in_plan[case.invoice_id]} agreed before "
                    f"the case opened ({actor})",
                )
            )
    insert_rows(StateLog, rows, ids=False)


def _plan_messages(creditor, on, now, taken, case_steps, stats, run):
    """One decision and one message per debtor for everything due today."""
    by_customer: dict[int, list] = defaultdict(list)
    for (invoice, case, step), case_step in zip(taken, case_steps, strict=True):
        by_customer[invoice.customer_id].append((invoice, case, step, case_step))

    decisions, messages, grouped = [], [], []
    due = {
        customer_id: [
            DueItem(
                invoice_id=invoice.id,
                step=step,
                open_amount=invoice.open_amount,
                currency=invoice.currency,
                days_overdue=invoice.late_days,
            )
            for invoice, _, step, _ in rows
        ]
        for customer_id, rows in by_customer.items()
    }
    # The learned models' answers for the whole batch, read once; empty
    # without active models, and then every decision is the rules' alone.
    customers = [rows[0][0].customer for rows in by_customer.values()]
    learned = learned_load(creditor=creditor, customers=customers, items=due, on=on)
    # The contact policies and the debtors' contacts so far, read once for
    # the batch instead of two queries per debtor. The batch's own messages
    # are saved after every decision, so each debtor sees the same history.
    contacts = ContactBook.load(list(by_customer), on=on)
    # The running experiments and these debtors' earlier arms.
    experiments = ExperimentBook.load(list(by_customer), creditor=creditor)
    for customer_id, rows in by_customer.items():
        customer = rows[0][0].customer
        items = due[customer_id]
        governing = message_outcome(
            [(step.action, invoice.rule_outcome) for invoice, _, step, _ in rows]
        )
        decision = decide(
            customer,
            items,
            on,
            now,
            rule=governing,
            contacts=contacts,
            experiments=experiments,
            **learned.for_customer(customer_id),
        )
        channel = decision.channel
        message = {
            "creditor_id": creditor.pk,
            "customer_id": customer_id,
            "channel": channel or "letter",
            "idempotency_key": _message_key(channel, [r[3] for r in rows]),
            "run_id": run.pk if run else None,
            "action_date": on,
            "scheduled_at": decision.send_at,
            "language": decision.language,
            "tone": decision.tone,
            "status": Message.Status.PLANNED,
            "status_reason": "",
        }
        if not channel:
            message["status"] = Message.Status.CANCELLED
            message["status_reason"] = decision.reasons["channel"]
        decisions.append(decision)
        messages.append(message)
        grouped.append(rows)

    _saved(decisions, insert_rows(Decision, [model_row(d) for d in decisions]))
    experiments.record(now=now)
    for decision, message in zip(decisions, messages, strict=True):
        message["decision_id"] = decision.pk
    message_ids = insert_rows(Message, messages)
    insert_rows(
        MessageItem,
        [
            {
                "message_id": message_id,
                "case_step_id": case_step.id,
                "invoice_id": invoice.id,
                "level": step.position,
                "action": step.action,
                "open_amount": invoice.open_amount,
                "currency": invoice.currency,
            }
            for message_id, rows in zip(message_ids, grouped, strict=True)
            for invoice, _, step, case_step in rows
        ],
        ids=False,
    )
    for message_id, message in zip(message_ids, messages, strict=True):
        planned = message["status"] == Message.Status.PLANNED
        stats.messages[message["channel"] if planned else "unreachable"] += 1
        if planned:
            stats.message_ids.append(message_id)
