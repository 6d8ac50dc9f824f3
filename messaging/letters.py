"""Letters: an A4 PDF laid out for a DIN 5008 window envelope, rendered by WeasyPrint.

The fixed layout lives in `templates/messaging/letter/`, the main text block in a
stored `MessageTemplate` (see `messaging.rendering`); this module turns the
rendered HTML into a PDF and files it where the print service picks it up.
"""

import functools
import os
import re
import threading
from pathlib import Path

from django.conf import settings

_local = threading.local()

# A document's own `<style>` elements (without attributes, in the head); see
# `html_to_pdf`.
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)
STYLESHEETS_KEPT = 64
UA_CSS_PATH = Path(__file__).with_name("pdf_ua.css")


def font_config():
    """One WeasyPrint font configuration per process and thread.

    Building one looks the fonts up through fontconfig again for every letter,
    13 % of the time over a run of letters (docs/BENCHMARKS.md, "Letters"). It
    is not shared between threads (the admin renders previews in a threaded
    server; Pango's font map is not thread-safe) and made again after a fork,
    whose copy of fontconfig's state is not meant to be used.
    """
    pid = os.getpid()
    if getattr(_local, "pid", None) != pid:
        from weasyprint.text.fonts import FontConfiguration

        _local.font_config = FontConfiguration()
        _local.stylesheets = {}
        _local.pid = pid
    return _local.font_config


def stylesheet(css: str):
    """The WeasyPrint stylesheet of a CSS text, parsed once per process and thread.

    A letter's `<style>` was parsed and its selectors compiled again for every
    letter (docs/BENCHMARKS.md, "Letters"). The texts differ by brand colour
    and language only, so few are kept; the oldest is dropped past
    `STYLESHEETS_KEPT`.
    """
    from weasyprint import CSS

    fonts = font_config()
    kept = _local.stylesheets
    if css not in kept:
        if len(kept) >= STYLESHEETS_KEPT:
            del kept[next(iter(kept))]
        kept[css] = CSS(string=css, base_url=str(settings.BASE_DIR), font_config=fonts)
    return kept[css]


@functools.cache
def pdf_html_class():
    """WeasyPrint's `HTML` with `pdf_ua.css` as the user-agent stylesheet.

    WeasyPrint's own sheet cost about a fifth of its CPU per letter: its rules for
    every element (`::marker`, footnote and note calls) make it compute styles
    for pseudo-elements that no element of a letter has (docs/BENCHMARKS.md,
    "Letters"). `_ua_stylesheets` is the method WeasyPrint's `HTML` asks for
    them (weasyprint 70, pinned in requirements.txt); the sheet is parsed once
    per process and, holding no fonts, shared by threads as WeasyPrint shares
    its own.
    """
    from weasyprint import CSS, HTML

    user_agent = CSS(string=UA_CSS_PATH.read_text(encoding="utf-8"))

    class PdfHTML(HTML):
        def _ua_stylesheets(self, forms=False):
            return [user_agent]

    return PdfHTML


def html_to_pdf(html: str) -> bytes:
    """The PDF of a letter's HTML, with its fonts embedded (as subsets).

    The `<style>` elements of the head are taken out and applied as cached
    stylesheets, in their order, so every caller (dispatch, previews,
    attachments) gains without passing a stylesheet itself. The defaults under
    them are `pdf_ua.css`.
    """
    head, body_marker, body = html.partition("</head>")
    stylesheets = [stylesheet(css) for css in _STYLE.findall(head)]
    if stylesheets:
        html = _STYLE.sub("", head) + body_marker + body
    document = pdf_html_class()(string=html, base_url=str(settings.BASE_DIR))
    return document.write_pdf(font_config=font_config(), stylesheets=stylesheets)


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
