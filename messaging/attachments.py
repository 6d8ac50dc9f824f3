"""What an e-mail carries besides its text: the letter and invoice copies as PDF.

Each plan step says whether its e-mails attach the letter (`Step.attach_letter`)
and the invoices (`Step.attach_invoices`). A message lists claims at different
steps: the letter (which covers every listed claim) is attached when any listed
claim's step asks for it, an invoice copy only for the claims whose step asks.

An invoice copy is the creditor's uploaded document (`Invoice.document`, bytes
unchanged) or, without one, a "copy of invoice" PDF made from the claim's data
(`templates/messaging/invoice_copy/`). Together the attachments stay within
`settings.EMAIL_ATTACHMENTS_MAX_KB`: they are taken in order (letter, then the
invoices by due date) while they fit; the e-mail still goes out, and the message's
status reason names what was left out (docs/ATTACHMENTS.md).
"""

import copy
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.text import slugify

from core.money import format_money

logger = logging.getLogger(__name__)

PDF = "application/pdf"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str = PDF


@dataclass
class Attachments:
    files: list[Attachment] = field(default_factory=list)
    # Why something a step asked for is not attached, for the status reason.
    note: str = ""


def invoice_copy_pdf(item, context: dict) -> bytes:
    """A generated copy of a listed claim's invoice, in the message's language."""
    from messaging.letters import html_to_pdf

    invoice = item.invoice
    row = next((row for row in context["items"] if row["number"] == invoice.number), {})
    language = context["language"]
    values = {
        "number": invoice.number,
        "currency": invoice.currency,
        "description": invoice.description,
        "issued_on_display": row.get("issued_on_display", invoice.issued_on),
        "due_on_display": row.get("due_on_display", invoice.due_on),
        "amount_display": format_money(invoice.amount, invoice.currency, language),
    }
    html = render_to_string(
        f"messaging/invoice_copy/{language}.html", {**context, "invoice": values}
    )
    return html_to_pdf(html)


def _invoice_document(item) -> bytes | None:
    document = item.invoice.document
    if not document:
        return None
    try:
        with document.open("rb") as file:
            return file.read()
    except OSError:
        # The row names a file the storage lost: a generated copy still tells
        # the debtor what the invoice was.
        logger.warning(
            "invoice %s: document missing from storage, generated copy attached",
            item.invoice_id,
        )
        return None


def _letter_pdf(message, context: dict) -> bytes:
    from messaging.letters import render_letter_pdf

    # The letter the letter channel would print for this message: its own
    # template and layout, the same claims, amounts and personal link.
    letter = copy.copy(message)
    letter.channel = "letter"
    return render_letter_pdf(letter, {**context, "channel": "letter"})


def email_attachments(message, context: dict | None) -> Attachments:
    """The PDFs the e-mail of `message` carries for the claims `context` lists.

    Claims dropped before sending (paid, disputed since planning) are not in
    the context and get no copy.
    """
    if context is None:
        return Attachments()
    listed = {row["number"] for row in context["items"]}
    items = [
        item
        for item in message.items.select_related("invoice", "case_step__step").order_by(
            "invoice__due_on", "id"
        )
        if item.invoice.number in listed
    ]
    wanted: list[tuple[str, object]] = []
    if any(item.case_step.step.attach_letter for item in items):
        wanted.append(("letter", None))
    wanted += [
        ("invoice", item) for item in items if item.case_step.step.attach_invoices
    ]
    if not wanted:
        return Attachments()

    limit = settings.EMAIL_ATTACHMENTS_MAX_KB * 1024
    result = Attachments()
    total = 0
    left_out = []
    for kind, item in wanted:
        if kind == "letter":
            label = slugify(context.get("action_label") or "letter") or "letter"
            attachment = Attachment(f"{label}.pdf", _letter_pdf(message, context))
        else:
            number = slugify(item.invoice.number) or str(item.invoice_id)
            content = _invoice_document(item) or invoice_copy_pdf(item, context)
            attachment = Attachment(f"invoice-{number}.pdf", content)
        if total + len(attachment.content) > limit:
            left_out.append(attachment.filename)
            continue
        total += len(attachment.content)
        result.files.append(attachment)
    if left_out:
        result.note = (
            f"attachments left out (over {settings.EMAIL_ATTACHMENTS_MAX_KB} KiB "
            f"together): {', '.join(left_out)}"
        )
        logger.warning(
            "message %s: %d attachment(s) over the size limit left out",
            message.pk,
            len(left_out),
        )
    return result
