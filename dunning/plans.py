"""Plans: when a step falls due, which step orders make sense, and versions.

A step counts its days from the claim's effective due date or from the day the
previous step was taken. Either way it has a nominal offset: its days after
the effective due date when every earlier step was taken on time. The run
compares offsets to keep the spacing between steps when a claim comes late
into dunning, and the plan's lookahead (how early a pre-due note may go out)
is the most negative offset.

A plan that running cases follow is never edited in place: changing its steps
saves a new version (`revise_plan`), the cases keep the version they started
on and new cases take the new one.
"""

import logging
import operator
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import reduce
from itertools import pairwise

from django.db import transaction
from django.db.models import Q

from dunning.models import Case, Plan, Step

logger = logging.getLogger(__name__)


def plan_offsets(steps: Sequence[Step]) -> list[int]:
    """The nominal days after the effective due date of each step, in order."""
    offsets: list[int] = []
    for step in steps:
        if step.counts_from == Step.CountsFrom.PREVIOUS and offsets:
            offsets.append(offsets[-1] + step.days)
        else:
            offsets.append(step.days)
    return offsets


def annotate_offsets(steps: Sequence[Step]) -> None:
    """Set each step's `offset` from its plan's ordered steps (no queries)."""
    for step, offset in zip(steps, plan_offsets(steps), strict=True):
        step._offset = offset


def step_due_on(
    step: Step,
    previous: Step | None,
    *,
    effective_due: date,
    last_step_on: date | None,
) -> date:
    """The first day `step` may be taken for a claim.

    A step counted from the previous one is due that many days after the
    previous step was taken. A step counted from the due date is due on its
    day, and never sooner after the previous step than the plan spaces them.
    """
    after_previous = previous is not None and last_step_on is not None
    if step.counts_from == Step.CountsFrom.PREVIOUS and after_previous:
        return last_step_on + timedelta(days=step.days)
    due = effective_due + timedelta(days=step.offset)
    if after_previous:
        due = max(due, last_step_on + timedelta(days=step.offset - previous.offset))
    return due


def may_be_due(plans: Mapping[int, Sequence[Step]], on: date) -> Q | None:
    """`step_due_on(…) <= on` for the next step of a claim's case, as a filter
    on claims; None when no case has a step left.

    SQL has no holiday calendar, so the claim's due date stands in for its
    effective due date. That is never later (a due date on a holiday moves
    forward), so the filter keeps every claim whose step is due and may keep a
    few whose due date moved; `step_due_on` stays the final word. `plans` maps
    each plan to its ordered steps with their offsets set. The terms are
    grouped by their figures: a handful however many plan versions there are.
    """
    groups: dict[tuple, list[int]] = defaultdict(list)
    for plan_id, steps in plans.items():
        if not steps:
            continue
        groups["first", steps[0].offset, 0].append(plan_id)
        for previous, step in pairwise(steps):
            if step.counts_from == Step.CountsFrom.PREVIOUS:
                groups["previous", step.offset, step.days].append(previous.id)
            else:
                groups["due", step.offset, step.offset - previous.offset].append(
                    previous.id
                )
    terms = []
    for (kind, offset, gap), ids in groups.items():
        late_enough = Q(due_on__lte=on - timedelta(days=offset))
        if kind == "first":
            terms.append(
                Q(case__current_step__isnull=True, case__plan_id__in=ids) & late_enough
            )
            continue
        spaced = Q(case__last_step_on__lte=on - timedelta(days=gap))
        never_taken = Q(case__last_step_on__isnull=True) & late_enough
        if kind == "due":
            spaced &= late_enough
        terms.append(Q(case__current_step_id__in=ids) & (spaced | never_taken))
    return reduce(operator.or_, terms) if terms else None


@dataclass(frozen=True)
class StepRow:
    """A step as a manager entered it, before it is saved."""

    position: int
    name: str
    days: int
    counts_from: str


def step_order_errors(rows: Iterable[StepRow]) -> list[str]:
    """What is wrong with a plan's steps as a whole, in words a manager can act on.

    Positions run 1, 2, 3 … without gaps or repeats; the first step counts from
    the due date; a step counted from the previous one waits at least a day;
    and each step comes later than the one before it.
    """
    rows = sorted(rows, key=lambda row: row.position)
    errors: list[str] = []
    positions = [row.position for row in rows]
    repeated = sorted({p for p in positions if positions.count(p) > 1})
    for position in repeated:
        names = " and ".join(repr(r.name) for r in rows if r.position == position)
        errors.append(
            f"Two steps have position {position} ({names}); each step needs its "
            "own position."
        )
    if repeated:
        return errors
    missing = sorted(set(range(1, len(rows) + 1)) - set(positions))
    if missing:
        listed = ", ".join(str(p) for p in missing)
        errors.append(
            f"The step positions must run 1, 2, 3 … without gaps: position "
            f"{listed} is missing. Renumber the steps "
            f"({', '.join(str(p) for p in positions)})."
        )
        return errors
    if rows and rows[0].counts_from == Step.CountsFrom.PREVIOUS:
        errors.append(
            f"Step 1 ({rows[0].name!r}) has no previous step to count from: "
            "count it from the due date."
        )
        return errors
    offsets: list[int] = []
    for row in rows:
        if row.counts_from == Step.CountsFrom.PREVIOUS:
            if row.days < 1:
                errors.append(
                    f"Step {row.position} ({row.name!r}) counts from the previous "
                    "step and must wait at least 1 day after it."
                )
            offsets.append(offsets[-1] + row.days)
            continue
        if offsets and row.days <= offsets[-1]:
            before = rows[len(offsets) - 1]
            errors.append(
                f"Step {row.position} ({row.name!r}) comes {row.days} days after "
                f"the due date, not later than step {before.position} "
                f"({before.name!r}, day {offsets[-1]}): give it more days or "
                "move it before that step."
            )
        offsets.append(row.days)
    return errors


def plan_in_use(plan: Plan) -> bool:
    return Case.objects.filter(plan=plan).exists()


@transaction.atomic
def revise_plan(
    plan: Plan, steps: Sequence[tuple[int | None, dict]], *, actor: str
) -> Plan:
    """Save changed steps of a plan that cases follow as the plan's next version.

    `steps` are the new version's steps: the id of the step each one was copied
    from (None for a new step) and its fields. The old version keeps its steps
    for the cases on it; the product default, creditors' default plans, rules
    move to the new version and step-specific templates are copied to it, so new
    cases follow it.
    """
    from customers.models import Creditor
    from messaging.models import MessageTemplate
    from rules.models import Rule

    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if not plan.is_current:
        raise ValueError(
            f"Version {plan.version} of plan {plan.name!r} was replaced; change "
            "the current version."
        )
    errors = step_order_errors(
        StepRow(f["position"], f["name"], f["days"], f["counts_from"]) for _, f in steps
    )
    if errors:
        raise ValueError(" ".join(errors))
    revision = Plan.objects.create(
        name=plan.name,
        creditor=plan.creditor,
        description=plan.description,
        version=plan.version + 1,
    )
    copies = {}
    for source_id, fields in steps:
        step = Step.objects.create(plan=revision, **fields)
        if source_id is not None:
            copies[source_id] = step
    was_default = plan.is_default
    plan.replaced_by = revision
    plan.is_default = False
    plan.save(update_fields=["replaced_by", "is_default"])
    if was_default:
        revision.is_default = True
        revision.save(update_fields=["is_default"])
    Creditor.objects.filter(default_plan=plan).update(default_plan=revision)
    Rule.objects.filter(plan=plan).update(plan=revision)
    # Step-specific wording is copied: the old version's cases keep theirs.
    for template in MessageTemplate.objects.filter(step_id__in=copies):
        template.pk = None
        template.step = copies[template.step_id]
        template.save()
    logger.info(
        "plan %r revised by %s: version %d replaces %d",
        plan.name,
        actor,
        revision.version,
        plan.version,
    )
    return revision
