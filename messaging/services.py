"""Sending planned messages: claim, re-check, render with current amounts, send.

A message is claimed with a conditional update from `planned` to `sending`; only
the worker whose update changed the row sends it, so two workers (or a job that
runs twice) never send the same message twice. A worker that dies after the
claim leaves the message in `sending`: it is not retried automatically, because
the debtor may already have it.

A transient failure (provider 5xx or 429, timeout, connection error, SMTP 4xx)
puts the message back to `planned` with `next_attempt_at` after an exponential
backoff; the normal dispatch picks it up when that time has come, with the
claims checked again. A permanent failure (the provider refuses the number, no
address) or the last allowed attempt fails it. Once the provider has accepted a
message it is `sent`, whatever fails after that. A hand-over that went out but
got no answer (a read timeout, a connection dropped after the request) is
neither: the provider may have the message, so it fails as interrupted, with
the reason, and is never tried again by itself.

A batch reads its messages with creditor and decision once and looks each
template up once; each message then asks a fixed number of queries (its claim,
its claims and customer as of now, link, rendering, the record of sending):
tests/messaging/test_dispatch_queries.py holds the count.
"""

import logging
import smtplib
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from contact.links import list_unsubscribe_headers
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
    from messaging.backends.sms import SMSError, to_e164
    from messaging.rendering import postal_address

    customer = message.customer
    if message.channel == "email":
        # The main address and a business's extra recipients (To and Cc).
        return str(customer.email_recipients())[:300]
    if message.channel in ("sms", "whatsapp"):
        try:
            return to_e164(customer.phone, customer.country)
        except SMSError as exc:
            raise NotSendable(str(exc)) from None
    lines = postal_address(customer, language="en", sender_country="")
    return "\n".join(lines)[:300]


class Outbox:
    """The channel connections of one dispatch batch, opened when first needed,
    and the wordings its messages use, looked up once per batch."""

    def __init__(self):
        self._email = None
        self._short_message = {}
        self._wordings = {}
        self._sealed_tokens = None

    def sealed_token(self):
        """A letter's link token with its short code (`portal.access.SealedTokens`:
        the next one is sealed while this letter is rendered)."""
        from portal.access import SealedTokens

        if self._sealed_tokens is None:
            self._sealed_tokens = SealedTokens()
        return self._sealed_tokens.take()

    def wording(self, message, context: dict):
        from messaging.rendering import wording_for

        # What rendering.template_for chooses by: messages of one step, tone,
        # language and variant share a template.
        key = (
            context["action"],
            context.get("_step_id"),
            message.channel,
            context["tone"],
            context["language"],
            message.decision.variant,
        )
        if key not in self._wordings:
            self._wordings[key] = wording_for(message, context)
        return self._wordings[key]

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
        try:
            self.reset("email")
        finally:
            if self._sealed_tokens is not None:
                self._sealed_tokens.close()


def deliver(
    message, *, outbox: Outbox, recipient: str, rendered, context: dict | None = None
) -> dict:
    """Hand a rendered message to its channel; return the fields to store.

    `context` (from `build_context`) lets an e-mail carry the PDFs its steps
    ask for (`messaging.attachments`); without it an e-mail has none.
    """
    from messaging.attachments import email_attachments
    from messaging.backends.mail import send_email
    from messaging.letters import html_to_pdf, letter_write

    subject, text, html = rendered
    if message.channel == "email":
        recipients = message.customer.email_recipients()
        attachments = email_attachments(message, context)
        provider_id = send_email(
            connection=outbox.email_connection(),
            to=recipients.to,
            cc=recipients.cc,
            subject=subject,
            text=text,
            html=html,
            creditor=message.creditor,
            attachments=attachments.files,
            headers=list_unsubscribe_headers(message.customer),
        )
        return {"provider_id": provider_id, "file_path": "", "note": attachments.note}
    if message.channel in ("sms", "whatsapp"):
        backend = outbox.short_message_backend(message.channel)
        return {"provider_id": backend.send(recipient, text), "file_path": ""}
    if message.channel == "letter":
        path = letter_write(message, html_to_pdf(html))
        return {"provider_id": path.name, "file_path": str(path)}
    raise NotSendable(f"unknown channel {message.channel}")


def _revoke(link) -> None:
    if link is not None:
        # A link in a message that never went out must not open the page.
        PortalLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())


def _fail(message_id: int, link, reason: str) -> str:
    _revoke(link)
    Message.objects.filter(pk=message_id, status=Status.SENDING).update(
        status=Status.FAILED,
        status_reason=reason[:300],
        last_error=reason[:300],
        next_attempt_at=None,
    )
    return Status.FAILED


RETRIED = "retried"


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: base, base × factor, …"""
    seconds = settings.DISPATCH_RETRY_BASE_SECONDS * (
        settings.DISPATCH_RETRY_FACTOR ** max(attempts - 1, 0)
    )
    return timedelta(seconds=seconds)


def is_transient(exc: Exception) -> bool:
    """Whether a later attempt may succeed where this one failed."""
    from messaging.backends.sms import SMSError

    if isinstance(exc, SMSError):
        return exc.transient
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        # Every recipient refused; 4xx means "not now" (greylisting, full box).
        codes = [code for code, _text in exc.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    # Lost or refused connections and timeouts, SMTP's among them.
    return isinstance(exc, (smtplib.SMTPServerDisconnected, OSError))


def _retry(message_id: int, link, reason: str, *, attempts: int, now) -> str:
    """Put a message that failed transiently back to `planned` for later."""
    _revoke(link)
    next_attempt_at = now + retry_delay(attempts)
    Message.objects.filter(pk=message_id, status=Status.SENDING).update(
        status=Status.PLANNED, next_attempt_at=next_attempt_at, last_error=reason[:300]
    )
    logger.info(
        "message %s: attempt %d failed, next at %s",
        message_id,
        attempts,
        next_attempt_at.isoformat(),
    )
    return RETRIED


def _claim(message) -> bool:
    """Claim a planned message for this worker: a conditional update that only
    one worker's call can win; the attempt counts from here, so a worker that
    dies while sending still used it up."""
    claimed = Message.objects.filter(
        # The attempts as loaded: a message another worker tried in between
        # waits for the next run instead of being counted wrong.
        pk=message.pk,
        status=Status.PLANNED,
        attempts=message.attempts,
    ).update(
        status=Status.SENDING,
        attempts=F("attempts") + 1,
        sending_since=timezone.now(),
    )
    if claimed:
        message.status = Status.SENDING
        message.attempts += 1
    return bool(claimed)


def _items_now(message) -> list[MessageItem]:
    """The message's claims with their invoices, cases and the customer as
    they are right now: one query, after the claim and before sending."""
    items = list(
        MessageItem.objects.filter(message_id=message.pk)
        .select_related(
            "invoice", "case_step__case", "case_step__step", "message__customer"
        )
        .order_by("invoice__due_on", "id")
    )
    if items:
        # Consent and addresses as of now, not as of the batch's start.
        message.customer = items[0].message.customer
    return items


INTERRUPTED_AT_PROVIDER = (
    "interrupted while sending ({error}): the provider may have it, so it is "
    "not sent again by itself: check the provider, then plan it again"
)


def _interrupted(message_id: int, error: str) -> str:
    """Fail a message whose hand-over ended without an answer.

    Like a message its worker left `sending` (interrupted_sends_fail): a retry
    could reach the debtor twice. Its link stays valid, since the debtor may
    have the message.
    """
    Message.objects.filter(pk=message_id, status=Status.SENDING).update(
        status=Status.FAILED,
        status_reason=INTERRUPTED_AT_PROVIDER.format(error=error)[:300],
        last_error=f"interrupted: {error}"[:300],
        next_attempt_at=None,
    )
    return Status.FAILED


def _send_claimed(message, *, now, outbox: Outbox, actor: str) -> str:
    """Send a message this worker has claimed; return its final status."""
    from messaging.backends.mail import MailInterrupted
    from messaging.backends.sms import SMSInterrupted
    from messaging.rendering import build_context, render
    from portal.access import short_code_context
    from portal.services import link_create, link_url

    message_id = message.pk
    items = _items_now(message)

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
        # A letter cannot be clicked: it prints a short address, code and
        # passcode (only the PDF has them; the stored text does not).
        sealed = outbox.sealed_token() if message.channel == "letter" else None
        link, token = link_create(customer=customer, message=message, sealed=sealed)
        context = build_context(message, link_url(token), items=sendable, now=now)
        if sealed:
            context.update(short_code_context(sealed.short))
        rendered = render(message, context, wording=outbox.wording(message, context))
        # The amounts the message shows, kept on its items (the print
        # manifest adds them up); rows come in the order of the items.
        for item, row in zip(sendable, context["items"], strict=True):
            item.sent_amount = row["amounts"]["open"]
        result = deliver(
            message,
            outbox=outbox,
            recipient=recipient,
            rendered=rendered,
            context=context,
        )
    except NotSendable as exc:
        logger.warning("message %s not sendable: %s", message_id, exc)
        return _fail(message_id, link, str(exc))
    except (SMSInterrupted, MailInterrupted) as exc:
        outbox.reset(message.channel)
        logger.warning(
            "message %s: %s gave no answer, not retried: %s",
            message_id,
            message.channel,
            exc,
        )
        return _interrupted(message_id, str(exc))
    except Exception as exc:
        outbox.reset(message.channel)
        reason = f"{type(exc).__name__}: {exc}"
        if is_transient(exc):
            if message.attempts < settings.DISPATCH_MAX_ATTEMPTS:
                logger.warning(
                    "message %s: attempt %d by %s failed: %s",
                    message_id,
                    message.attempts,
                    message.channel,
                    type(exc).__name__,
                )
                return _retry(
                    message_id, link, reason, attempts=message.attempts, now=now
                )
            plural = "s" if message.attempts != 1 else ""
            reason = f"{reason} (after {message.attempts} attempt{plural})"
        logger.exception(
            "message %s: sending by %s failed", message_id, message.channel
        )
        return _fail(message_id, link, reason)

    sent_at = timezone.now()
    provider_id = str(result["provider_id"] or "")
    sent = {
        "status": Status.SENT,
        "sent_at": sent_at,
        "provider_id": provider_id[:200],
        "next_attempt_at": None,
    }
    try:
        subject, text, _html = rendered
        status_reason = ""
        if dropped:
            status_reason = "not listed: " + "; ".join(
                f"{item.invoice.number} ({reason})" for item, reason in dropped
            )
        if result.get("note"):
            status_reason = "; ".join(filter(None, [status_reason, result["note"]]))
        # One transaction for the record of the sending (a savepoint inside a
        # caller's transaction, so a failure here leaves the fallback below a
        # usable connection).
        with transaction.atomic():
            Message.objects.filter(pk=message_id, status=Status.SENDING).update(
                **sent,
                recipient=recipient,
                subject=subject[:300],
                body=text,
                file_path=result["file_path"],
                status_reason=status_reason[:300],
            )
            MessageItem.objects.bulk_update(sendable, ["sent_amount"])
            # Delivery tracking: the provider's id lets its status webhooks
            # find the message (docs/DELIVERY.md); in its own savepoint, as a
            # tracking failure never unsends it.
            from delivery.services import delivery_sent

            delivery_sent(
                message_id=message_id,
                creditor_id=message.creditor_id,
                channel=message.channel,
                provider_message_id=provider_id,
                sent_at=sent_at,
            )
    except Exception:
        # The provider has it: the message is sent even if its record is not
        # complete, or a retry would reach the debtor twice.
        logger.exception("message %s: sent, but storing it failed", message_id)
        Message.objects.filter(pk=message_id, status=Status.SENDING).update(**sent)
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


def _due(*, now, message_ids=None):
    """The planned messages due at `now`, oldest first."""
    due = Message.objects.filter(status=Status.PLANNED)
    if message_ids is not None:
        # Retries wait for their time even when named.
        due = due.filter(pk__in=list(message_ids)).filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
        )
    else:
        due = due.filter(
            Q(next_attempt_at__isnull=True, scheduled_at__lte=now)
            | Q(next_attempt_at__lte=now)
        )
    return due.order_by(Coalesce("next_attempt_at", "scheduled_at"), "id")


def dispatch_helpers_queue(*, now) -> int:
    """Queue `DISPATCH_WORKERS` - 1 more dispatch tasks when more than a batch
    is due at `now`; return how many.

    They send the same backlog beside the scheduled task, each on a
    django-q2 worker of its own: `_claim` gives every message to exactly one
    of them. A letter costs tens of milliseconds of CPU in WeasyPrint, so one
    process renders about 17 a second and two on two cores about 27
    (docs/BENCHMARKS.md, "Letters"). A backlog of one batch or less is left
    to the scheduled task alone.
    """
    from django_q.tasks import async_task

    helpers = settings.DISPATCH_WORKERS - 1
    size = settings.DISPATCH_BATCH_SIZE
    if helpers < 1 or _due(now=now)[: size + 1].count() <= size:
        return 0
    for _ in range(helpers):
        async_task(
            "messaging.tasks.dispatch_help",
            now.isoformat(),
            group="messages-dispatch",
        )
    return helpers


def dispatch_due(
    *, now=None, message_ids=None, limit=None, actor: str = "system:dispatch"
) -> dict:
    """Send the planned messages that are due (or exactly `message_ids`).

    Due are planned messages whose time has come, retries by `next_attempt_at`,
    the others by `scheduled_at`; the oldest go first, in batches of
    `settings.DISPATCH_BATCH_SIZE`, at most `limit` in all. Returns counts per
    channel and outcome, plus a "total", e.g. {"email": {"sent": 2,
    "retried": 1}, "total": {"sent": 2, "retried": 1}}; "retried" messages are
    planned again for a later attempt. Messages another worker claimed first
    are not counted.
    """
    now = now or timezone.now()
    due = _due(now=now, message_ids=message_ids)
    interrupted = 0 if message_ids is not None else interrupted_sends_fail(now=now)

    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seen: set[int] = set()
    while limit is None or len(seen) < limit:
        size = settings.DISPATCH_BATCH_SIZE
        if limit is not None:
            size = min(size, limit - len(seen))
        candidates = list(due.values_list("pk", "channel")[:size])
        # A retry is due no earlier than `now` plus its backoff, so a message
        # comes back only if a clock or setting is off: stop rather than loop.
        fresh = [row for row in candidates if row[0] not in seen]
        if not fresh:
            break
        _dispatch_batch(fresh, now=now, actor=actor, counts=counts)
        seen.update(message_id for message_id, _channel in fresh)
        if len(candidates) < size:
            break

    summary = {channel: dict(by_status) for channel, by_status in counts.items()}
    summary.setdefault("total", {})
    if interrupted:
        summary["interrupted"] = interrupted
    logger.info("dispatch by %s: %s", actor, summary["total"])
    return summary


INTERRUPTED_REASON = (
    "interrupted while sending (its worker stopped); it may have gone out, so it "
    "is not sent again by itself: check the provider, then plan it again"
)


def interrupted_sends_fail(*, now) -> int:
    """Fail the messages a dead worker left `sending`; return how many.

    Whether the provider took such a message is unknown: sending it again could
    reach the debtor twice, leaving it `sending` would hide it for good. It is
    marked failed with the reason, where the message list and the channel alert
    show it to a clerk.
    """
    cutoff = now - timedelta(seconds=settings.DISPATCH_STUCK_SECONDS)
    stuck = Message.objects.filter(status=Status.SENDING).filter(
        Q(sending_since__lt=cutoff)
        # Claimed before the claim kept its time.
        | Q(sending_since__isnull=True, scheduled_at__lt=cutoff)
    )
    failed = stuck.update(
        status=Status.FAILED,
        status_reason=INTERRUPTED_REASON[:300],
        last_error="interrupted",
    )
    if failed:
        logger.warning("dispatch: %d message(s) interrupted while sending", failed)
    return failed


def _dispatch_batch(candidates, *, now, actor: str, counts) -> None:
    # What a planned message does not change (creditor, decision) is read once
    # for the batch; its claims and customer are read again after its claim.
    messages = Message.objects.select_related("creditor", "decision").in_bulk(
        [message_id for message_id, _channel in candidates]
    )
    outbox = Outbox()
    try:
        for message_id, channel in candidates:
            message = messages.get(message_id)
            if message is None or not _claim(message):
                continue
            status = str(_send_claimed(message, now=now, outbox=outbox, actor=actor))
            counts[channel][status] += 1
            counts["total"][status] += 1
    finally:
        outbox.close()
