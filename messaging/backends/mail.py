"""E-mail through Django's e-mail API: plain text with an HTML alternative."""

from collections.abc import Sequence
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid


def send_email(
    *,
    connection,
    to: str | Sequence[str],
    subject: str,
    text: str,
    html: str,
    creditor,
    cc: Sequence[str] = (),
    attachments: Sequence = (),
    headers: dict[str, str] | None = None,
) -> str:
    """Send one e-mail over an open connection; return its Message-ID.

    `attachments` are `messaging.attachments.Attachment`s (filename, content,
    mimetype).
    """
    message_id = make_msgid()
    email = EmailMultiAlternatives(
        subject=subject,
        body=text,
        # The creditor's name as the display name: the debtor knows the company,
        # not the address the product sends from.
        from_email=formataddr((creditor.name, settings.DEFAULT_FROM_EMAIL)),
        to=[to] if isinstance(to, str) else list(to),
        cc=list(cc) or None,
        reply_to=[creditor.email] if creditor.email else None,
        connection=connection,
        headers={**(headers or {}), "Message-ID": message_id},
    )
    email.attach_alternative(html, "text/html")
    for attachment in attachments:
        email.attach(attachment.filename, attachment.content, attachment.mimetype)
    email.send()
    return message_id
