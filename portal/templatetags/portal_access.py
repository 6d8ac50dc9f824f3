"""Template filters of the debtor page's access, for letters."""

from django import template
from django.utils.safestring import mark_safe

from portal.access import qr_svg as _qr_svg

register = template.Library()


@register.filter
def qr_svg(url: str) -> str:
    """The QR code of a link as inline SVG (segno writes only paths: no text)."""
    if not url:
        return ""
    return mark_safe(_qr_svg(str(url)))
