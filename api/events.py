"""Events for outbound webhooks: `emit` where something happens.

An event becomes one `Delivery` row per subscription that wants it, written in
the transaction of the change itself: a change that rolls back sends nothing,
and a committed one is never lost (the first attempt is queued on commit;
`api.webhooks` retries). Without a subscriber an event costs one query.
"""

import json
import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from api.models import Delivery, EventType, Subscription
from core.money import round_money

__all__ = ["EventType", "emit", "emit_many", "emit_cases"]


def emit(event_type: str, creditor, payload: dict) -> int:
    """Record an event of one creditor; returns the number of deliveries."""
    return emit_many(event_type, [(getattr(creditor, "pk", creditor), payload)])


def emit_many(event_type: str, events) -> int:
    """Record several events of one type, as (creditor id, payload) pairs."""
    events = list(events)
    if not events:
        return 0
    subscribers = _subscribers(event_type, {creditor_id for creditor_id, _ in events})
    if not subscribers:
        return 0

    now = timezone.now().isoformat()
    deliveries = []
    for creditor_id, payload in events:
        envelope = {
            "id": str(uuid.uuid4()),
            "type": event_type,
            "created_at": now,
            "creditor": creditor_id,
            "data": _plain(payload),
        }
        deliveries += [
            Delivery(
                subscription_id=subscription_id,
                event_id=envelope["id"],
                event_type=event_type,
                creditor_id=creditor_id,
                payload=envelope,
            )
            for subscription_id in subscribers.get(creditor_id, [])
        ]
    Delivery.objects.bulk_create(deliveries)
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: _queue(ids))
    return len(deliveries)


def emit_cases(event_type: str, case_ids, **extra) -> int:
    """An event per case, with the case's and its claim's ids as payload."""
    from dunning.models import Case

    case_ids = list(case_ids)
    if not case_ids or not _anyone_listens():
        return 0
    rows = Case.objects.filter(pk__in=case_ids).values(
        "id",
        "creditor_id",
        "state",
        "invoice_id",
        "invoice__external_id",
        "invoice__open_amount",
        "invoice__currency",
        "customer__external_id",
    )
    return emit_many(
        event_type,
        (
            (
                row["creditor_id"],
                {
                    "case": row["id"],
                    "state": row["state"],
                    "invoice": row["invoice_id"],
                    "invoice_external_id": row["invoice__external_id"],
                    "customer_external_id": row["customer__external_id"],
                    "open_amount": str(
                        round_money(
                            row["invoice__open_amount"], row["invoice__currency"]
                        )
                    ),
                    "currency": row["invoice__currency"],
                    **extra,
                },
            )
            for row in rows
        ),
    )


def _anyone_listens() -> bool:
    """Spares bulk callers (a run closing thousands of cases) the payloads."""
    return Subscription.objects.filter(
        active=True, client__revoked_at__isnull=True
    ).exists()


def _subscribers(event_type: str, creditor_ids) -> dict[int, list[int]]:
    """Subscription ids per creditor, of active subscriptions of live clients."""
    rows = Subscription.objects.filter(
        active=True,
        client__revoked_at__isnull=True,
        client__creditors__in=list(creditor_ids),
    ).values_list("id", "event_types", "client__creditors")
    found: dict[int, list[int]] = {}
    for subscription_id, event_types, creditor_id in rows:
        if event_type in (event_types or []):
            found.setdefault(creditor_id, []).append(subscription_id)
    return found


def _plain(payload: dict) -> dict:
    """Decimals and dates as the strings JSON carries them in."""
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def _queue(delivery_ids: list[int]) -> None:
    from django_q.tasks import async_task

    for delivery_id in delivery_ids:
        async_task("api.tasks.delivery_send", delivery_id)
