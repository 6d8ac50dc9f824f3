"""Delivery tracking: every status of a message goes through `event_record`.

Entry points: the dispatch (`delivery_sent` after a message went out), the
providers' status webhooks (views.py), the debtor opening the personal link
(`link_clicked`) and the failure-rate check (`alerts_check`, a django-q2
schedule). A hard bounce marks the address bad and plans the message's claims
again on the next channel personalisation finds (`bounce_fallback`).
"""

import hashlib
import logging
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from customers.models import Channel, Customer
from delivery.models import ChannelAlert, Delivery, DeliveryEvent
from messaging.models import Message, MessageItem

logger = logging.getLogger(__name__)

Kind = DeliveryEvent.Kind

# Which address a channel's hard bounce makes undeliverable.
UNDELIVERABLE_FIELD = {
    Channel.EMAIL: "email_undeliverable_since",
    Channel.SMS: "phone_undeliverable_since",
    Channel.WHATSAPP: "phone_undeliverable_since",
}


def provider_for(channel: str) -> str:
    """The provider whose webhooks report on a channel's messages."""
    if channel == Channel.EMAIL:
        return settings.DELIVERY_EMAIL_PROVIDER
    if channel in (Channel.SMS, Channel.WHATSAPP):
        return settings.DELIVERY_SMS_PROVIDER
    return "print"


def normalise_provider_id(value: str) -> str:
    """Message-IDs are stored without their angle brackets, as Mailgun reports
    them."""
    return (value or "").strip().strip("<>").strip()


def delivery_sent(
    *,
    message_id: int,
    creditor_id: int,
    channel: str,
    provider_message_id: str,
    sent_at,
) -> None:
    """Remember the provider's id of a sent message and record "sent".

    Called by the dispatch right after the message became `sent`: a failure
    here is logged and never turns a sent message into a failed one. Two
    inserts that skip rows already there (the same message recorded again
    keeps its first row), so a batch pays no lookups for them.
    """
    try:
        with transaction.atomic():
            Delivery.objects.bulk_create(
                [
                    Delivery(
                        message_id=message_id,
                        creditor_id=creditor_id,
                        channel=channel,
                        provider=provider_for(channel),
                        provider_message_id=normalise_provider_id(provider_message_id)
                        or f"message:{message_id}",
                        sent_at=sent_at,
                    )
                ],
                ignore_conflicts=True,
            )
            DeliveryEvent.objects.bulk_create(
                [
                    DeliveryEvent(
                        message_id=message_id,
                        kind=Kind.SENT,
                        provider="dispatch",
                        provider_event_id=f"sent:{message_id}",
                        occurred_at=sent_at,
                    )
                ],
                ignore_conflicts=True,
            )
    except DatabaseError:
        logger.exception("message %s: delivery tracking failed", message_id)


def delivery_find(*, provider: str, provider_message_id: str) -> Delivery | None:
    return (
        Delivery.objects.select_related("message")
        .filter(
            provider=provider,
            provider_message_id=normalise_provider_id(provider_message_id),
        )
        .first()
    )


def event_record(
    *,
    message_id: int,
    kind: str,
    provider: str,
    occurred_at,
    actor: str,
    provider_event_id: str = "",
    bounce: str = "",
    detail: dict | None = None,
) -> tuple[DeliveryEvent, bool]:
    """Store one status of a message; returns (event, created).

    An event the provider reported before (same provider and event id) is
    returned as it is and changes nothing. A new hard bounce or failure marks
    the delivery failed; a hard bounce also marks the address bad and plans the
    fallback message.
    """
    if kind not in Kind.values:
        raise ValueError(f"unknown delivery event {kind!r}")
    if bounce and kind != Kind.BOUNCED:
        raise ValueError("only a bounce is hard or soft")
    with transaction.atomic():
        if provider_event_id:
            known = DeliveryEvent.objects.filter(
                provider=provider, provider_event_id=provider_event_id
            ).first()
            if known is not None:
                return known, False
        try:
            # A savepoint: a concurrent delivery of the same webhook loses the
            # race on the unique constraint and returns the winner's row.
            with transaction.atomic():
                event = DeliveryEvent.objects.create(
                    message_id=message_id,
                    kind=kind,
                    bounce=bounce,
                    provider=provider,
                    provider_event_id=provider_event_id,
                    occurred_at=occurred_at,
                    detail=detail or {},
                )
        except IntegrityError:
            event = DeliveryEvent.objects.get(
                provider=provider, provider_event_id=provider_event_id
            )
            return event, False

        if event.is_final_failure:
            Delivery.objects.filter(
                message_id=message_id, failed_at__isnull=True
            ).update(failed_at=occurred_at)
        logger.info(
            "message %s: %s%s from %s (%s)",
            message_id,
            kind,
            f" ({bounce})" if bounce else "",
            provider,
            actor,
        )
        if kind == Kind.BOUNCED and bounce == DeliveryEvent.Bounce.HARD:
            reason = str((detail or {}).get("reason") or "hard bounce")
            bounce_fallback(message_id=message_id, reason=reason, actor=actor)
    return event, True


def link_clicked(*, link, actor: str = "debtor") -> DeliveryEvent | None:
    """The debtor opened the portal through a message's personal link.

    One "clicked" per link: reloading the page is not another click.
    """
    if link.message_id is None:
        return None
    event, _created = event_record(
        message_id=link.message_id,
        kind=Kind.CLICKED,
        provider="portal",
        provider_event_id=f"link:{link.pk}",
        occurred_at=timezone.now(),
        actor=actor,
    )
    return event


# --- Hard bounce → the next channel ---------------------------------------------


def _tried_channels(message: Message) -> set[str]:
    """The channels of this message and of the bounced ones it is a fallback of."""
    tried, current = {message.channel}, message
    for _depth in range(len(Channel.values)):
        earlier = (
            Delivery.objects.select_related("message")
            .filter(fallback_message=current)
            .first()
        )
        if earlier is None:
            break
        current = earlier.message
        tried.add(current.channel)
    return tried


def _governing_rule(message):
    """The rule that governed the bounced message, as its decision recorded it:
    the fallback keeps the channels, tone and options that rule allowed."""
    from rules.engine import RuleOutcome
    from rules.models import Rule

    recorded = (message.decision.scores or {}).get("rules") or {}
    rule_id = recorded.get("rule_id")
    rule = Rule.objects.select_related("rule_set").filter(pk=rule_id).first()
    if rule is None:
        return None
    return RuleOutcome(
        rule=rule,
        rule_set=rule.rule_set,
        why=f"as for message {message.pk}",
        checks=recorded.get("checks") or [],
        hold_spent=bool(recorded.get("hold_spent")),
    )


def _fallback_key(message_id: int, channel: str) -> str:
    # One fallback per bounced message and channel, however often the bounce
    # is reported.
    raw = f"fallback|{message_id}|{channel}"
    return hashlib.sha256(raw.encode()).hexdigest()[:64]


def bounce_fallback(
    *, message_id: int, reason: str, actor: str, now=None
) -> Message | None:
    """Mark the bounced address bad and plan the claims on the next channel.

    The new message goes through `personalisation.services.decide` like the
    run's messages, so consent, addresses, rules and the contact policy apply;
    its decision says it is a fallback. Nothing is planned on a channel this
    chain of messages already used, nor when no channel is left.
    """
    from core.calendar import effective_due_date
    from messaging.services import item_stop_reason
    from personalisation.services import DueItem, decide

    now = now or timezone.now()
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .select_related("creditor", "decision")
            .get(pk=message_id)
        )
        delivery = Delivery.objects.select_for_update().filter(message=message).first()
        if delivery is not None and (
            delivery.fallback_message_id or delivery.fallback_note
        ):
            return delivery.fallback_message
        field = UNDELIVERABLE_FIELD.get(message.channel)
        if field:
            Customer.objects.filter(
                pk=message.customer_id, **{f"{field}__isnull": True}
            ).update(**{field: now})
        customer = Customer.objects.select_related("creditor").get(
            pk=message.customer_id
        )
        bounced = f"bounced ({reason})"

        creditor = message.creditor
        items = list(
            message.items.select_related(
                "invoice", "case_step__case", "case_step__step"
            ).order_by("invoice__due_on", "id")
        )
        sendable = [i for i in items if not item_stop_reason(i, creditor=creditor)]
        new, note = None, ""
        if not sendable:
            note = "no fallback: no claim is still due"
        else:
            on = creditor.local_today()
            due_items = [
                DueItem(
                    invoice_id=item.invoice_id,
                    step=item.case_step.step,
                    open_amount=item.invoice.open_amount,
                    currency=item.invoice.currency,
                    days_overdue=(
                        on
                        - effective_due_date(
                            item.invoice.due_on, creditor.country, creditor.subdivision
                        )
                    ).days,
                )
                for item in sendable
            ]
            from personalisation.learned import learned_load

            learned = learned_load(
                creditor=creditor,
                customers=[customer],
                items={customer.pk: due_items},
                on=on,
            )
            decision = decide(
                customer,
                due_items,
                on,
                now,
                rule=_governing_rule(message),
                **learned.for_customer(customer.pk),
            )
            tried = _tried_channels(message)
            if decision.channel in tried:
                note = f"no fallback: {decision.channel} was tried already"
            elif not decision.channel:
                note = f"no fallback: {decision.reasons['channel']}"
            else:
                new = _plan_fallback(message, decision, sendable, bounced)
                note = f"claims moved to message {new.pk} by {new.channel}"

        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.FAILED, status_reason=f"{bounced}; {note}"[:300]
        )
        if delivery is not None:
            delivery.fallback_message = new
            delivery.fallback_note = note[:300]
            delivery.moved_items = [i.pk for i in sendable] if new else []
            delivery.save(
                update_fields=["fallback_message", "fallback_note", "moved_items"]
            )
    logger.info(
        "message %s bounced on %s: %s (%s)",
        message_id,
        message.channel,
        f"fallback message {new.pk} by {new.channel}" if new else note,
        actor,
    )
    return new


def _plan_fallback(message, decision, sendable, bounced: str) -> Message:
    decision.reasons["channel"] = (
        f"fallback after message {message.pk} by {message.channel} {bounced}: "
        f"{decision.reasons['channel']}"
    )
    decision.reasons["fallback"] = {
        "bounced_message": message.pk,
        "channel": message.channel,
    }
    decision.save()
    new = Message.objects.create(
        creditor=message.creditor,
        customer_id=message.customer_id,
        channel=decision.channel,
        idempotency_key=_fallback_key(message.pk, decision.channel),
        decision=decision,
        run=message.run,
        action_date=message.action_date,
        scheduled_at=decision.send_at,
        language=decision.language,
        tone=decision.tone,
    )
    # MessageItem.case_step is one-to-one: the claims move to the new message,
    # the bounced one keeps its rendered body and the moved ids on its Delivery.
    MessageItem.objects.filter(pk__in=[i.pk for i in sendable]).update(message=new)
    return new


# --- Failure-rate alert -----------------------------------------------------------


def _rate(failures: int, messages: int) -> Decimal:
    if not messages:
        return Decimal("0.0000")
    return (Decimal(failures) / Decimal(messages)).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_UP
    )


def alerts_check(*, now=None, actor: str = "system:schedule") -> list[ChannelAlert]:
    """Open an alert for each creditor and channel whose failure rate jumped.

    The window is the last DELIVERY_ALERT_WINDOW_HOURS, the baseline the
    DELIVERY_ALERT_BASELINE_DAYS before it. A jump needs at least
    DELIVERY_ALERT_MIN_MESSAGES in the window, a rate above
    DELIVERY_ALERT_MIN_RATE and at least DELIVERY_ALERT_FACTOR times the
    baseline's. An open alert of the same creditor and channel is kept, not
    repeated.
    """
    now = now or timezone.now()
    window_start = now - timedelta(hours=settings.DELIVERY_ALERT_WINDOW_HOURS)
    baseline_start = window_start - timedelta(
        days=settings.DELIVERY_ALERT_BASELINE_DAYS
    )
    in_window = Q(sent_at__gte=window_start)
    in_baseline = Q(sent_at__lt=window_start)
    failed = Q(failed_at__isnull=False)
    rows = (
        Delivery.objects.filter(sent_at__gte=baseline_start, sent_at__lt=now)
        .values("creditor_id", "channel")
        .annotate(
            window_messages=Count("id", filter=in_window),
            window_failures=Count("id", filter=in_window & failed),
            baseline_messages=Count("id", filter=in_baseline),
            baseline_failures=Count("id", filter=in_baseline & failed),
        )
        .order_by("creditor_id", "channel")
    )
    open_pairs = set(
        ChannelAlert.objects.filter(acknowledged_at__isnull=True).values_list(
            "creditor_id", "channel"
        )
    )
    min_rate = Decimal(str(settings.DELIVERY_ALERT_MIN_RATE))
    opened = []
    for row in rows:
        pair = (row["creditor_id"], row["channel"])
        if row["window_messages"] < settings.DELIVERY_ALERT_MIN_MESSAGES:
            continue
        rate = _rate(row["window_failures"], row["window_messages"])
        baseline = _rate(row["baseline_failures"], row["baseline_messages"])
        if rate <= min_rate or rate < settings.DELIVERY_ALERT_FACTOR * baseline:
            continue
        if pair in open_pairs:
            continue
        try:
            with transaction.atomic():
                alert = ChannelAlert.objects.create(
                    creditor_id=row["creditor_id"],
                    channel=row["channel"],
                    opened_at=now,
                    window_start=window_start,
                    window_messages=row["window_messages"],
                    window_failures=row["window_failures"],
                    window_rate=rate,
                    baseline_messages=row["baseline_messages"],
                    baseline_failures=row["baseline_failures"],
                    baseline_rate=baseline,
                )
        except IntegrityError:
            # Another check opened it a moment ago: one open alert is enough.
            continue
        logger.warning(
            "channel alert %s: creditor %s %s failure rate %s of %d messages "
            "against a baseline of %s (%s)",
            alert.pk,
            alert.creditor_id,
            alert.channel,
            f"{rate:.2%}",
            row["window_messages"],
            f"{baseline:.2%}",
            actor,
        )
        opened.append(alert)
    return opened


def alert_acknowledge(*, alert_ids, user) -> int:
    """A manager has seen the alerts; a later jump may open a new one."""
    count = ChannelAlert.objects.filter(
        pk__in=list(alert_ids), acknowledged_at__isnull=True
    ).update(acknowledged_at=timezone.now(), acknowledged_by=user)
    logger.info("%d channel alerts acknowledged by user %s", count, user.pk)
    return count
