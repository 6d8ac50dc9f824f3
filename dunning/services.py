"""Changes to dunning cases, and the daily run that takes the steps that are due."""

import logging
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from api.events import EventType, emit_cases
from core.money import round_money
from dunning.models import CallTask, Case, Promise

logger = logging.getLogger(__name__)


def _save_transition(case: Case, method: str, *, actor: str, description: str = ""):
    """Call an FSM transition on a locked row and save it in the same transaction."""
    getattr(case, method)(by=None, description=description or None)
    case.save()


@transaction.atomic
def cases_close_settled(*, invoice_ids, actor: str) -> int:
    """Close the live cases of claims that are settled (paid or credited to zero)
    and end their instalment plans."""
    from payments.instalments import instalment_plans_end

    invoice_ids = list(invoice_ids)
    instalment_plans_end(invoice_ids=invoice_ids, actor=actor)
    closed = []
    cases = Case.objects.select_for_update().filter(
        invoice_id__in=invoice_ids, state__in=Case.LIVE
    )
    for case in cases:
        case.close_paid(description=f"settled ({actor})")
        case.closed_at = timezone.now()
        case.save()
        closed.append(case.pk)
    if closed:
        logger.info("closed %d settled cases", len(closed))
        emit_cases(EventType.CASE_CLOSED, closed)  # webhook event
    return len(closed)


@transaction.atomic
def case_transition(
    *, case_id: int, transition: str, actor: str, description: str = ""
):
    """Run one FSM transition on a locked case; a concurrent change raises."""
    case = Case.objects.select_for_update().get(pk=case_id)
    _save_transition(case, transition, actor=actor, description=description)
    if case.state in Case.CLOSED:
        emit_cases(EventType.CASE_CLOSED, [case.pk])  # webhook event
    return case


# --- Case work: what clerks and managers do to a case by hand. ---------------------
#
# Every service locks the claim and then the case (the order the run locks them in,
# so a run in progress finishes its batch first), checks that the transition is
# allowed in the case's state, transitions and saves in one transaction. The state
# log records the acting user in `by` and the reason in its description.


class CaseWorkError(ValueError):
    """Refused case work; nothing was changed."""


def actor_label(actor) -> str:
    """`user:<id>` for a user, the string itself for a system actor."""
    if isinstance(actor, str):
        return actor
    return f"user:{actor.pk}"


def _actor_user(actor):
    return None if isinstance(actor, str) else actor


def _lock_case(case_id: int) -> Case:
    from payments.models import Invoice

    invoice_id = (
        Case.objects.filter(pk=case_id).values_list("invoice_id", flat=True).first()
    )
    if invoice_id is None:
        raise CaseWorkError(f"Case {case_id} does not exist.")
    Invoice.objects.select_for_update().filter(pk=invoice_id).first()
    return (
        Case.objects.select_for_update()
        .select_related("invoice", "creditor")
        .get(pk=case_id)
    )


def _check_allowed(case: Case, transition: str, verb: str) -> None:
    if not can_proceed(getattr(case, transition)):
        raise CaseWorkError(
            f"Case {case.pk} is {case.get_state_display().lower()}: it cannot be "
            f"{verb}."
        )


def _work(case: Case, transition: str, *, actor, description: str) -> None:
    user = _actor_user(actor)
    if user is None:
        description = f"{description} ({actor})"
    getattr(case, transition)(by=user, description=description[:1000])
    case.save()


def _reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise CaseWorkError(f"{what} needs a reason.")
    return reason


@transaction.atomic
def case_pause(*, case_id: int, until: date, actor, reason: str) -> Case:
    """Pause dunning until a date; the case resumes the day after."""
    reason = _reason(reason, "A pause")
    case = _lock_case(case_id)
    _check_allowed(case, "pause", "paused")
    if until <= case.creditor.local_today():
        raise CaseWorkError(f"A pause must end after today, not on {until}.")

    case.paused_until = until
    _work(case, "pause", actor=actor, description=f"paused until {until}: {reason}")
    logger.info("case %s paused until %s", case.pk, until)
    return case


@transaction.atomic
def case_resume(*, case_id: int, actor, reason: str = "") -> Case:
    """End a pause now; the run takes the next step that is due."""
    case = _lock_case(case_id)
    _check_allowed(case, "resume", "resumed")

    text = "resumed" + (f": {reason.strip()}" if (reason or "").strip() else "")
    _work(case, "resume", actor=actor, description=text)
    logger.info("case %s resumed", case.pk)
    return case


@transaction.atomic
def case_promise(*, case_id: int, promised_on: date, amount: Decimal, actor) -> Promise:
    """Record a promise to pay: the case pauses until the promised date."""
    case = _lock_case(case_id)
    _check_allowed(case, "pause", "paused for a promise to pay")
    invoice = case.invoice
    amount = round_money(Decimal(amount), invoice.currency)
    if amount <= 0:
        raise CaseWorkError("A promise to pay needs a positive amount.")
    if amount > invoice.open_amount:
        raise CaseWorkError(
            f"The promised {invoice.display(amount)} is more than the open "
            f"{invoice.display(invoice.open_amount)}."
        )
    if promised_on <= case.creditor.local_today():
        raise CaseWorkError(f"A promise must be for a date after today: {promised_on}.")
    pending = case.promises.filter(status=Promise.Status.PENDING).first()
    if pending is not None:
        raise CaseWorkError(
            f"Case {case.pk} already has a promise to pay by {pending.promised_on}."
        )

    promise = Promise.objects.create(
        case=case,
        promised_on=promised_on,
        amount=amount,
        currency=invoice.currency,
        open_amount=invoice.open_amount,
        actor=actor_label(actor),
    )
    case.paused_until = promised_on
    _work(
        case,
        "pause",
        actor=actor,
        description=f"promise to pay {invoice.display(amount)} by {promised_on}",
    )
    logger.info("case %s: promise to pay by %s", case.pk, promised_on)
    emit_cases(  # webhook event
        EventType.PROMISE_MADE,
        [case.pk],
        promised_on=promised_on,
        promised_amount=str(amount),
    )
    return promise


@transaction.atomic
def case_dispute(*, case_id: int, reason: str, actor) -> Case:
    """Mark the claim disputed: no messages and no interest until resolved."""
    reason = _reason(reason, "A dispute")
    case = _lock_case(case_id)
    _check_allowed(case, "dispute", "disputed")

    case.paused_until = None
    _work(case, "dispute", actor=actor, description=f"disputed: {reason}")
    logger.info("case %s disputed", case.pk)
    emit_cases(EventType.DISPUTE_OPENED, [case.pk], reason=reason)  # webhook event
    return case


@transaction.atomic
def case_agree_instalments(*, case_id: int, actor, description: str) -> Case:
    """The claim is paid in instalments: no steps while the plan is kept."""
    case = _lock_case(case_id)
    _check_allowed(case, "agree_instalments", "put in an instalment plan")

    _work(case, "agree_instalments", actor=actor, description=description)
    logger.info("case %s in an instalment plan", case.pk)
    return case


@transaction.atomic
def case_resolve_dispute(*, case_id: int, reason: str, actor) -> Case:
    """Resolve a dispute in the creditor's favour: dunning goes on."""
    reason = _reason(reason, "Resolving a dispute")
    case = _lock_case(case_id)
    _check_allowed(case, "resolve_dispute", "resolved")

    _work(case, "resolve_dispute", actor=actor, description=f"resolved: {reason}")
    logger.info("case %s: dispute resolved", case.pk)
    return case


@transaction.atomic
def case_write_off(*, case_id: int, reason: str, actor) -> Case:
    """Write off what is open on the claim and close the case as written off."""
    from payments.models import Invoice
    from payments.services import claim_write_off

    reason = _reason(reason, "A write-off")
    case = _lock_case(case_id)
    _check_allowed(case, "write_off", "written off")

    # The case closes first so that the state log names the user;
    # claim_write_off then finds no live case and only books the ledger.
    case.closed_at = timezone.now()
    _work(case, "write_off", actor=actor, description=f"written off: {reason}")
    if case.invoice.status == Invoice.Status.OPEN:
        claim_write_off(invoice=case.invoice, actor=actor_label(actor), reason=reason)
    logger.info("case %s written off", case.pk)
    emit_cases(EventType.CASE_CLOSED, [case.pk])  # webhook event
    return case


@transaction.atomic
def case_hand_over(*, case_id: int, reason: str, actor) -> Case:
    """Hand the claim over to a collection agency; dunning stops here."""
    reason = _reason(reason, "A handover")
    case = _lock_case(case_id)
    _check_allowed(case, "hand_over", "handed over")

    _work(case, "hand_over", actor=actor, description=f"handed over: {reason}")
    logger.info("case %s handed over", case.pk)
    emit_cases(EventType.HANDED_OVER, [case.pk], reason=reason)  # webhook event
    return case


# The services a bulk action may call, by name.
BULK_WORK = {
    "pause": case_pause,
    "resume": case_resume,
    "dispute": case_dispute,
    "hand_over": case_hand_over,
}


def cases_work(*, case_ids, work: str, actor, **params) -> tuple[int, int]:
    """Apply one kind of case work to many cases; returns (changed, skipped).

    Each case is its own transaction: a case whose state does not allow the
    work is skipped and the others still change.
    """
    service = BULK_WORK[work]
    changed = skipped = 0
    for case_id in case_ids:
        try:
            service(case_id=case_id, actor=actor, **params)
        except CaseWorkError:
            skipped += 1
        else:
            changed += 1
    logger.info("bulk %s: %d cases changed, %d skipped", work, changed, skipped)
    return changed, skipped


def _promise_kept(promise: Promise) -> bool:
    """Kept when the claim is settled or fell by at least the promised amount."""
    from payments.models import Invoice

    invoice = promise.case.invoice
    if invoice.status != Invoice.Status.OPEN or invoice.open_amount <= 0:
        return True
    return promise.open_amount - invoice.open_amount >= promise.amount


@transaction.atomic
def cases_resume_due(*, on: date, actor, creditor_ids=None) -> dict:
    """Settle promises whose date has passed and resume pauses that have ended.

    `on` is the creditor-local date of the run: a case paused until D resumes on
    D + 1, and a promise to pay by D that was not paid by then is broken on D + 1.
    A resumed case goes on at the step after its current one, as the run decides.
    """
    promises = (
        Promise.objects.select_for_update(of=("self",))
        .select_related("case__invoice")
        .filter(status=Promise.Status.PENDING, promised_on__lt=on)
    )
    cases = Case.objects.filter(state=Case.State.PAUSED, paused_until__lt=on)
    if creditor_ids is not None:
        promises = promises.filter(case__creditor_id__in=list(creditor_ids))
        cases = cases.filter(creditor_id__in=list(creditor_ids))

    kept = broken = 0
    promises = list(promises)
    for promise in promises:
        promise.resolved_on = on
        if _promise_kept(promise):
            promise.status = Promise.Status.KEPT
            kept += 1
        else:
            promise.status = Promise.Status.BROKEN
            broken += 1
    Promise.objects.bulk_update(promises, ["status", "resolved_on"])
    broken_cases = {p.case_id for p in promises if p.status == Promise.Status.BROKEN}
    emit_cases(EventType.PROMISE_BROKEN, broken_cases)  # webhook event

    resumed = 0
    for case in cases.select_for_update():
        why = "promise to pay broken" if case.pk in broken_cases else "pause ended"
        _work(
            case,
            "resume",
            actor=actor,
            description=f"{why} ({case.paused_until})",
        )
        resumed += 1
    if promises or resumed:
        logger.info(
            "promises kept %d, broken %d; cases resumed %d", kept, broken, resumed
        )
    return {"promises_kept": kept, "promises_broken": broken, "resumed": resumed}


def _instalment_shortfall(plan, on: date) -> int | None:
    """The position of the first instalment due before `on` that is not paid.

    Money paid since the plan was agreed counts against the instalments in
    order, so paying two at once covers both; None when nothing is missed.
    """
    from django.db.models import Sum

    from payments.models import LedgerEntry

    paid = -(
        LedgerEntry.objects.filter(
            invoice_id=plan.invoice_id,
            # A reversed payment (a failed direct debit) adds back what it
            # took, so it no longer covers an instalment.
            kind__in=[LedgerEntry.Kind.PAYMENT, LedgerEntry.Kind.CREDIT, "reversal"],
            booked_on__gte=plan.agreed_on,
        ).aggregate(total=Sum("amount"))["total"]
        or Decimal(0)
    )
    owed = Decimal(0)
    for instalment in plan.instalments.filter(due_on__lt=on).order_by("position"):
        owed += instalment.amount
        if paid < owed:
            return instalment.position
    return None


@transaction.atomic
def cases_instalments_missed(*, on: date, actor, creditor_ids=None) -> int:
    """Cases whose instalment plan has a missed instalment go back to dunning.

    An instalment due on D and unpaid is missed on D + 1; the plan is cancelled
    and the case goes on at the step after its current one, as the run decides.
    """
    from payments.models import InstalmentPlan

    cases = Case.objects.select_for_update().filter(state=Case.State.INSTALMENTS)
    if creditor_ids is not None:
        cases = cases.filter(creditor_id__in=list(creditor_ids))
    missed = 0
    for case in cases:
        plan = (
            InstalmentPlan.objects.filter(
                invoice_id=case.invoice_id, status=InstalmentPlan.Status.ACTIVE
            )
            .prefetch_related("instalments")
            .first()
        )
        position = _instalment_shortfall(plan, on) if plan else None
        if plan is not None and position is None:
            continue
        why = f"instalment {position} missed" if plan else "no active plan"
        if plan is not None:
            plan.status = InstalmentPlan.Status.CANCELLED
            plan.status_reason, plan.ended_on = why, on
            plan.save(update_fields=["status", "status_reason", "ended_on"])
        case.miss_instalment(by=None, description=f"{why} ({actor_label(actor)})")
        case.save()
        missed += 1
    if missed:
        logger.info("instalment plans missed: %d cases back in dunning", missed)
    return missed


@transaction.atomic
def call_task_record(*, task_id: int, outcome: str, note: str, actor) -> CallTask:
    """A clerk records the call a plan step asked for; the task is then done.

    Recording never changes the case: a promise or a dispute heard on the phone
    is entered as case work, where its own rules apply.
    """
    task = CallTask.objects.select_for_update().get(pk=task_id)
    if task.done_at is not None:
        raise ValidationError(
            f"This call was already recorded by {task.done_by} on "
            f"{timezone.localtime(task.done_at):%Y-%m-%d %H:%M}."
        )
    if outcome not in CallTask.Outcome.values:
        raise ValidationError(f"Unknown call outcome {outcome!r}.")
    task.outcome = outcome
    task.note = note.strip()
    task.done_at = timezone.now()
    task.done_by = actor_label(actor)
    task.save(update_fields=["outcome", "note", "done_at", "done_by"])
    return task
