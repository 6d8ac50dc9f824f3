"""Receiving replies, triaging them, and a clerk's confirmation or dismissal.

Every entry point (the webhooks, the IMAP poller, the admin) calls these. The
case itself changes only through `dunning.services`, which lock the claim and
the case and log the transition with the acting user; the reply records who
confirmed what.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_fsm import can_proceed

from dunning import services as dunning
from dunning.models import Case
from replies.classifier import get_classifier
from replies.matching import match_reply
from replies.models import Reply
from replies.text import clean_reply, parse_amount, parse_date, strip_subject_prefixes

logger = logging.getLogger(__name__)

Intent = Reply.Intent
Action = Reply.Action
Status = Reply.Status

# The case action each intent proposes, and the FSM transition it needs.
INTENT_ACTIONS = {
    Intent.ALREADY_PAID: Action.PAUSE,
    Intent.DISPUTE: Action.DISPUTE,
    Intent.PROMISE_TO_PAY: Action.PROMISE,
    Intent.HARDSHIP: Action.PAUSE,
    Intent.ADDRESS_CHANGE: Action.NONE,
    Intent.OTHER: Action.NONE,
}
TRANSITIONS = {
    Action.PAUSE: "pause",
    Action.DISPUTE: "dispute",
    Action.PROMISE: "pause",
}
# Intents that need a clerk's own work even when the classifier is sure.
QUEUE_REASONS = {
    Intent.HARDSHIP: "hardship or instalment request: agree a plan with the debtor",
    Intent.ADDRESS_CHANGE: "address change: update the customer's contact data",
    Intent.OTHER: "no intent the product acts on: read and answer",
}


class ReplyError(ValueError):
    """Refused work on a reply; nothing was changed."""


@dataclass(frozen=True)
class Inbound:
    """A reply as an inbound channel hands it over."""

    channel: str
    provider: str
    provider_message_id: str
    sender: str
    subject: str
    text: str
    received_at: datetime
    raw: str
    in_reply_to: str = ""
    references: str = ""


def reply_receive(*, inbound: Inbound) -> tuple[Reply, bool]:
    """Store a reply once and triage it; a re-delivery returns the stored reply.

    Triage runs after the reply is committed: a reply that cannot be triaged
    (no classifier, a bug) is kept as "new" and logged, never lost.
    """
    key = {
        "provider": inbound.provider,
        "provider_message_id": inbound.provider_message_id[:300],
    }
    existing = Reply.objects.filter(**key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            reply = Reply.objects.create(
                **key,
                channel=inbound.channel,
                sender=inbound.sender[:300],
                subject=inbound.subject[:300],
                text=inbound.text,
                received_at=inbound.received_at,
                raw=inbound.raw,
                in_reply_to=inbound.in_reply_to[:1000],
                references=inbound.references,
            )
    except IntegrityError:
        # A concurrent delivery of the same message was stored first.
        return Reply.objects.get(**key), False
    logger.info("reply %s received by %s", reply.pk, inbound.provider)

    try:
        reply = reply_triage(reply_id=reply.pk)
    except Exception:
        logger.exception("reply %s: triage failed; it stays new", reply.pk)
    return reply, True


def reply_triage(*, reply_id: int) -> Reply:
    """Classify an open reply, match it to cases and propose what to do."""
    reply = Reply.objects.get(pk=reply_id)
    cleaned = clean_reply(reply.text)
    prediction = get_classifier().predict(
        cleaned or strip_subject_prefixes(reply.subject)
    )
    match = match_reply(
        channel=reply.channel,
        sender=reply.sender,
        subject=reply.subject,
        cleaned_text=cleaned,
        text=reply.text,
        in_reply_to=reply.in_reply_to,
        references=reply.references,
    )

    with transaction.atomic():
        reply = Reply.objects.select_for_update().get(pk=reply_id)
        if not reply.is_open:
            return reply
        reply.cleaned_text = cleaned
        reply.intent = prediction.intent
        reply.confidence = prediction.confidence
        reply.scores = prediction.scores
        reply.classifier_version = prediction.version
        reply.customer = match.customer
        reply.replied_to = match.replied_to
        reply.match_notes = "; ".join(match.notes)[:500]
        _propose(reply, match.cases)
        reply.save()
        reply.cases.set(match.cases)
    logger.info(
        "reply %s: %s (%.2f), %s",
        reply.pk,
        reply.intent,
        reply.confidence,
        reply.status,
    )
    return reply


def _allowed(case: Case, action: str) -> bool:
    return action in TRANSITIONS and can_proceed(getattr(case, TRANSITIONS[action]))


def _propose(reply: Reply, cases: list[Case]) -> None:
    """Set the proposal and the status: proposed for one click, else queued."""
    reply.pause_until = reply.promised_on = reply.promised_amount = None
    threshold = settings.REPLIES_CONFIDENCE_THRESHOLD
    action = INTENT_ACTIONS[reply.intent]
    workable = [case for case in cases if _allowed(case, action)]
    reasons = [QUEUE_REASONS[reply.intent]] if reply.intent in QUEUE_REASONS else []

    if reply.confidence < threshold:
        action = Action.NONE
        reasons = [f"unsure: {reply.confidence:.2f} is below {threshold:.2f}"]
    elif reply.customer is None:
        action = Action.NONE
        reasons.append("no customer matches the sender or a claim number")
    elif action != Action.NONE and not workable:
        action = Action.NONE
        reasons.append("no case in a state that allows the action")
    elif action == Action.PROMISE and len(workable) > 1:
        action = Action.NONE
        reasons.append("a promise for several claims: record it on each case")

    if action in (Action.PAUSE, Action.PROMISE):
        today = workable[0].creditor.local_today()
        if action == Action.PAUSE:
            reply.pause_until = today + timedelta(days=settings.REPLIES_PAUSE_DAYS)
        else:
            _read_promise(reply, workable[0], today)

    reply.proposed_action = action
    reply.queue_reason = "; ".join(reasons)[:300]
    reply.status = Status.QUEUED if reasons else Status.PROPOSED


def _read_promise(reply: Reply, case: Case, today: date) -> None:
    """The date and amount the debtor named; the clerk fills in what is missing."""
    promised_on = parse_date(reply.cleaned_text, today)
    reply.promised_on = promised_on if promised_on and promised_on > today else None
    amount = parse_amount(reply.cleaned_text)
    if amount is not None and amount[1] == case.invoice.currency:
        reply.promised_amount = min(amount[0], case.invoice.open_amount)


def proposal_cases(reply: Reply) -> list[Case]:
    """The reply's cases whose state allows the proposed action now."""
    return [c for c in reply.cases.all() if _allowed(c, reply.proposed_action)]


@transaction.atomic
def reply_confirm(
    *,
    reply_id: int,
    actor,
    until: date | None = None,
    promised_on: date | None = None,
    amount: Decimal | None = None,
    reason: str = "",
) -> Reply:
    """Carry out the proposal: the case work, then the reply is confirmed.

    Cases whose state no longer allows the action are left out; a refusal by
    the case service (a date in the past, an amount above the open one) undoes
    everything.
    """
    reply = Reply.objects.select_for_update().get(pk=reply_id)
    if not reply.is_open:
        raise ReplyError(f"Reply {reply.pk} is already {reply.get_status_display()}.")
    action = reply.proposed_action
    if not action:
        raise ReplyError(f"Reply {reply.pk} has no proposal yet.")
    cases = proposal_cases(reply)
    if action != Action.NONE and not cases:
        raise ReplyError("No case of this reply allows the action any more.")

    why = f"reply {reply.pk}: {reply.get_intent_display().lower()}"
    if action == Action.PAUSE:
        until = until or reply.pause_until
        for case in cases:
            dunning.case_pause(case_id=case.pk, until=until, actor=actor, reason=why)
        outcome = f"paused case(s) {_ids(cases)} until {until}"
    elif action == Action.DISPUTE:
        reason = (reason or "").strip() or why
        for case in cases:
            dunning.case_dispute(case_id=case.pk, reason=reason, actor=actor)
        outcome = f"marked case(s) {_ids(cases)} disputed"
    elif action == Action.PROMISE:
        promised_on = promised_on or reply.promised_on
        amount = amount if amount is not None else reply.promised_amount
        if promised_on is None or amount is None:
            raise ReplyError("A promise to pay needs a date and an amount.")
        (case,) = cases
        dunning.case_promise(
            case_id=case.pk, promised_on=promised_on, amount=amount, actor=actor
        )
        shown = case.invoice.display(amount)
        outcome = f"promise to pay {shown} by {promised_on} on case {case.pk}"
    else:
        outcome = "handled by a clerk"

    _decide(reply, Status.CONFIRMED, actor, outcome)
    logger.info("reply %s confirmed: %s", reply.pk, outcome)
    return reply


@transaction.atomic
def reply_dismiss(*, reply_id: int, actor, note: str = "") -> Reply:
    """Close a reply without acting on its cases."""
    reply = Reply.objects.select_for_update().get(pk=reply_id)
    if not reply.is_open:
        raise ReplyError(f"Reply {reply.pk} is already {reply.get_status_display()}.")
    _decide(reply, Status.DISMISSED, actor, (note or "").strip() or "dismissed")
    logger.info("reply %s dismissed", reply.pk)
    return reply


def _decide(reply: Reply, status: str, actor, outcome: str) -> None:
    reply.status = status
    reply.decided_by = None if isinstance(actor, str) else actor
    reply.decided_at = timezone.now()
    reply.outcome = f"{outcome} ({dunning.actor_label(actor)})"[:500]
    reply.save(update_fields=["status", "decided_by", "decided_at", "outcome"])


def _ids(cases: list[Case]) -> str:
    return ", ".join(str(case.pk) for case in cases)
