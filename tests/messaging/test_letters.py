"""Letter PDFs: layout over several pages, page footers, embedded fonts."""

import re
import subprocess
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from customers.models import Customer
from messaging.letters import render_letter_pdf
from messaging.rendering import build_context, render

from .factories import make_message

NOW = datetime(2025, 4, 1, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
MM = 72 / 25.4
A4_WIDTH = 210 * MM
RIGHT_MARGIN = 20 * MM
LEFT_MARGIN = 25 * MM
# The head's middle line; "Invoice date" wraps onto two lines in a full table.
HEAD_LABELS = ("Invoice", "Due date", "Level", "Amount", "Paid", "Fees", "Open")


def pdf_pages(pdf: bytes) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    return text.split("\f")[:-1]


def pdf_words(pdf: bytes) -> list[list[tuple[float, float, float, str]]]:
    """Per page, every word with its left, right and top edge in points."""
    boxes = subprocess.run(
        ["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    return [
        [
            (float(x_min), float(x_max), float(y_min), word)
            for x_min, y_min, x_max, word in re.findall(
                r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)"'
                r' yMax="[\d.]+">([^<]+)</word>',
                page,
            )
        ]
        for page in boxes.split("<page ")[1:]
    ]


def pdf_fonts(pdf: bytes, tmp_path) -> list[dict]:
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    lines = subprocess.run(
        ["pdffonts", str(path)], capture_output=True, check=True
    ).stdout.decode()
    fonts = []
    for line in lines.splitlines()[2:]:
        # name type... encoding emb sub uni object-id generation
        parts = line.split()
        fonts.append({"name": parts[0], "emb": parts[-5], "uni": parts[-3]})
    return fonts


def letter_pdf(customer, claims, **kw) -> bytes:
    message = make_message(customer, claims, channel="letter", **kw)
    return render_letter_pdf(message, build_context(message, "http://x/p/t/", now=NOW))


def letter_html(customer, claims, **kw) -> str:
    message = make_message(customer, claims, channel="letter", **kw)
    _subject, _text, html = render(
        message, build_context(message, "http://x/p/t/", now=NOW)
    )
    return html


def test_long_letter_repeats_the_table_head_and_numbers_pages(bob_ltd, make_invoice):
    """A claim table over two pages repeats its head; the footer counts pages."""
    claims = [(make_invoice(bob_ltd, f"{n}.00"), 1 + n % 4) for n in range(1, 46)]

    pages = pdf_pages(letter_pdf(bob_ltd, claims))

    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert f"Page {number}/{len(pages)}" in page
    assert "Invoice date" in pages[0] and "Invoice date" in pages[1]
    # A page after the first opens with whose letter it continues; the first
    # shows the customer number in its info block only.
    heads = [page.strip().splitlines()[0].strip() for page in pages]
    assert heads[1:] == [f"Customer no. {bob_ltd.external_id}"] * (len(pages) - 1)
    assert pages[0].count(bob_ltd.external_id) == 1
    everything = "".join(pages)
    for n in range(1, 46):
        assert f"INV-{n:04d}" in everything
    assert "http://x/p/t/" in everything


def test_a_german_letter_counts_its_pages_as_seite_n_of_m(alice, make_invoice):
    """A one-page German letter's footer reads "Seite 1/1"."""
    [page] = pdf_pages(letter_pdf(alice, [(make_invoice(alice, "80.00"), 2)]))

    assert "Seite 1/1" in page


def test_eighty_claims_repeat_the_head_on_every_page_right_aligned(
    bob_ltd, make_invoice
):
    """80 claims span pages; each page has the table head; amounts end flush."""
    claims = [(make_invoice(bob_ltd, f"{n}.00"), 1) for n in range(1, 80)]
    # The widest amount the table may have to hold.
    claims.append((make_invoice(bob_ltd, "9876543.21"), 1))

    pdf = letter_pdf(bob_ltd, claims)

    pages = pdf_pages(pdf)
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert f"Page {number}/{len(pages)}" in page
        rows = [line for line in page.splitlines() if re.match(r"\s*INV-\d{4}", line)]
        if rows:
            head = next(line for line in page.splitlines() if "Due date" in line)
            for label in HEAD_LABELS:
                assert label in head, (number, label)
    everything = "".join(pages)
    for n in range(1, 81):
        assert f"INV-{n:04d}" in everything
    assert "€9,876,543.21" in everything

    right_edge = A4_WIDTH - RIGHT_MARGIN
    table_rows = 0
    for words in pdf_words(pdf):
        # Nothing reaches past the right margin (the footer sits inside it).
        assert max(x_max for _x, x_max, _y, _w in words) <= right_edge + 0.5
        # Each claim row ends with its open amount, flush with the others.
        row_tops = {
            round(y)
            for x, _x_max, y, word in words
            if word[:4] == "INV-" and x < LEFT_MARGIN + 5 * MM
        }
        row_ends = []
        for top in row_tops:
            row = [w for w in words if round(w[2]) == top]
            _x, x_max, _y, last = max(row, key=lambda w: w[1])
            if len(row) > 3:
                assert last.startswith("€"), row
                row_ends.append(x_max)
        if row_tops:
            assert max(row_ends) - min(row_ends) <= 0.5, row_ends
            table_rows += len(row_ends)
    assert table_rows == 80


def test_fonts_are_embedded_and_cover_euro_eszett_and_eastern_letters(
    creditor, make_invoice, tmp_path
):
    """€ ß Ł ő Ğ in a debtor's name and address survive into the PDF's text."""
    customer = Customer.objects.create(
        creditor=creditor,
        external_id="C-LOD",
        kind="consumer",
        name="Łucja Őry-Ğündoğdu",
        street="Großstraße 12",
        postcode="90-001",
        city="Łódź",
        country="PL",
        language="de",
        time_zone="Europe/Warsaw",
    )

    pdf = letter_pdf(customer, [(make_invoice(customer, "1234.50"), 2)])

    text = "".join(pdf_pages(pdf))
    for expected in ("Łucja Őry-Ğündoğdu", "Großstraße 12", "Łódź", "€"):
        assert expected in text, expected
    fonts = pdf_fonts(pdf, tmp_path)
    assert fonts
    for font in fonts:
        assert "DejaVu" in font["name"], font
        assert font["emb"] == "yes" and font["uni"] == "yes", font


def test_each_thread_renders_with_its_own_font_configuration():
    """The font configuration is reused within a thread, never shared across."""
    import threading

    from messaging.letters import font_config

    seen = []
    worker = threading.Thread(target=lambda: seen.extend([font_config()] * 2))
    worker.start()
    worker.join()

    assert font_config() is font_config()
    assert seen[0] is seen[1]
    assert seen[0] is not font_config()


def test_a_documents_own_style_still_sets_its_pdf_pages():
    """Each head `<style>` is applied from the cache, one parse per CSS text."""
    from io import BytesIO

    from pypdf import PdfReader

    from messaging.letters import html_to_pdf, stylesheet

    def page_size(css: str) -> tuple[int, int]:
        html = f"<html><head><style>{css}</style></head><body>x</body></html>"
        box = PdfReader(BytesIO(html_to_pdf(html))).pages[0].mediabox
        return round(float(box.width) / MM), round(float(box.height) / MM)

    a5, landscape = "@page { size: A5 }", "@page { size: A4 landscape }"

    assert page_size(a5) == (148, 210)
    assert page_size(landscape) == (297, 210)
    assert page_size(a5) == (148, 210)
    assert stylesheet(a5) is stylesheet(a5)
    assert stylesheet(a5) is not stylesheet(landscape)


def test_bench_letters_reports_letters_per_second_with_two_workers():
    """bench_letters renders the letters in two processes and reports the rate."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("bench_letters", "--letters", "4", "--workers", "2", stdout=out)

    assert re.match(
        r"4 letters, 2 worker\(s\), seal ahead: [\d.]+ s, [\d.]+ letters/s",
        out.getvalue(),
    )


@pytest.mark.parametrize(
    "seal, cpu",
    [
        ("ahead", r"[\d.]+ ms of CPU a letter \(with the seal's thread\)"),
        ("inline", r"[\d.]+ ms of CPU a letter \(of which [\d.]+ ms the link and"),
    ],
)
def test_bench_letters_in_one_process_seals_ahead_or_inline(seal, cpu):
    """One process reports its CPU a letter; inline, the seal's share."""
    import threading
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("bench_letters", "--letters", "3", "--seal", seal, stdout=out)

    assert re.match(
        rf"3 letters, 1 worker\(s\), seal {seal}: [\d.]+ s, [\d.]+ letters/s, {cpu}",
        out.getvalue(),
    )
    assert not [t for t in threading.enumerate() if t.name.startswith("seal")]


def test_a_creditor_without_an_address_leaves_no_stray_separators(
    creditor, bob_ltd, make_invoice
):
    """An imported creditor may have only a name: no ", date" and no " · · "."""
    creditor.street = creditor.postcode = creditor.city = ""
    creditor.save()

    [page] = pdf_pages(letter_pdf(bob_ltd, [(make_invoice(bob_ltd, "50.00"), 1)]))

    date_line = next(line for line in page.splitlines() if "April 1, 2025" in line)
    assert re.search(r"Date\s+April 1, 2025", date_line)
    assert "· ·" not in page and " · \n" not in page


PLAIN_DOCUMENT = """<html><head><style>@page { size: A5 }</style></head><body>
<h1>Heading</h1><h2>Second level</h2><h3>Third level</h3>
<p>A paragraph with <strong>strong</strong>, <b>bold</b>, <em>stressed</em> and
<i>italic</i> words,<br>a line break and <small>small print</small>.</p>
<ul><li>First item</li><li>Second item</li></ul>
<ol><li>Numbered</li><li>Counted</li></ol>
<table><thead><tr><th>Head</th><th>Other</th></tr></thead>
<tbody><tr><td>Cell</td><td>Value 12,00</td></tr></tbody>
<tfoot><tr><td colspan="2">Footer cell</td></tr></tfoot></table>
<pre>preformatted   text
  indented</pre>
<blockquote>Quoted</blockquote><hr><div>Last block</div>
</body></html>"""


@pytest.mark.parametrize("document", ["letter", "plain"])
def test_the_pdf_user_agent_sheet_places_each_word_as_weasyprints_own(
    document, alice, make_invoice
):
    """A letter, or a plain document, laid out over `pdf_ua.css` has each word
    where WeasyPrint's own (much larger) user-agent stylesheet puts it."""
    from django.conf import settings
    from weasyprint import HTML

    from messaging.letters import font_config, html_to_pdf

    if document == "letter":
        claims = [(make_invoice(alice, f"{n}0.00"), 1 + n % 3) for n in range(1, 4)]
        html = letter_html(alice, claims)
    else:
        html = PLAIN_DOCUMENT

    ours = pdf_words(html_to_pdf(html))
    theirs = pdf_words(
        HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(
            font_config=font_config()
        )
    )

    assert ours == theirs
    assert len(ours[0]) > 30


def test_the_qr_code_is_a_grey_bitmap_of_eight_pixels_a_module():
    """The QR code of a link is an 8-bit grey PNG that scans as the link."""
    from io import BytesIO

    import zxingcpp
    from PIL import Image

    from messaging.qr import qr_png

    url = "https://pay.example.com/p/" + "x" * 43 + "/"

    image = Image.open(BytesIO(qr_png(url)))

    # Version 5 (37 modules) with a quiet zone of 4 on each side.
    assert image.mode == "L"
    assert image.size == ((37 + 8) * 8, (37 + 8) * 8)
    assert set(image.get_flattened_data()) == {0, 255}
    [code] = zxingcpp.read_barcodes(image)
    assert code.text == url


def test_the_qr_code_scans_with_another_decoder_at_print_resolution():
    """Codes of many new links, smoothed to 150 dpi as a cheap printer or
    scan would, decode with zbar (a decoder other than the zxing-cpp that
    encodes them) to exactly their link."""
    import secrets
    from io import BytesIO

    from PIL import Image

    from messaging.qr import qr_png

    try:
        from pyzbar import pyzbar
    except ImportError as exc:  # pyzbar is installed; libzbar0 may not be
        pytest.skip(f"zbar is not installed ({exc}): apt-get install libzbar0")

    # 28 mm at 150 dpi.
    side = round(28 / 25.4 * 150)
    urls = [
        "https://pay.example.com/p/" + secrets.token_urlsafe(32) + "/"
        for _ in range(100)
    ]
    read = []
    for url in urls:
        image = Image.open(BytesIO(qr_png(url)))
        printed = image.resize((side, side), Image.Resampling.BILINEAR)
        read.append(
            [(code.type, code.data.decode()) for code in pyzbar.decode(printed)]
        )

    assert read == [[("QRCODE", url)] for url in urls]


def test_a_german_claims_table_stays_inside_the_right_margin(alice, make_invoice):
    """German column heads are longer: three claims with six-digit amounts and
    the longest level name still end at the text's right edge, on one sheet."""
    claims = [
        (make_invoice(alice, amount, number=f"RE-00000{n}"), 3)
        for n, amount in enumerate(["123456.78", "98765.43", "250.00"])
    ]

    pdf = letter_pdf(alice, claims)

    [words] = pdf_words(pdf)
    assert max(x_max for _x, x_max, _y, _w in words) <= A4_WIDTH - RIGHT_MARGIN + 0.5
    [page] = pdf_pages(pdf)
    assert "Seite 1/1" in page and "Offen insgesamt" in page
    # The total's currency is in its amount, not said twice.
    assert "insgesamt EUR" not in page
