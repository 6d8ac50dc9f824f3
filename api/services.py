"""Writes the API makes besides the bulk upserts: the real-time evaluation of
claims after money arrived and of claims just due, engagement events and
payment reversals.

Instalment plans are recorded by `payments.instalments`, shared with the debtor
page."""

import logging

from django.db import transaction

from payments.models import Invoice

logger = logging.getLogger(__name__)


def claims_evaluate(*, invoice_ids, actor: str) -> dict:
    """Act on claims at once instead of at the next run: close the cases of
    settled claims and cancel planned messages that have nothing left to say.

    A message listing several claims stays planned while one of them is still
    owed; sending re-checks each claim and leaves out the settled ones.
    """
    from dunning.services import cases_close_settled
    from messaging.models import Message
    from messaging.services import item_stop_reason

    invoice_ids = list(invoice_ids)
    settled = list(
        Invoice.objects.filter(pk__in=invoice_ids)
        .exclude(status=Invoice.Status.OPEN)
        .values_list("pk", flat=True)
    )
    closed = cases_close_settled(invoice_ids=settled, actor=actor) if settled else 0

    planned = (
        Message.objects.filter(
            status=Message.Status.PLANNED, items__invoice_id__in=invoice_ids
        )
        .select_related("creditor")
        .prefetch_related(
            "items__invoice", "items__case_step__case", "items__case_step__step"
        )
        .distinct()
    )
    cancelled = 0
    for message in planned:
        reasons = {
            item_stop_reason(item, creditor=message.creditor)
            for item in message.items.all()
        }
        if "" in reasons:
            continue
        # The same conditional update that dispatch uses to claim a message:
        # whichever comes first wins, the other changes nothing.
        cancelled += Message.objects.filter(
            pk=message.pk, status=Message.Status.PLANNED
        ).update(
            status=Message.Status.CANCELLED,
            status_reason=", ".join(sorted(reasons))[:300],
        )
    logger.info(
        "claims evaluated by %s: %d cases closed, %d messages cancelled",
        actor,
        closed,
        cancelled,
    )
    return {"cases_closed": closed, "messages_cancelled": cancelled}


class EventConflict(ValueError):
    """The client's event id was used before for another message or status."""


def engagement_record(
    *,
    client_id: int,
    creditor_ids,
    event_id: str,
    message_id: int,
    kind: str,
    occurred_at,
    bounce: str = "",
    reason: str = "",
):
    """Record a status an ERP reports about one of its creditors' messages.

    Goes through `delivery.services.event_record` like the providers' webhooks:
    a hard bounce marks the address bad and plans the claims on the next
    channel. Idempotent by the client's event id. Returns (event, created), or
    None when the message is not one of the client's creditors'.
    """
    from delivery.services import event_record
    from messaging.models import Message

    if not Message.objects.filter(pk=message_id, creditor_id__in=creditor_ids).exists():
        return None
    # Each client has its own namespace of event ids.
    event, created = event_record(
        message_id=message_id,
        kind=kind,
        bounce=bounce or "",
        provider=f"api:{client_id}",
        provider_event_id=event_id,
        occurred_at=occurred_at,
        detail={"reason": reason} if reason else {},
        actor=f"api:{client_id}",
    )
    if not created and (event.message_id, event.kind, event.bounce) != (
        message_id,
        kind,
        bounce or "",
    ):
        raise EventConflict(
            f"Event {event_id} was reported before as {event.kind} of message "
            f"{event.message_id}."
        )
    return event, created


def payment_reversal_record(*, payment, reversed_on, reason: str, actor: str):
    """Book back a failed payment; its claims are dunned right after the commit.

    Returns the ids of the claims the payment had reached.
    """
    from django_q.tasks import async_task

    from payments.services import payment_reverse

    with transaction.atomic():
        invoice_ids = payment_reverse(
            payment=payment, reversed_on=reversed_on, actor=actor, reason=reason
        )
        if invoice_ids:
            transaction.on_commit(
                lambda: async_task("api.tasks.claims_dun", invoice_ids)
            )
    return invoice_ids


# Customers per transaction, the run's default batch size.
DUN_BATCH = 500
# How far back the overdue check looks: older claims without a case are the
# daily run's (it may have left them out on purpose, e.g. below the minimum).
OVERDUE_LOOKBACK_DAYS = 7


def claims_dun(*, invoice_ids, actor: str, now=None) -> dict:
    """Run the dunning for the customers of these claims now, not at the daily
    run: a claim reopened by a failed debit or just overdue takes its due step
    (and its message is planned) within this call.

    Each creditor's customers are one batch of the run itself
    (`dunning.run`), on the creditor's local date, so a step is still taken
    once however often this and the daily run meet.
    """
    from django.utils import timezone

    from customers.models import Creditor
    from dunning.models import Run
    from dunning.run import (
        WHOLE,
        PlanBook,
        RunStats,
        _run_failed,
        run_committed_batch,
    )

    now = now or timezone.now()
    pairs = (
        Invoice.objects.filter(pk__in=list(invoice_ids), status=Invoice.Status.OPEN)
        .values_list("creditor_id", "customer_id")
        .distinct()
    )
    customers: dict[int, set[int]] = {}
    for creditor_id, customer_id in pairs:
        customers.setdefault(creditor_id, set()).add(customer_id)
    if not customers:
        return {"steps_taken": 0, "messages": 0}

    book, stats = PlanBook(), RunStats()
    run = Run.objects.create(actor=actor)

    def figures() -> dict:
        return {
            "steps_taken": sum(stats.steps_taken.values()),
            "messages": sum(stats.messages.values()),
        }

    try:
        for creditor in Creditor.objects.filter(pk__in=customers).order_by("id"):
            ids = sorted(customers[creditor.pk])
            for start in range(0, len(ids), DUN_BATCH):
                run_committed_batch(
                    creditor,
                    creditor.local_today(),
                    now,
                    book,
                    stats,
                    run,
                    actor,
                    ids[start : start + DUN_BATCH],
                    WHOLE,
                )
    except BaseException as error:
        # As a failed daily run: the error on the Run, the committed batches'
        # figures with it.
        logger.exception("claims dunned by %s: run %s failed", actor, run.pk)
        _run_failed(run, error, figures())
        raise
    summary = figures()
    Run.objects.filter(pk=run.pk).update(finished_at=timezone.now(), summary=summary)
    logger.info(
        "claims dunned by %s: %d steps taken, %d messages planned",
        actor,
        summary["steps_taken"],
        summary["messages"],
    )
    return summary


def claims_overdue_dun(*, actor: str, now=None) -> dict:
    """Claims without a case whose effective due date has passed in their
    creditor's local date: dun them now instead of at the next daily run.

    A claim the run already opened a case for is not found again, so a
    frequent schedule repeats no work; claims due more than
    OVERDUE_LOOKBACK_DAYS ago are left to the daily run.
    """
    from datetime import timedelta

    from core.calendar import effective_due_date
    from customers.models import Creditor

    due: list[int] = []
    for creditor in Creditor.objects.order_by("id"):
        today = creditor.local_today()
        # A due date can move forward past weekends and holidays, never back:
        # only claims due before today can be overdue today.
        candidates = Invoice.objects.filter(
            creditor=creditor,
            status=Invoice.Status.OPEN,
            open_amount__gt=0,
            due_on__lt=today,
            due_on__gte=today - timedelta(days=OVERDUE_LOOKBACK_DAYS),
            case__isnull=True,
        ).values_list("pk", "due_on")
        due += [
            pk
            for pk, due_on in candidates
            if today
            > effective_due_date(due_on, creditor.country, creditor.subdivision)
        ]
    if not due:
        return {"claims": 0, "steps_taken": 0, "messages": 0}
    return {"claims": len(due), **claims_dun(invoice_ids=due, actor=actor, now=now)}
