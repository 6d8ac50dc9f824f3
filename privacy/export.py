"""Everything held on one debtor, for their right of access (GDPR art. 15).

Decisions come with their reasons and scores: art. 15(1)(h) asks for the
logic of automated decisions, and these are the product's profiling.
"""

import json
import zipfile
from io import BytesIO
from pathlib import Path

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from customers.models import Customer
from privacy.access import access_record
from privacy.models import AccessLog

# Secrets that let someone act as the debtor; their existence is exported,
# not their value.
SECRET_FIELDS = {"token_hash", "short_code_hash", "short_code_seal"}


def _rows(queryset) -> list[dict]:
    return [
        {key: value for key, value in row.items() if key not in SECRET_FIELDS}
        for row in queryset.values()
    ]


def customer_data(customer: Customer) -> dict:
    """One JSON-ready document with a section per kind of data."""
    from django.contrib.contenttypes.models import ContentType
    from django_fsm_log.models import StateLog

    from contact.models import OptOut
    from delivery.models import Delivery, DeliveryEvent
    from dunning.models import CallTask, Case, CaseStep, Promise
    from messaging.models import Message, MessageItem
    from payments.models import (
        CreditNote,
        Instalment,
        InstalmentPlan,
        Invoice,
        LedgerEntry,
        Payment,
    )
    from personalisation.models import Decision
    from portal.models import (
        Checkout,
        ClerkTask,
        EngagementEvent,
        PortalLink,
        SepaMandate,
    )
    from replies.models import Reply

    cases = Case.objects.filter(customer=customer)
    consents = ("email", "sms", "whatsapp", "letter")
    data = {
        "exported_at": timezone.now(),
        "profile": _rows(Customer.objects.filter(pk=customer.pk))[0],
        "consents": {
            **{channel: customer.has_consent(channel) for channel in consents},
            "objects_to_profiling": customer.objects_to_profiling,
        },
        "opt_outs": _rows(OptOut.objects.filter(customer=customer)),
        "extra_recipients": _rows(customer.extra_recipients.all()),
        "claims": _rows(Invoice.objects.filter(customer=customer)),
        "ledger": _rows(
            LedgerEntry.objects.filter(invoice__customer=customer).order_by("id")
        ),
        "payments": _rows(Payment.objects.filter(customer=customer)),
        "credit_notes": _rows(CreditNote.objects.filter(customer=customer)),
        "instalment_plans": _rows(
            InstalmentPlan.objects.filter(invoice__customer=customer)
        ),
        "instalments": _rows(
            Instalment.objects.filter(plan__invoice__customer=customer)
        ),
        "cases": _rows(cases),
        "case_steps": _rows(CaseStep.objects.filter(case__customer=customer)),
        "case_history": _rows(
            StateLog.objects.filter(
                content_type=ContentType.objects.get_for_model(Case),
                object_id__in=cases.values("pk"),
            ).order_by("timestamp", "id")
        ),
        "promises": _rows(Promise.objects.filter(case__customer=customer)),
        "call_tasks": _rows(CallTask.objects.filter(case__customer=customer)),
        "decisions": _rows(Decision.objects.filter(customer=customer)),
        "messages": _rows(Message.objects.filter(customer=customer)),
        "message_items": _rows(MessageItem.objects.filter(message__customer=customer)),
        "deliveries": _rows(Delivery.objects.filter(message__customer=customer)),
        "delivery_events": _rows(
            DeliveryEvent.objects.filter(message__customer=customer)
        ),
        "replies": _rows(Reply.objects.filter(customer=customer)),
        "portal_links": _rows(PortalLink.objects.filter(customer=customer)),
        "portal_events": _rows(EngagementEvent.objects.filter(customer=customer)),
        "clerk_tasks": _rows(ClerkTask.objects.filter(customer=customer)),
        "checkouts": _rows(Checkout.objects.filter(customer=customer)),
        "sepa_mandates": _rows(SepaMandate.objects.filter(customer=customer)),
    }
    if apps.is_installed("experiments"):
        from experiments.models import Assignment

        data["experiment_assignments"] = _rows(
            Assignment.objects.filter(customer=customer).values(
                "id",
                "experiment__name",
                "arm__label",
                "arm__value",
                "method",
                "decision_id",
            )
        )
    return data


def customer_json(customer: Customer) -> str:
    return json.dumps(
        customer_data(customer), cls=DjangoJSONEncoder, indent=2, ensure_ascii=False
    )


def letter_files(customer: Customer) -> list[Path]:
    paths = customer.messages.exclude(file_path="").values_list("file_path", flat=True)
    return [Path(path) for path in paths if Path(path).is_file()]


def customers_zip(customers, *, user=None, page: str) -> bytes:
    """A ZIP with each debtor's JSON and letters; each export is logged."""
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for customer in customers:
            folder = f"customer-{customer.pk}"
            archive.writestr(f"{folder}/data.json", customer_json(customer))
            for path in letter_files(customer):
                archive.write(path, f"{folder}/letters/{path.name}")
            access_record(
                customer, user=user, action=AccessLog.Action.EXPORT, page=page
            )
    return buffer.getvalue()
