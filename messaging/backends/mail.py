"""E-mail through Django's e-mail API: plain text with an HTML alternative.

Over SMTP a lost connection is only safe to retry before the message was handed
over. A session the server closed while idle is found by a NOOP before sending
(the retry then opens a new one); a connection lost or timed out during the
hand-over itself raises `MailInterrupted`: the server may have queued the
message, so dispatch marks it interrupted instead of sending it again.
"""

import smtplib
from collections.abc import Sequence
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid


class MailInterrupted(Exception):
    """The SMTP hand-over was cut off; whether the server took it is unknown."""


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
    smtp = getattr(connection, "connection", None)
    if not isinstance(smtp, smtplib.SMTP):
        email.send()
        return message_id
    # Raises SMTPServerDisconnected for a dead session: nothing was sent yet.
    smtp.noop()
    try:
        email.send()
    except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
        # The server answered with a refusal: it did not take the message.
        raise
    except OSError as exc:
        # SMTPServerDisconnected, timeouts and resets (smtplib's errors are
        # OSErrors too, hence the refusals first).
        raise MailInterrupted(f"{type(exc).__name__}: {exc}") from exc
    return message_id
