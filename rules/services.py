"""Rule sets change here (activate, copy); explain and dry-run read through here.

`simulate` answers "what would the run do on this day" for a set of claims with
the run's own pieces: its candidate query, `PlanBook`, `_step_is_due`, the
rule engine and `personalisation.decide`. It writes nothing, so the explain view
and the dry-run can call it on the live database.
"""

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.calendar import effective_due_date
from core.money import ZERO
from rules.attributes import ClaimContext, customer_aggregates
from rules.engine import RuleBook, RuleOutcome, held_reviews, message_outcome
from rules.models import Condition, Rule, RuleSet
from rules.validation import validate_conditions, validate_effects

logger = logging.getLogger(__name__)


# --- Changing rule sets ---------------------------------------------------


def rule_set_check(rule_set: RuleSet) -> None:
    """Every enabled rule of the set is valid now (choices may have changed)."""
    errors = []
    for rule in rule_set.rules.filter(enabled=True).prefetch_related("conditions"):
        rows = [
            (c.group, c.attribute, c.operator, c.value) for c in rule.conditions.all()
        ]
        try:
            validate_conditions(rows)
            validate_effects(rule)
        except ValidationError as exc:
            errors.extend(f"Rule {rule}: {m}" for m in exc.messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def rule_set_activate(*, rule_set_id: int, actor: str) -> RuleSet:
    """Make a draft the active set of its scope; the set active before retires."""
    rule_set = RuleSet.objects.select_for_update().get(pk=rule_set_id)
    if rule_set.status != RuleSet.Status.DRAFT:
        raise ValidationError(
            f"{rule_set} is {rule_set.status}; only a draft can be activated."
        )
    rule_set_check(rule_set)

    now = timezone.now()
    previous = RuleSet.objects.select_for_update().filter(
        status=RuleSet.Status.ACTIVE, creditor_id=rule_set.creditor_id
    )
    if rule_set.creditor_id is None:
        previous = RuleSet.objects.select_for_update().filter(
            status=RuleSet.Status.ACTIVE, creditor__isnull=True
        )
    retired = previous.update(
        status=RuleSet.Status.RETIRED, retired_at=now, retired_by=actor
    )
    rule_set.status = RuleSet.Status.ACTIVE
    rule_set.activated_at = now
    rule_set.activated_by = actor
    rule_set.save(update_fields=["status", "activated_at", "activated_by"])
    logger.info("rule set %s activated by %s (%d retired)", rule_set.pk, actor, retired)
    return rule_set


@transaction.atomic
def rule_set_copy(*, rule_set_id: int, actor: str) -> RuleSet:
    """A new draft with the same rules and conditions, one version up."""
    source = RuleSet.objects.get(pk=rule_set_id)
    latest = (
        RuleSet.objects.filter(creditor_id=source.creditor_id, name=source.name)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    copy = RuleSet.objects.create(
        name=source.name,
        creditor_id=source.creditor_id,
        version=(latest or 0) + 1,
        copied_from=source,
        description=source.description,
        created_by=actor,
    )
    for rule in source.rules.prefetch_related("conditions"):
        conditions = list(rule.conditions.all())
        rule.pk = None
        rule.rule_set = copy
        rule.save()
        Condition.objects.bulk_create(
            Condition(
                rule=rule,
                group=c.group,
                attribute=c.attribute,
                operator=c.operator,
                value=c.value,
            )
            for c in conditions
        )
    logger.info("rule set %s copied to draft %s by %s", source.pk, copy.pk, actor)
    return copy


# --- What the run would do ------------------------------------------------


@dataclass
class ClaimPlan:
    """The run's treatment of one claim on one day, without writing it."""

    invoice: object
    on: date
    late_days: int
    state: str
    plan: object = None
    step: object = None
    # "step", "held", "skipped", "waiting", "below minimum", "not yet overdue",
    # "no further step", "not actionable"
    treatment: str = ""
    next_on: date | None = None
    fee: Decimal | None = None
    opening: RuleOutcome | None = None
    outcome: RuleOutcome | None = None
    decision: object = None
    message_outcome: RuleOutcome | None = None

    @property
    def open_display(self) -> str:
        return self.invoice.display(self.invoice.open_amount)

    @property
    def fee_display(self) -> str:
        return "" if self.fee is None else self.invoice.display(self.fee)

    def key(self) -> dict:
        """What a manager compares between two rule sets."""
        decision = self.decision
        rule = self.message_outcome or self.outcome or self.opening
        return {
            "plan": self.plan.name if self.plan else "",
            "step": _step_label(self.step) if self.treatment == "step" else "",
            "treatment": self.treatment,
            "channel": (decision.channel or "unreachable") if decision else "",
            "tone": decision.tone if decision else "",
            "payment_options": ", ".join(decision.payment_options) if decision else "",
            "fee_waived": bool(self.outcome and self.outcome.waive_fee),
            "rule": rule.rule.name if rule and rule.rule else "",
        }


def _step_label(step) -> str:
    return f"{step.position}:{step.name}" if step else ""


def _next_step_on(invoice, case, step, previous) -> date:
    from dunning.plans import step_due_on

    creditor = invoice.creditor
    effective = effective_due_date(
        invoice.due_on, creditor.country, creditor.subdivision
    )
    return step_due_on(
        step, previous, effective_due=effective, last_step_on=case.last_step_on
    )


def simulate(
    invoices, *, on: date, now: datetime, rules: RuleBook, plans=None
) -> list[ClaimPlan]:
    """What the run on `on` would do with these claims under `rules`.

    Mirrors `dunning.run._run_batch`: a late claim without a case opens one
    (the plan from the first matching rule, else the creditor's default), the
    next step is taken when due, a rule may hold, skip or waive, and each
    debtor's steps of the day share one decision.
    """
    from contact.policy import ContactBook
    from dunning.models import Case
    from dunning.run import ACTIONABLE, PlanBook, _step_is_due
    from payments.models import LedgerEntry
    from payments.services import component_balances
    from personalisation.learned import learned_load
    from personalisation.services import DueItem, decide

    plans = plans or PlanBook()
    invoices = list(invoices)
    if not invoices:
        return []
    cases = {
        c.invoice_id: c
        for c in Case.objects.filter(invoice__in=invoices).select_related(
            "plan", "current_step"
        )
    }
    figures = customer_aggregates([i.customer_id for i in invoices], on)
    held = held_reviews(c.pk for c in cases.values())
    principal = {
        invoice_id: balances[LedgerEntry.Component.PRINCIPAL]
        for invoice_id, balances in component_balances([i.id for i in invoices]).items()
    }

    results = []
    for invoice in invoices:
        creditor = invoice.creditor
        effective = effective_due_date(
            invoice.due_on, creditor.country, creditor.subdivision
        )
        late_days = (on - effective).days
        case = cases.get(invoice.id)
        result = ClaimPlan(
            invoice=invoice,
            on=on,
            late_days=late_days,
            state=case.state if case else "no case",
        )
        results.append(result)
        base = ClaimContext(
            invoice=invoice,
            on=on,
            late_days=late_days,
            figures=figures[invoice.customer_id],
        )
        if case is None:
            opening = rules.evaluate(base)
            plan = opening.plan or plans.plan_for(creditor)
            if not plans.opens_on(plan.pk, late_days):
                # Overdue from the day after, or a pre-due step's day.
                steps = plans.steps[plan.pk]
                first = min(steps[0].offset, 1) if steps else 1
                result.treatment = "not yet overdue"
                result.next_on = effective + timedelta(days=first)
                continue
            result.opening = opening
            case = Case(
                invoice=invoice,
                plan=plan,
                creditor=creditor,
                state=Case.State.IN_DUNNING,
                opened_on=on,
            )
            result.state = "opens"
            if result.opening.hold:
                result.plan, result.treatment = plan, "held"
                continue
        result.plan = case.plan
        if case.state not in ACTIONABLE:
            result.treatment = "not actionable"
            continue
        step, previous = plans.next_step(case)
        result.step = step
        if step is None:
            result.treatment = "no further step"
            continue
        ctx = ClaimContext(
            invoice=invoice,
            on=on,
            late_days=late_days,
            figures=figures[invoice.customer_id],
            case=case,
            step=step,
            current_step=previous,
        )
        result.outcome = rules.evaluate(ctx, held.get(case.pk, frozenset()))
        if not _step_is_due(case, step, previous, late_days, on):
            result.treatment = "waiting"
            result.next_on = _next_step_on(invoice, case, step, previous)
            continue
        if invoice.open_amount < max(creditor.minimum_amount, step.minimum_amount):
            result.treatment = "below minimum"
            continue
        if result.outcome.hold:
            result.treatment = "held"
            continue
        if result.outcome.skip_step:
            result.treatment = "skipped"
        elif step.action == step.Action.CALL:
            result.treatment = "call task"
        else:
            result.treatment = "step"
        result.fee = (
            ZERO
            if result.outcome.waive_fee or result.outcome.skip_step
            else step.fee_for(
                principal.get(invoice.id, invoice.open_amount), invoice.currency
            )
        )

    by_customer = defaultdict(list)
    for result in results:
        if result.treatment == "step":
            by_customer[result.invoice.customer_id].append(result)
    contacts = ContactBook.load(by_customer, on=on)
    due = {
        customer_id: [
            DueItem(
                invoice_id=r.invoice.id,
                step=r.step,
                open_amount=r.invoice.open_amount + (r.fee or ZERO),
                currency=r.invoice.currency,
                days_overdue=r.late_days,
            )
            for r in rows
        ]
        for customer_id, rows in by_customer.items()
    }
    # The learned models answer here as in the run, per creditor of the claims.
    by_creditor = defaultdict(list)
    for rows in by_customer.values():
        by_creditor[rows[0].invoice.creditor].append(rows[0].invoice.customer)
    learned = {
        creditor.pk: learned_load(
            creditor=creditor,
            customers=customers,
            items={c.pk: due[c.pk] for c in customers},
            on=on,
        )
        for creditor, customers in by_creditor.items()
    }
    for customer_id, rows in by_customer.items():
        customer = rows[0].invoice.customer
        items = due[customer_id]
        governing = message_outcome([(r.step.action, r.outcome) for r in rows])
        decision = decide(
            customer,
            items,
            on,
            now,
            rule=governing,
            contacts=contacts,
            **learned[rows[0].invoice.creditor_id].for_customer(customer_id),
        )
        for r in rows:
            r.decision, r.message_outcome = decision, governing
    return results


def explain_claims(invoices, *, on: date | None = None, rule_set=None, now=None):
    """The treatment of these claims now, under the active rules or a draft."""
    now = now or timezone.now()
    invoices = list(invoices)
    if not invoices:
        return []
    rules = RuleBook.with_draft(rule_set) if rule_set else RuleBook.active()
    on = on or invoices[0].creditor.local_today()
    return simulate(invoices, on=on, now=now, rules=rules)


# --- Dry-run over a portfolio --------------------------------------------

COUNTED = ["plan", "step", "channel", "tone", "treatment"]


@dataclass
class DryRun:
    on: date | None
    rule_set: RuleSet
    baseline_label: str
    claims: int = 0
    draft: dict = field(default_factory=dict)
    baseline: dict = field(default_factory=dict)
    changed: list = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "on": self.on.isoformat() if self.on else None,
            "rule_set_id": self.rule_set.pk,
            "baseline": self.baseline_label,
            "claims": self.claims,
            "counts": {"draft": self.draft, "baseline": self.baseline},
            "changed": [
                {
                    "invoice_id": c["invoice"].pk,
                    "number": c["invoice"].number,
                    "before": c["before"],
                    "after": c["after"],
                    "fields": c["fields"],
                }
                for c in self.changed
            ],
        }


def _count(plans: list[ClaimPlan]) -> dict:
    counts = {name: Counter() for name in COUNTED}
    for plan in plans:
        key = plan.key()
        counts["plan"][key["plan"] or "(no case)"] += 1
        counts["treatment"][key["treatment"]] += 1
        if key["treatment"] == "step":
            counts["step"][key["step"]] += 1
            counts["channel"][key["channel"]] += 1
            counts["tone"][key["tone"]] += 1
    return {name: dict(sorted(c.items())) for name, c in counts.items()}


def dry_run(
    *,
    rule_set_id: int,
    on: date | None = None,
    against_no_rules: bool = False,
    now: datetime | None = None,
) -> DryRun:
    """Compare a rule set with the active rules (or with none) over the portfolio.

    The claims are those the run would examine: of the set's creditor, or of
    every creditor for a global set; `on` defaults to each creditor's today.
    Only reads.
    """
    from customers.models import Creditor
    from dunning.run import PlanBook, _candidates
    from payments.models import Invoice

    now = now or timezone.now()
    rule_set = RuleSet.objects.select_related("creditor").get(pk=rule_set_id)
    draft_rules = RuleBook.with_draft(rule_set)
    if against_no_rules:
        baseline_rules, label = RuleBook.empty(), "no rules"
    else:
        baseline_rules, label = RuleBook.active(), "the active rules"
    plans = PlanBook()
    result = DryRun(on=on, rule_set=rule_set, baseline_label=label)
    creditors = Creditor.objects.order_by("id")
    if rule_set.creditor_id:
        creditors = creditors.filter(pk=rule_set.creditor_id)

    after, before = [], []
    for creditor in creditors:
        day = on or creditor.local_today()
        invoices = list(
            Invoice.objects.filter(
                pk__in=_candidates(creditor, day, plans).values("pk")
            )
            .select_related("customer", "creditor")
            .order_by("customer_id", "due_on", "id")
        )
        after += simulate(invoices, on=day, now=now, rules=draft_rules, plans=plans)
        before += simulate(invoices, on=day, now=now, rules=baseline_rules, plans=plans)

    result.claims = len(after)
    result.draft = _count(after)
    result.baseline = _count(before)
    for new, old in zip(after, before, strict=True):
        a, b = new.key(), old.key()
        fields = [name for name in a if a[name] != b[name] and name != "rule"]
        if fields:
            result.changed.append(
                {"invoice": new.invoice, "before": b, "after": a, "fields": fields}
            )
    logger.info(
        "dry-run of rule set %s: %d claims, %d would change",
        rule_set.pk,
        result.claims,
        len(result.changed),
    )
    return result


def rule_conditions_validate(rule: Rule, rows) -> None:
    """Validate a rule's effects and its (group, attribute, operator, value) rows."""
    errors = []
    for check in (
        lambda: validate_conditions(list(rows)),
        lambda: validate_effects(rule),
    ):
        try:
            check()
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError(errors)
