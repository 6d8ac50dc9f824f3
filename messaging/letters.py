"""Letters: an A4 PDF laid out for a DIN 5008 window envelope, rendered by WeasyPrint.

The fixed layout lives in `templates/messaging/letter/`, the main text block in a
stored `MessageTemplate` (see `messaging.rendering`); this module turns the
rendered HTML into a PDF and files it where the print service picks it up.
"""

from pathlib import Path

from django.conf import settings


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def render_letter_pdf(message, context: dict) -> bytes:
    """The letter for a message as PDF bytes, from a `build_context` context."""
    from messaging.rendering import render

    _subject, _text, html = render(message, context)
    return html_to_pdf(html)


def letter_path(message) -> Path:
    return (
        Path(settings.LETTER_FILE_PATH) / str(message.action_date) / f"{message.pk}.pdf"
    )


def letter_write(message, pdf: bytes) -> Path:
    """File a letter's PDF; written to a temporary name first so that a reader
    never sees half a file."""
    path = letter_path(message)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".pdf.part")
    partial.write_bytes(pdf)
    partial.replace(path)
    return path
