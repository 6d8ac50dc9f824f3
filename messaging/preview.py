"""A stored template rendered for a real message or case, without sending anything.

The preview uses the debtor's real claims and current amounts but the
template's own channel, language, tone and action, and a placeholder link: no
personal link is created, no message is written, nothing goes out.
"""

import copy
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from messaging.models import Message, MessageItem
from messaging.rendering import (
    Wording,
    action_label,
    build_context,
    consequence_text,
    render,
)
from messaging.templating import SmsLength, sms_length
from personalisation.models import Decision

# The shape of a real link (43-character token) so that lengths are true.
PREVIEW_TOKEN = "preview-" + "x" * 35


@dataclass
class Preview:
    subject: str
    text: str
    html: str
    sms: SmsLength | None
    source: str  # what the claims came from, for the page's heading


def _message_items(message) -> list[MessageItem]:
    return list(
        message.items.select_related("invoice", "case_step__step").order_by(
            "invoice__due_on", "id"
        )
    )


def _case_items(case, template) -> list[MessageItem]:
    """The case's claim as a message would list it at the template's step."""
    from dunning.models import CaseStep

    taken = case.steps_taken.select_related("step").order_by("-taken_on", "-id").first()
    if taken is None:
        step = (
            template.step
            or case.plan.steps.filter(action=template.action).first()
            or case.plan.steps.first()
        )
        taken = CaseStep(case=case, step=step)
    return [
        MessageItem(
            invoice=case.invoice,
            case_step=taken,
            level=taken.step.position,
            action=template.action,
            currency=case.invoice.currency,
        )
    ]


def template_preview(template, *, message=None, case=None, now=None) -> Preview:
    """Render `template` for a message's claims, or for one case's claim."""
    if message is not None:
        shadow = copy.copy(message)
        items = _message_items(message)
        source = f"message {message.pk}"
    elif case is not None:
        shadow = Message(
            creditor=case.creditor,
            customer=case.customer,
            decision=Decision(
                customer=case.customer,
                payment_options=["bank_transfer", "card"],
                variant=template.variant,
            ),
        )
        items = _case_items(case, template)
        source = f"case {case.pk} (claim {case.invoice.number})"
    else:
        raise ValueError("a preview needs a message or a case")
    shadow.channel = template.channel
    shadow.language = template.language
    shadow.tone = template.tone

    link = settings.SITE_URL + reverse("portal:home", args=[PREVIEW_TOKEN])
    context = build_context(shadow, link, items=items, now=now)
    # The template is written for its action, whatever the case's step is.
    context["action"] = template.action
    context["action_label"] = action_label(template.action, context["language"])
    context["consequence"] = consequence_text(
        template.action, context["language"], context["deadline_display"]
    )

    wording = Wording(template.channel, context["language"], template)
    subject, text, html = render(shadow, context, wording=wording)
    sms = sms_length(text) if template.channel in ("sms", "whatsapp") else None
    return Preview(subject=subject, text=text, html=html, sms=sms, source=source)
