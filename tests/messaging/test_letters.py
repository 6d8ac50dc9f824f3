"""Letter PDFs: layout over several pages, reuse by others."""

import subprocess
from datetime import datetime
from zoneinfo import ZoneInfo

from messaging.letters import render_letter_pdf
from messaging.rendering import build_context

from .factories import make_message

NOW = datetime(2025, 4, 1, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))


def pdf_pages(pdf: bytes) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    return text.split("\f")[:-1]


def test_long_letter_repeats_the_table_head_and_numbers_pages(bob_ltd, make_invoice):
    """A claim table over two pages repeats its head; the footer counts pages."""
    claims = [(make_invoice(bob_ltd, f"{n}.00"), 1 + n % 4) for n in range(1, 46)]
    message = make_message(bob_ltd, claims, channel="letter")

    pdf = render_letter_pdf(message, build_context(message, "http://x/p/t/", now=NOW))

    pages = pdf_pages(pdf)
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
    assert "Invoice date" in pages[0] and "Invoice date" in pages[1]
    everything = "".join(pages)
    for n in range(1, 46):
        assert f"INV-{n:04d}" in everything
    assert "http://x/p/t/" in everything
