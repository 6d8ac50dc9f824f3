"""Sending planned messages: claim, re-check, render with current amounts, send.

A message is claimed with a conditional update from `planned` to `sending`; only
the worker whose update changed the row sends it, so two workers (or a job that
runs twice) never send the same message twice. A worker that dies after the
claim leaves the message in `sending`: it is not retried automatically, because
the debtor may already have it.
"""

import logging
from collections import defaultdict

from django.core.mail import get_connection
from django.utils import timezone

from dunning.models import Case
from messaging.models import Message, MessageItem
from payments.models import Invoice
from portal.models import PortalLink

logger = logging.getLogger(__name__)

Status = Message.Status

# Why an item is no longer sent, by the case state that stops it.
CASE_STATE_REASONS = {
    Case.State.OPEN: "not in dunning",
    Case.State.PAUSED: "paused",
    Case.State.DISPUTED: "disputed",
    Case.State.INSTALMENTS: "instalment plan",
    Case.State.HANDED_OVER: "handed over",
    Case.State.CLOSED_PAID: "paid",
    Case.State.CLOSED_WRITTEN_OFF: "written off",
    Case.State.CLOSED_CANCELLED: "case cancelled",
}
INVOICE_STATUS_REASONS = {
    Invoice.Status.PAID: "paid",
    Invoice.Status.CREDITED: "credited",
    Invoice.Status.WRITTEN_OFF: "written off",
    Invoice.Status.CANCELLED: "invoice cancelled",
}


class NotSendable(Exception):
    """The message cannot go out as planned; the reason becomes its status_reason."""


def item_stop_reason(item: MessageItem, *, creditor) -> str:
    """Why a claim must not be sent now, or an empty string if it may."""
    invoice = item.invoice
    if invoice.status != Invoice.Status.OPEN or invoice.open_amount <= 0:
        return INVOICE_STATUS_REASONS.get(invoice.status, "paid")
    case = item.case_step.case
    if case.state != Case.State.IN_DUNNING:
        return CASE_STATE_REASONS.get(case.state, case.state)
    minimum = max(creditor.minimum_amount, item.case_step.step.minimum_amount)
    if invoice.open_amount < minimum:
        return "below minimum"
    return ""


def _recipient(message) -> str:
    from messaging.rendering import postal_address

    customer = message.customer
    if message.channel == "email":
        return customer.email
    if message.channel in ("sms", "whatsapp"):
        return customer.phone
    lines = postal_address(customer, language="en", sender_country="")
    return "\n".join(lines)[:300]


class Outbox:
    """The channel connections of one dispatch batch, opened when first needed."""

    def __init__(self):
        self._email = None
        self._short_message = {}

    def email_connection(self):
        if self._email is None:
            # One connection per batch: one SMTP session, or one file for the
            # file-based backend.
            self._email = get_connection()
            self._email.open()
        return self._email

    def short_message_backend(self, channel: str):
        from messaging.backends.sms import get_sms_backend, get_whatsapp_backend

        if channel not in self._short_message:
            loader = get_whatsapp_backend if channel == "whatsapp" else get_sms_backend
            self._short_message[channel] = loader()
        return self._short_message[channel]

    def reset(self, channel: str) -> None:
        """Drop a channel's connection after a failure; the next message opens
        a fresh one instead of failing on a broken session."""
        if channel == "email" and self._email is not None:
            try:
                self._email.close()
            finally:
                self._email = None
        self._short_message.pop(channel, None)

    def close(self) -> None:
        self.reset("email")


def deliver(message, *, outbox: Outbox, recipient: str, rendered) -> dict:
    """Hand a rendered message to its channel; return the fields to store."""
    from messaging.backends.mail import send_email
    from messaging.letters import html_to_pdf, letter_write

    subject, text, html = rendered
    if message.channel == "email":
        provider_id = send_email(
            connection=outbox.email_connection(),
            to=recipient,
            subject=subject,
            text=text,
            html=html,
            creditor=message.creditor,
        )
        return {"provider_id": provider_id, "file_path": ""}
    if message.channel in ("sms", "whatsapp"):
        backend = outbox.short_message_backend(message.channel)
        return {"provider_id": backend.send(recipient, text), "file_path": ""}
    if message.channel == "letter":
        path = letter_write(message, html_to_pdf(html))
        return {"provider_id": path.name, "file_path": str(path)}
    raise NotSendable(f"unknown channel {message.channel}")


def _fail(message_id: int, link, reason: str) -> str:
    if link is not None:
        # A link in a message that never went out must not open the page.
        PortalLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
    Message.objects.filter(pk=message_id, status=Status.SENDING).update(
        status=Status.FAILED, status_reason=reason[:300]
    )
    return Status.FAILED


def _send_claimed(message_id: int, *, now, outbox: Outbox, actor: str) -> str:
    """Send a message this worker has claimed; return its final status."""
    from messaging.rendering import build_context, render
    from portal.services import link_create, link_url

    message = Message.objects.select_related("creditor", "customer", "decision").get(
        pk=message_id
    )
    items = list(
        message.items.select_related(
            "invoice", "case_step__case", "case_step__step"
        ).order_by("invoice__due_on", "id")
    )

    # Planning was hours ago: payments, disputes and pauses since then count.
    sendable, dropped = [], []
    for item in items:
        reason = item_stop_reason(item, creditor=message.creditor)
        if reason:
            dropped.append((item, reason))
        else:
            sendable.append(item)
    if not sendable:
        reasons = sorted({reason for _item, reason in dropped}) or ["no claims"]
        Message.objects.filter(pk=message_id, status=Status.SENDING).update(
            status=Status.CANCELLED, status_reason=", ".join(reasons)[:300]
        )
        logger.info("message %s cancelled: %s", message_id, ", ".join(reasons))
        return Status.CANCELLED

    customer = message.customer
    if not customer.has_consent(message.channel):
        Message.objects.filter(pk=message_id, status=Status.SENDING).update(
            status=Status.CANCELLED, status_reason="no consent for the channel"
        )
        logger.info("message %s cancelled: no consent", message_id)
        return Status.CANCELLED

    link = None
    try:
        if not customer.has_address_for(message.channel):
            raise NotSendable(f"no {message.channel} address")
        recipient = _recipient(message)
        link, token = link_create(customer=customer, message=message)
        context = build_context(message, link_url(token), items=sendable, now=now)
        rendered = render(message, context)
        result = deliver(
            message,
            outbox=outbox,
            recipient=recipient,
            rendered=rendered,
        )
    except NotSendable as exc:
        logger.warning("message %s not sendable: %s", message_id, exc)
        return _fail(message_id, link, str(exc))
    except Exception as exc:
        logger.exception(
            "message %s: sending by %s failed", message_id, message.channel
        )
        outbox.reset(message.channel)
        return _fail(message_id, link, f"{type(exc).__name__}: {exc}")

    subject, text, _html = rendered
    status_reason = ""
    if dropped:
        status_reason = "not listed: " + "; ".join(
            f"{item.invoice.number} ({reason})" for item, reason in dropped
        )
    Message.objects.filter(pk=message_id, status=Status.SENDING).update(
        status=Status.SENT,
        sent_at=timezone.now(),
        recipient=recipient,
        subject=subject[:300],
        body=text,
        file_path=result["file_path"],
        status_reason=status_reason[:300],
    )
    logger.info(
        "message %s sent by %s (%s) with %d of %d claims, actor %s",
        message_id,
        message.channel,
        result["provider_id"],
        len(sendable),
        len(items),
        actor,
    )
    return Status.SENT


def dispatch_due(
    *, now=None, message_ids=None, limit=None, actor: str = "system:dispatch"
) -> dict:
    """Send the planned messages that are due (or exactly `message_ids`).

    Returns counts per channel and final status, plus a "total" per status, e.g.
    {"email": {"sent": 2, "cancelled": 1}, "total": {"sent": 2, "cancelled": 1}}.
    Messages another worker claimed first are not counted.
    """
    now = now or timezone.now()
    due = Message.objects.filter(status=Status.PLANNED)
    if message_ids is not None:
        due = due.filter(pk__in=list(message_ids))
    else:
        due = due.filter(scheduled_at__lte=now)
    candidates = list(
        due.order_by("scheduled_at", "id").values_list("pk", "channel")[:limit]
    )

    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    outbox = Outbox()
    try:
        for message_id, channel in candidates:
            claimed = Message.objects.filter(
                pk=message_id, status=Status.PLANNED
            ).update(status=Status.SENDING)
            if not claimed:
                continue
            status = str(_send_claimed(message_id, now=now, outbox=outbox, actor=actor))
            counts[channel][status] += 1
            counts["total"][status] += 1
    finally:
        outbox.close()

    summary = {channel: dict(by_status) for channel, by_status in counts.items()}
    summary.setdefault("total", {})
    logger.info("dispatch by %s: %s", actor, summary["total"])
    return summary
