"""Evaluating rules: the same code for the run, the explain view and the dry-run.

`RuleBook` holds the rules that apply (the active sets, or a draft in place of
the active set of its scope), parsed once. `RuleBook.evaluate` checks every rule
of the claim's creditor against a `ClaimContext` in priority order: the
creditor's own set first, then the global set. The first rule that matches
applies; the outcome also records, for each other rule, why it did not apply.
Evaluation only reads; it never writes.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from rules.attributes import MONEY, NUMBER, OPERATORS, REGISTRY, TEXT, ClaimContext
from rules.models import Rule, RuleSet
from rules.validation import Parsed, parse_condition

HOLD_PREFIX = "held for review by rule"
HOLD_PATTERN = re.compile(rf"^{HOLD_PREFIX} (\d+)\b")


def _shown(value) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, frozenset):
        return ", ".join(sorted(_shown(v) for v in value))
    return str(value)


def _fold(attribute, value):
    # Text compares without regard to case: "de" and "DE" are one language.
    if attribute.type == TEXT and isinstance(value, str):
        return value.casefold()
    if attribute.type == TEXT and isinstance(value, frozenset):
        return frozenset(v.casefold() for v in value)
    return value


def row_holds(row: Parsed, actual) -> bool:
    """Whether one condition row holds for the attribute's actual value."""
    if actual is None:
        return False
    attribute = REGISTRY[row.attribute]
    actual, expected = _fold(attribute, actual), _fold(attribute, row.value)
    if attribute.type in (NUMBER, MONEY):
        actual = Decimal(actual)
    op = row.operator
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    if op == "gt":
        return actual > expected
    if op == "gte":
        return actual >= expected
    if op == "lt":
        return actual < expected
    if op == "lte":
        return actual <= expected
    if op == "in":
        return actual in expected
    if op == "not_in":
        return actual not in expected
    if op == "contains":
        return expected in actual
    raise ValueError(f"unknown operator {op!r}")


def _row_text(row: Parsed, actual) -> str:
    label = REGISTRY[row.attribute].label.lower()
    return f"{label} is {_shown(actual)}, {OPERATORS[row.operator]} {_shown(row.value)}"


@dataclass
class LoadedRule:
    rule: Rule
    rule_set: RuleSet
    groups: list[list[Parsed]]

    def check(self, values: dict) -> tuple[bool, str]:
        """(matched, why): why names the rows that held, or the first that failed."""
        if not self.groups:
            return True, "no conditions: applies to every claim"
        failures = []
        for index, rows in enumerate(self.groups, start=1):
            failed = next(
                (r for r in rows if not row_holds(r, values[r.attribute])), None
            )
            if failed is None:
                held = "; ".join(_row_text(r, values[r.attribute]) for r in rows)
                return True, held
            prefix = f"group {index}: " if len(self.groups) > 1 else ""
            failures.append(
                f"{prefix}{_row_text(failed, values[failed.attribute])} does not hold"
            )
        return False, "; ".join(failures)


@dataclass
class RuleOutcome:
    """The rule that applies to a claim now (or none), and why the others did not."""

    rule: Rule | None = None
    rule_set: RuleSet | None = None
    why: str = ""
    checks: list = field(default_factory=list)
    # Set when the rule's hold already happened once for this case.
    hold_spent: bool = False

    @property
    def plan(self):
        return self.rule.plan if self.rule and self.rule.plan_id else None

    @property
    def tone(self) -> str:
        return self.rule.tone if self.rule else ""

    @property
    def tone_cap(self) -> str:
        return self.rule.tone_cap if self.rule else ""

    @property
    def channels(self) -> list[str]:
        return list(self.rule.channels or []) if self.rule else []

    @property
    def preferred_channel(self) -> str:
        return self.rule.preferred_channel if self.rule else ""

    @property
    def payment_options(self) -> list[str]:
        return list(self.rule.payment_options or []) if self.rule else []

    @property
    def contact_policy(self):
        return self.rule.contact_policy if self.rule else None

    @property
    def waive_fee(self) -> bool:
        return bool(self.rule and self.rule.waive_fee)

    @property
    def skip_step(self) -> bool:
        return bool(self.rule and self.rule.skip_step)

    @property
    def hold(self) -> bool:
        return bool(self.rule and self.rule.hold_for_review and not self.hold_spent)

    @property
    def label(self) -> str:
        if self.rule is None:
            return "no rule"
        return f"rule #{self.rule.priority} {self.rule.name!r} ({self.rule_set})"

    def reason(self) -> str:
        """One sentence for `Decision.reasons["rule"]`."""
        if not self.checks:
            return "no active rule set applies"
        if self.rule is None:
            head = "no rule matched"
        else:
            head = f"{self.label} matched: {self.why}"
            if self.hold_spent:
                head += " (its hold for review was already released once)"
        others = [
            f"#{c['priority']} {c['name']!r}: {c['why']}"
            for c in self.checks
            if self.rule is None or c["rule_id"] != self.rule.pk
        ]
        return head + ("; not applied: " + " | ".join(others) if others else "")

    def as_json(self) -> dict:
        return {
            "rule_id": self.rule.pk if self.rule else None,
            "rule": self.rule.name if self.rule else None,
            "rule_set_id": self.rule_set.pk if self.rule_set else None,
            "rule_set_version": self.rule_set.version if self.rule_set else None,
            "effects": effects_list(self.rule) if self.rule else [],
            "hold_spent": self.hold_spent,
            "checks": self.checks,
        }


def effects_list(rule: Rule) -> list[str]:
    effects = []
    if rule.plan_id:
        effects.append(f"plan {rule.plan.name}")
    if rule.tone:
        effects.append(f"tone {rule.tone}")
    if rule.tone_cap:
        effects.append(f"tone at most {rule.tone_cap}")
    if rule.channels:
        effects.append(f"only {', '.join(rule.channels)}")
    if rule.preferred_channel:
        effects.append(f"prefer {rule.preferred_channel}")
    if rule.payment_options:
        effects.append(f"payment options {', '.join(rule.payment_options)}")
    if rule.contact_policy_id:
        effects.append(f"contact policy {rule.contact_policy.name}")
    if rule.waive_fee:
        effects.append("waive the fee")
    if rule.skip_step:
        effects.append("skip the step")
    if rule.hold_for_review:
        effects.append("hold for review")
    return effects


def effects_text(rule: Rule) -> str:
    return "; ".join(effects_list(rule)) or "no effect"


def load_rules(rule_set: RuleSet) -> list[LoadedRule]:
    rules = (
        Rule.objects.filter(rule_set=rule_set, enabled=True)
        .select_related("plan", "contact_policy")
        .prefetch_related("conditions")
        .order_by("priority", "id")
    )
    loaded = []
    for rule in rules:
        groups: dict[int, list[Parsed]] = {}
        for row in rule.conditions.all():
            parsed = parse_condition(
                row.attribute, row.operator, row.value, strict=False
            )
            groups.setdefault(row.group, []).append(parsed)
        loaded.append(LoadedRule(rule, rule_set, [groups[g] for g in sorted(groups)]))
    return loaded


class RuleBook:
    """The rules that apply, per scope (a creditor id, or None for every creditor)."""

    def __init__(self, rule_sets):
        self.sets: dict[int | None, RuleSet] = {}
        self.rules: dict[int | None, list[LoadedRule]] = {}
        for rule_set in rule_sets:
            self.sets[rule_set.creditor_id] = rule_set
            self.rules[rule_set.creditor_id] = load_rules(rule_set)

    @classmethod
    def active(cls) -> "RuleBook":
        return cls(
            RuleSet.objects.filter(status=RuleSet.Status.ACTIVE).select_related(
                "creditor"
            )
        )

    @classmethod
    def with_draft(cls, draft: RuleSet) -> "RuleBook":
        """The active sets, with `draft` in place of the active set of its scope."""
        others = RuleSet.objects.filter(status=RuleSet.Status.ACTIVE).exclude(
            creditor_id=draft.creditor_id
        )
        if draft.creditor_id is None:
            others = RuleSet.objects.filter(
                status=RuleSet.Status.ACTIVE, creditor__isnull=False
            )
        return cls([*others.select_related("creditor"), draft])

    @classmethod
    def empty(cls) -> "RuleBook":
        return cls([])

    def rules_for(self, creditor_id: int) -> list[LoadedRule]:
        return self.rules.get(creditor_id, []) + self.rules.get(None, [])

    def evaluate(self, ctx: ClaimContext, held_by=frozenset()) -> RuleOutcome:
        """Check every rule in order; the first that matches applies.

        `held_by` holds the ids of rules that already held this case for review
        (a clerk released it), so that their hold does not repeat.
        """
        loaded = self.rules_for(ctx.invoice.creditor_id)
        outcome = RuleOutcome()
        if not loaded:
            return outcome
        values = {}
        for item in loaded:
            for rows in item.groups:
                for row in rows:
                    if row.attribute not in values:
                        values[row.attribute] = REGISTRY[row.attribute].read(ctx)
        for item in loaded:
            matched, why = item.check(values)
            rule = item.rule
            if matched and outcome.rule is None:
                outcome.rule, outcome.rule_set, outcome.why = rule, item.rule_set, why
                outcome.hold_spent = rule.hold_for_review and rule.pk in held_by
            elif matched:
                why = f"matches too, but {outcome.label} comes first"
            else:
                why = f"did not match: {why}"
            outcome.checks.append(
                {
                    "rule_id": rule.pk,
                    "name": rule.name,
                    "priority": rule.priority,
                    "rule_set_id": item.rule_set.pk,
                    "matched": matched,
                    "applied": outcome.rule is rule,
                    "why": why,
                }
            )
        return outcome


def held_reviews(case_ids) -> dict[int, set[int]]:
    """Per case, the ids of rules that held it for review before: one query."""
    from django.contrib.contenttypes.models import ContentType
    from django_fsm_log.models import StateLog

    from dunning.models import Case

    ids = [case_id for case_id in case_ids if case_id is not None]
    if not ids:
        return {}
    rows = StateLog.objects.filter(
        content_type=ContentType.objects.get_for_model(Case),
        object_id__in=ids,
        state=Case.State.PAUSED,
        description__startswith=HOLD_PREFIX,
    ).values_list("object_id", "description")
    held: dict[int, set[int]] = {}
    for object_id, description in rows:
        match = HOLD_PATTERN.match(description or "")
        if match:
            held.setdefault(int(object_id), set()).add(int(match.group(1)))
    return held


def hold_description(outcome: RuleOutcome, actor: str) -> str:
    return f"{HOLD_PREFIX} {outcome.rule.pk} ({outcome.rule.name}; {actor})"


def message_outcome(pairs) -> RuleOutcome | None:
    """The outcome that governs one message: that of its firmest step.

    `pairs` are (step action, outcome) for the claims of one message. A message
    has one channel and one tone, so the claim at the most severe step decides;
    among equals, the first one whose rule matched.
    """
    from personalisation.services import ACTION_SEVERITY

    pairs = [(action, outcome) for action, outcome in pairs if outcome is not None]
    if not pairs:
        return None
    top = max(ACTION_SEVERITY.index(action) for action, _ in pairs)
    firmest = [o for action, o in pairs if ACTION_SEVERITY.index(action) == top]
    return next((o for o in firmest if o.rule is not None), firmest[0])
