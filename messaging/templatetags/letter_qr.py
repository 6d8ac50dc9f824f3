"""Template filters of the letter layout (`templates/messaging/letter/`)."""

from django import template

from messaging.qr import qr_data_uri

register = template.Library()


@register.filter
def qr_png_uri(url: str) -> str:
    """The QR code of a link as a PNG `data:` URI; empty without a link."""
    if not url:
        return ""
    return qr_data_uri(str(url))
