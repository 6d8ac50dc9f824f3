"""Erasure of a debtor's personal data (GDPR art. 17) that keeps the books.

The claims, payments, credit notes, ledger rows, cases and steps stay with
their amounts and dates: commercial and tax law require the books for years
(HGB §257, AO §147), which art. 17(3)(b) puts before erasure. What identifies
or describes the person goes: name, addresses, e-mail, phone, birth year and
date, bank details, the texts sent to them and received from them, delivery
details, webhook copies and their letters on disk.
"""

import csv
import io
import logging
import re
from pathlib import Path

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Cast
from django.utils import timezone

from audit.roles import MANAGER
from customers.models import Customer
from privacy.access import access_record
from privacy.models import AccessLog, Erasure

logger = logging.getLogger(__name__)

SCRUBBED = "[erased]"
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)
# Structure, not content: codes and keys a term could only damage.
KEPT_FIELDS = {
    "status",
    "state",
    "source_state",
    "transition",
    "kind",
    "channel",
    "currency",
    "country",
    "language",
    "time_zone",
    "idempotency_key",
    "token_hash",
    "external_id",
    "number",
    "provider",
    "event_type",
}


class ErasureError(ValueError):
    """Refused erasure; nothing was changed."""


def erased_name(customer_id: int) -> str:
    return f"erased customer {customer_id}"


def actor_label(actor) -> str:
    if isinstance(actor, str):
        return actor
    return f"user:{actor.pk}"


def is_manager(actor) -> bool:
    if isinstance(actor, str) or not actor.is_active:
        return False
    return actor.is_superuser or actor.groups.filter(name=MANAGER).exists()


def open_claims(customer) -> list[str]:
    """Numbers of the debtor's claims still open or in dispute."""
    from dunning.models import Case
    from payments.models import Invoice

    live = Q(status=Invoice.Status.OPEN) | Q(case__state__in=Case.LIVE)
    rows = Invoice.objects.filter(live, customer=customer).values_list(
        "number", "case__state"
    )
    return [
        f"{number} (disputed)" if state == Case.State.DISPUTED else number
        for number, state in rows.order_by("due_on", "id")
    ]


def personal_terms(customer) -> list[str]:
    """Every string that identifies the debtor, longest first."""
    from portal.models import SepaMandate

    terms = [
        customer.name,
        customer.email,
        customer.phone,
        customer.street,
        customer.postcode,
        customer.city,
        str(customer.birth_year or ""),
        customer.birth_date.isoformat() if customer.birth_date else "",
    ]
    for email, name in customer.extra_recipients.values_list("email", "name"):
        terms += [email, name]
    for iban, holder in SepaMandate.objects.filter(customer=customer).values_list(
        "iban", "account_holder"
    ):
        terms += [iban, holder]
    found = {term.strip() for term in terms if term and len(term.strip()) >= 3}
    return sorted(found, key=len, reverse=True)


def terms_pattern(terms) -> re.Pattern:
    """Whole-word matches; a number also not inside an amount ("1937.00")."""

    def one(term: str) -> str:
        if term.isdigit():
            return rf"(?<![\w.,]){re.escape(term)}(?![\w]|[.,]\d)"
        return rf"(?<!\w){re.escape(term)}(?!\w)"

    return re.compile("|".join(one(term) for term in terms), re.IGNORECASE)


def scrub(value, pattern: re.Pattern, keep=frozenset()):
    """`value` with every personal term replaced; JSON is walked, keys kept."""
    if isinstance(value, str):
        return value if value in keep else pattern.sub(SCRUBBED, value)
    if isinstance(value, list):
        return [scrub(item, pattern, keep) for item in value]
    if isinstance(value, dict):
        return {key: scrub(item, pattern, keep) for key, item in value.items()}
    return value


def _text_fields(model) -> list[str]:
    return [
        field.attname
        for field in model._meta.concrete_fields
        if isinstance(field, TEXT_FIELDS)
        and not field.choices
        and field.name not in KEPT_FIELDS
    ]


def _scrub_rows(queryset, pattern, keep, *, overwrite=None) -> int:
    """Overwrite the given fields and scrub every other text of the rows."""
    overwrite = overwrite or {}
    fields = [name for name in _text_fields(queryset.model) if name not in overwrite]
    changed = []
    for row in queryset.only("pk", *fields, *overwrite):
        dirty = False
        for name, value in overwrite.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                dirty = True
        for name in fields:
            value = getattr(row, name)
            cleaned = scrub(value, pattern, keep)
            if cleaned != value:
                setattr(row, name, cleaned)
                dirty = True
        if dirty:
            changed.append(row)
    if changed:
        queryset.model.objects.bulk_update(
            changed, [*overwrite, *fields], batch_size=500
        )
    return len(changed)


def _mentioning(queryset, field: str, terms) -> models.QuerySet:
    """Rows whose JSON `field` holds one of the terms anywhere, as text."""
    query = Q()
    for term in terms:
        query |= Q(_as_text__icontains=term)
    return queryset.annotate(_as_text=Cast(field, models.TextField())).filter(query)


def _owned(customer) -> list[tuple[models.QuerySet, dict]]:
    """The debtor's rows in every app, with the fields erased outright."""
    from django.contrib.contenttypes.models import ContentType
    from django_fsm_log.models import StateLog

    from contact.models import OptOut
    from delivery.models import Delivery, DeliveryEvent
    from dunning.models import CallTask, Case, CaseStep, Promise
    from messaging.models import Message, MessageItem
    from payments.models import (
        CreditNote,
        InstalmentPlan,
        Invoice,
        LedgerEntry,
        Payment,
    )
    from personalisation.models import Decision
    from portal.models import Checkout, ClerkTask, EngagementEvent, SepaMandate
    from replies.models import Reply

    messages = Message.objects.filter(customer=customer)
    cases = Case.objects.filter(customer=customer)
    addresses = [a for a in (customer.email, customer.phone) if a]
    replies = Reply.objects.filter(
        Q(customer=customer)
        | Q(replied_to__customer=customer)
        | Q(sender__in=addresses, customer__isnull=True)
    )
    text_gone = {"subject": "", "text": "", "cleaned_text": "", "raw": ""}
    return [
        (Invoice.objects.filter(customer=customer), {}),
        (Payment.objects.filter(customer=customer), {}),
        (CreditNote.objects.filter(customer=customer), {}),
        (LedgerEntry.objects.filter(invoice__customer=customer), {}),
        (InstalmentPlan.objects.filter(invoice__customer=customer), {}),
        (cases, {}),
        (CaseStep.objects.filter(case__customer=customer), {}),
        (Promise.objects.filter(case__customer=customer), {}),
        (CallTask.objects.filter(case__customer=customer), {"note": ""}),
        (
            StateLog.objects.filter(
                content_type=ContentType.objects.get_for_model(Case),
                object_id__in=cases.values("pk"),
            ),
            {},
        ),
        (Decision.objects.filter(customer=customer), {}),
        (
            messages,
            {"recipient": "", "subject": "", "body": "", "file_path": ""},
        ),
        (MessageItem.objects.filter(message__customer=customer), {}),
        (Delivery.objects.filter(message__customer=customer), {}),
        (
            DeliveryEvent.objects.filter(message__customer=customer),
            {"detail": {}},
        ),
        (
            replies,
            {
                **text_gone,
                "sender": erased_name(customer.pk),
                "in_reply_to": "",
                "references": "",
            },
        ),
        (Checkout.objects.filter(customer=customer), {}),
        (EngagementEvent.objects.filter(customer=customer), {"details": {}}),
        (ClerkTask.objects.filter(customer=customer), {"reason": "", "details": {}}),
        (
            SepaMandate.objects.filter(customer=customer),
            {"iban": "", "account_holder": erased_name(customer.pk)},
        ),
        (OptOut.objects.filter(customer=customer), {}),
    ]


def _webhook_copies(customer, terms) -> list[tuple[models.QuerySet, dict]]:
    """Outbound webhook bodies and stored API answers that name the debtor.

    They hold ids by design; a payload that carries a name or address anyway
    is found by its text, within the debtor's creditor.
    """
    from api.models import Delivery as WebhookDelivery
    from api.models import IdempotencyKey

    distinctive = [t for t in terms if not t.isdigit() and len(t) >= 6]
    if not distinctive:
        return []
    webhooks = WebhookDelivery.objects.filter(creditor_id=customer.creditor_id)
    answers = IdempotencyKey.objects.filter(client__creditors=customer.creditor_id)
    return [
        (_mentioning(webhooks, "payload", distinctive), {}),
        (_mentioning(answers, "response", distinctive), {}),
    ]


def _letter_files(customer) -> list[Path]:
    from messaging.models import Message

    paths = Message.objects.filter(customer=customer).exclude(file_path="")
    return [Path(path) for path in paths.values_list("file_path", flat=True)]


def customer_erase(*, customer, actor, reason: str, force: bool = False) -> Erasure:
    """Anonymise the debtor in one transaction; their files go after commit.

    Refused while a claim is open or disputed, unless a dunning manager forces
    it. The erasure row and the access log say who, when and why.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ErasureError("Say why the debtor's data is erased.")
    if force and not is_manager(actor):
        raise ErasureError("Only a dunning manager may force an erasure.")

    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if Erasure.objects.filter(customer=customer).exists():
            raise ErasureError(f"Customer {customer.pk} is already erased.")
        still_open = open_claims(customer)
        if still_open and not force:
            raise ErasureError(
                f"Customer {customer.pk} has claims still open or disputed: "
                f"{', '.join(still_open)}. Settle them first, or a dunning "
                "manager forces the erasure."
            )

        terms = personal_terms(customer)
        pattern = terms_pattern(terms) if terms else re.compile(r"(?!x)x")
        # Zone names hold city names ("Europe/Berlin") and are no personal data.
        keep = frozenset({customer.time_zone})
        files = _letter_files(customer)
        counts: dict[str, int] = {}
        for queryset, overwrite in [
            *_owned(customer),
            *_webhook_copies(customer, terms),
        ]:
            changed = _scrub_rows(queryset, pattern, keep, overwrite=overwrite)
            if changed:
                label = queryset.model._meta.label_lower
                counts[label] = counts.get(label, 0) + changed
        counts["customers.extrarecipient"] = customer.extra_recipients.all().delete()[0]
        _anonymise(customer)
        counts["files"] = len(files)

        erasure = Erasure.objects.create(
            customer=customer,
            erased_at=timezone.now(),
            actor=actor_label(actor),
            reason=reason[:300],
            forced=bool(still_open),
            counts=counts,
        )
        if not isinstance(actor, str):
            access_record(
                customer, user=actor, action=AccessLog.Action.ERASE, page="erasure"
            )
        letter_ids = set(
            customer.messages.filter(channel="letter").values_list("pk", flat=True)
        )
        transaction.on_commit(
            lambda: files_remove(files, letter_ids, erased_name(customer.pk))
        )

    logger.info(
        "customer %s erased by %s (forced: %s, %s rows)",
        customer.pk,
        erasure.actor,
        erasure.forced,
        sum(counts.values()),
    )
    return erasure


def _anonymise(customer) -> None:
    """The person goes; kind, language, zone and country stay for the books
    and for the statistics that count debtors by them."""
    customer.name = erased_name(customer.pk)
    for field in (
        "email",
        "phone",
        "street",
        "postcode",
        "city",
        "subdivision",
        "segment",
    ):
        setattr(customer, field, "")
    for field in (
        "birth_year",
        "birth_date",
        "contact_from",
        "contact_until",
        "email_undeliverable_since",
        "phone_undeliverable_since",
    ):
        setattr(customer, field, None)
    # Nobody may be contacted who can no longer be identified.
    for channel in ("email", "sms", "whatsapp", "letter"):
        setattr(customer, f"consent_{channel}", False)
    customer.preferred_channel = ""
    customer.objects_to_profiling = True
    customer.save()
    customer.portal_links.filter(revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def files_remove(files, letter_ids, neutral: str) -> None:
    """Delete the debtor's letters and redact the print batches holding them.

    A print batch is the day's hand-off to the print service: its PDF embeds
    the letter, so it goes; its manifest keeps the other debtors' rows and the
    debtor's row without name and address.
    """
    for path in files:
        path.unlink(missing_ok=True)
    if not letter_ids:
        return
    for manifest in Path(settings.OUTBOX_DIR).glob("print/*/manifest-*.csv"):
        rows = list(csv.DictReader(io.StringIO(manifest.read_text("utf-8"))))
        ours = [row for row in rows if int(row["message_id"]) in letter_ids]
        if not ours:
            continue
        for row in ours:
            row.update(recipient_name=neutral, postcode="", city="")
        out = io.StringIO()
        table = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        table.writeheader()
        table.writerows(rows)
        manifest.write_text(out.getvalue(), "utf-8")
        batch = manifest.with_name(manifest.name.replace("manifest-", "letters-"))
        batch.with_suffix(".pdf").unlink(missing_ok=True)
        logger.info("print batch %s: letter(s) removed", manifest.parent.name)
