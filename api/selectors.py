"""Reads for the API that are more than a queryset: a message's content."""

from pathlib import Path

from django.conf import settings
from django.urls import reverse
from django.utils.html import escape

from messaging.models import Message


def message_text(message: Message) -> tuple[str, str, str]:
    """Subject, text and HTML of a message: as sent, or as it would go now.

    A message not sent yet is rendered with the claims' current amounts and a
    placeholder link; no personal link is created for it. A sent message keeps
    the text it went out with (its HTML is not stored: "").
    """
    if message.sent_at is not None and message.body:
        return message.subject, message.body, ""
    from messaging.preview import PREVIEW_TOKEN
    from messaging.rendering import build_context, render

    link = settings.SITE_URL + reverse("portal:home", args=[PREVIEW_TOKEN])
    context = build_context(message, link)
    return render(message, context)


def message_pdf(message: Message) -> bytes:
    """A sent letter's own PDF; otherwise the content laid out as a PDF."""
    from messaging.letters import html_to_pdf

    if message.channel == "letter" and message.file_path:
        path = Path(message.file_path)
        if path.is_file():
            return path.read_bytes()
    subject, text, html = message_text(message)
    if not html:
        html = (
            f"<h1 style='font: bold 14pt sans-serif'>{escape(subject)}</h1>"
            f"<pre style='font: 11pt sans-serif; white-space: pre-wrap'>"
            f"{escape(text)}</pre>"
        )
    return html_to_pdf(html)
