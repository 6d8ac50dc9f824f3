"""The daily print batch: every letter sent on a date in one PDF plus a manifest.

The print service takes one file per day. Each letter was rendered on its own
(messaging.letters), so its pages already carry its own footer ("Seite 2/3");
the batch only concatenates them and records where each letter starts, so a
franking machine or a person at the folder can check the envelopes.
"""

import csv
import io
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from core.money import round_money
from messaging.models import Message

logger = logging.getLogger(__name__)

MANIFEST_FIELDS = [
    "sequence",
    "message_id",
    "customer_external_id",
    "recipient_name",
    "postcode",
    "city",
    "country",
    "first_page",
    "pages",
    "sheets",
    "claims",
    "total",
    "currency",
]
# services._send_claimed writes the claims left out at sending this way:
# "not listed: INV-1 (paid); INV-7 (disputed)".
NOT_LISTED = "not listed: "


class PrintBatchError(Exception):
    """The batch cannot be made; nothing was written."""


@dataclass(frozen=True)
class PrintBatch:
    on_date: date
    letters: int
    pages: int
    pdf_path: Path | None
    manifest_path: Path | None


# A spreadsheet reads a cell starting with one of these as a formula (OWASP
# "CSV injection"); names and cities come from the creditor's ERP unchecked.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """Text that a spreadsheet shows as text: a formula start gets a ' before it."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def print_dir(on_date: date) -> Path:
    return Path(settings.OUTBOX_DIR) / "print" / on_date.isoformat()


def letters_sent_on(on_date: date) -> list[Message]:
    """Sent letters whose sending fell on `on_date` in their creditor's zone.

    Ordered by creditor, then message id, so that a second run lists the same
    letters in the same order.
    """
    # Every zone is within a day of UTC: a day either side bounds the query,
    # the creditor's own date decides.
    start = datetime.combine(on_date - timedelta(days=1), time.min, UTC)
    end = datetime.combine(on_date + timedelta(days=2), time.min, UTC)
    candidates = (
        Message.objects.filter(
            channel="letter",
            status=Message.Status.SENT,
            sent_at__gte=start,
            sent_at__lt=end,
        )
        .select_related("creditor", "customer")
        .prefetch_related("items__invoice")
        .order_by("creditor_id", "id")
    )
    return [
        message
        for message in candidates
        if message.sent_at.astimezone(message.creditor.zone).date() == on_date
    ]


def _listed_items(message: Message) -> list:
    """The message's claims that the letter shows (dropped ones are not)."""
    dropped = set()
    if message.status_reason.startswith(NOT_LISTED):
        for part in message.status_reason[len(NOT_LISTED) :].split("; "):
            dropped.add(part.split(" (", 1)[0])
    return [item for item in message.items.all() if item.invoice.number not in dropped]


def _totals(items) -> dict[str, Decimal]:
    """The listed claims' amounts as the letter printed them, per currency."""
    totals: dict[str, Decimal] = {}
    for item in items:
        # Letters sent before dispatch kept the amounts have only the planned
        # ones.
        amount = item.open_amount if item.sent_amount is None else item.sent_amount
        totals[item.currency] = totals.get(item.currency, Decimal(0)) + amount
    return {
        currency: round_money(amount, currency)
        for currency, amount in sorted(totals.items())
    }


def _write_atomically(path: Path, data: bytes) -> None:
    # A unique temporary name in the same folder: two runs at once never
    # write into each other's file, and the rename is atomic.
    with tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False
    ) as partial:
        partial.write(data)
    # tempfile creates it readable by its owner only; the print service
    # reads it as another user, like the letters themselves.
    os.chmod(partial.name, 0o644)
    os.replace(partial.name, path)


def print_batch_build(*, on_date: date, actor: str) -> PrintBatch:
    """Write the day's batch PDF and CSV manifest under OUTBOX/print/<date>/.

    Running it again for the same date replaces both files with the same
    content (plus any letter sent since). A sent letter whose PDF is missing
    stops the batch with an error, so that no debtor silently gets no letter.
    """
    from pypdf import PdfReader, PdfWriter

    messages = letters_sent_on(on_date)
    if not messages:
        logger.info("print batch %s: no letters, actor %s", on_date, actor)
        return PrintBatch(on_date, 0, 0, None, None)

    missing = [
        m.pk for m in messages if not m.file_path or not Path(m.file_path).is_file()
    ]
    if missing:
        raise PrintBatchError(
            f"letter PDF missing for message(s) {', '.join(map(str, missing))}"
        )

    writer = PdfWriter()
    rows = []
    first_page = 1
    for sequence, message in enumerate(messages, start=1):
        reader = PdfReader(message.file_path)
        for page in reader.pages:
            writer.add_page(page)
        pages = len(reader.pages)
        items = _listed_items(message)
        totals = _totals(items)
        customer = message.customer
        rows.append(
            {
                "sequence": sequence,
                "message_id": message.pk,
                "customer_external_id": customer.external_id,
                "recipient_name": customer.name,
                "postcode": customer.postcode,
                "city": customer.city,
                "country": customer.country,
                "first_page": first_page,
                "pages": pages,
                # Printed on one side: one sheet per page.
                "sheets": pages,
                "claims": len(items),
                "total": ";".join(str(amount) for amount in totals.values()),
                "currency": ";".join(totals),
            }
        )
        first_page += pages

    # pypdf writes no file identifier and no dates unless asked to: the same
    # letters give the same bytes, however often the batch runs.
    writer.add_metadata({"/Producer": "dunning print batch"})
    pdf = io.BytesIO()
    writer.write(pdf)

    manifest = io.StringIO()
    table = csv.DictWriter(manifest, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
    table.writeheader()
    table.writerows(
        {name: spreadsheet_safe(value) for name, value in row.items()} for row in rows
    )

    folder = print_dir(on_date)
    folder.mkdir(parents=True, exist_ok=True)
    pdf_path = folder / f"letters-{on_date.isoformat()}.pdf"
    manifest_path = folder / f"manifest-{on_date.isoformat()}.csv"
    _write_atomically(pdf_path, pdf.getvalue())
    _write_atomically(manifest_path, manifest.getvalue().encode("utf-8"))

    logger.info(
        "print batch %s: %d letters, %d pages, actor %s",
        on_date,
        len(rows),
        first_page - 1,
        actor,
    )
    return PrintBatch(on_date, len(rows), first_page - 1, pdf_path, manifest_path)
