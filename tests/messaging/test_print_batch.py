"""The daily print batch: one PDF of the day's letters and its CSV manifest."""

import csv
import subprocess
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer
from messaging.models import Message
from messaging.print_batch import PrintBatchError, print_batch_build
from messaging.services import dispatch_due
from payments.services import payment_record

from .factories import SCHEDULED_AT, make_message

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2025, 4, 1)
NOW = SCHEDULED_AT + timedelta(hours=1)
# 1, 20 and 44 claims make German letters of 1, 2 and 3 pages.
CLAIMS_PER_LETTER = (1, 20, 44)


def business(creditor, n: int) -> Customer:
    return Customer.objects.create(
        creditor=creditor,
        external_id=f"C-B{n}",
        kind="business",
        name=f"Büro {n} GmbH",
        street=f"Ringstraße {n}",
        postcode=f"5000{n}",
        city="Köln",
        country="DE",
        language="de",
        time_zone="Europe/Berlin",
        consent_email=False,
    )


def send_letters(creditor, make_invoice, *, sent_at=None) -> list[Message]:
    """Three letters of 1, 2 and 3 pages to three debtors, sent on DAY."""
    messages = []
    for n, count in enumerate(CLAIMS_PER_LETTER, start=1):
        customer = business(creditor, n)
        claims = [(make_invoice(customer, "10.00"), 1) for _ in range(count)]
        messages.append(make_message(customer, claims, channel="letter"))
    assert dispatch_due(now=NOW)["letter"] == {"sent": 3}
    # Sending stamps the wall clock; the batch is about the day they went out.
    Message.objects.filter(pk__in=[m.pk for m in messages]).update(
        sent_at=sent_at or datetime(2025, 4, 1, 11, 0, tzinfo=BERLIN)
    )
    return messages


def page_texts(path) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True
    ).stdout.decode()
    return text.split("\f")[:-1]


def manifest_rows(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_batch_of_three_letters_keeps_each_letters_page_numbers(
    creditor, make_invoice, outbox
):
    """Letters of 1, 2 and 3 pages: 6 pages, footers 1/1, 1/2, 2/2, 1/3, 2/3, 3/3."""
    messages = send_letters(creditor, make_invoice)

    batch = print_batch_build(on_date=DAY, actor="test")

    assert (batch.letters, batch.pages) == (3, 6)
    assert batch.pdf_path == outbox / "print" / "2025-04-01" / "letters-2025-04-01.pdf"
    pages = page_texts(batch.pdf_path)
    footers = [
        line.split("Seite")[-1].strip()
        for page in pages
        for line in page.splitlines()
        if "Seite" in line
    ]
    assert footers == ["1/1", "1/2", "2/2", "1/3", "2/3", "3/3"]
    # Each letter's pages follow one another: its debtor heads its first page.
    assert "Büro 1 GmbH" in pages[0]
    assert "Büro 2 GmbH" in pages[1] and "Büro 3 GmbH" in pages[3]

    rows = manifest_rows(batch.manifest_path)
    assert [
        (r["sequence"], r["message_id"], r["first_page"], r["pages"], r["sheets"])
        for r in rows
    ] == [
        ("1", str(messages[0].pk), "1", "1", "1"),
        ("2", str(messages[1].pk), "2", "2", "2"),
        ("3", str(messages[2].pk), "4", "3", "3"),
    ]
    assert rows[2] == {
        **rows[2],
        "customer_external_id": "C-B3",
        "recipient_name": "Büro 3 GmbH",
        "postcode": "50003",
        "city": "Köln",
        "country": "DE",
        "claims": "44",
        # 44 claims of 10.00 at the first step, a reminder without a fee.
        "total": "440.00",
        "currency": "EUR",
    }


def test_running_the_batch_again_gives_the_same_files(creditor, make_invoice, outbox):
    """A second run for the same date rewrites the same two files, byte for byte."""
    send_letters(creditor, make_invoice)
    first = print_batch_build(on_date=DAY, actor="test")
    pdf, manifest = first.pdf_path.read_bytes(), first.manifest_path.read_bytes()

    again = print_batch_build(on_date=DAY, actor="test")

    assert again == first
    assert again.pdf_path.read_bytes() == pdf
    assert again.manifest_path.read_bytes() == manifest
    # Readable by the print service, not only by the worker's user.
    assert again.pdf_path.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in again.pdf_path.parent.iterdir()) == [
        "letters-2025-04-01.pdf",
        "manifest-2025-04-01.csv",
    ]


def test_the_date_is_the_creditors_local_date(creditor, make_invoice, outbox):
    """23:30 in Berlin is still that day; 00:30 the next morning is not."""
    late, after_midnight, other = send_letters(
        creditor, make_invoice, sent_at=datetime(2025, 4, 1, 23, 30, tzinfo=BERLIN)
    )
    Message.objects.filter(pk=after_midnight.pk).update(
        sent_at=datetime(2025, 4, 2, 0, 30, tzinfo=BERLIN)
    )
    Message.objects.filter(pk=other.pk).update(status=Message.Status.FAILED)

    day = print_batch_build(on_date=DAY, actor="test")
    next_day = print_batch_build(on_date=DAY + timedelta(days=1), actor="test")

    assert [r["message_id"] for r in manifest_rows(day.manifest_path)] == [str(late.pk)]
    assert [r["message_id"] for r in manifest_rows(next_day.manifest_path)] == [
        str(after_midnight.pk)
    ]


def test_a_claim_left_out_at_sending_is_not_counted(alice, make_invoice, outbox):
    """A claim paid before sending is neither in the letter nor in the manifest."""
    paid = make_invoice(alice, "40.00", number="INV-PAID", due_on=date(2025, 2, 3))
    kept = make_invoice(alice, "70.00", number="INV-KEPT")
    alice.consent_letter = True
    alice.save()
    make_message(alice, [(paid, 1), (kept, 1)], channel="letter")
    payment_record(
        customer=alice,
        amount=Decimal("40.00"),
        currency="EUR",
        received_on=date(2025, 3, 31),
        actor="test",
        invoice=paid,
    )
    assert dispatch_due(now=NOW)["letter"] == {"sent": 1}
    Message.objects.update(sent_at=datetime(2025, 4, 1, 11, 0, tzinfo=BERLIN))

    batch = print_batch_build(on_date=DAY, actor="test")

    [row] = manifest_rows(batch.manifest_path)
    assert (row["claims"], row["total"], row["currency"]) == ("1", "70.00", "EUR")
    assert "INV-PAID" not in "".join(page_texts(batch.pdf_path))


def test_a_missing_letter_file_stops_the_batch_and_writes_nothing(
    creditor, make_invoice, outbox
):
    """A sent letter without its PDF is an error, not a silently shorter batch."""
    messages = send_letters(creditor, make_invoice)
    messages[1].refresh_from_db()
    (outbox / "letters").joinpath("2025-04-01", f"{messages[1].pk}.pdf").unlink()

    with pytest.raises(PrintBatchError, match=str(messages[1].pk)):
        print_batch_build(on_date=DAY, actor="test")

    assert not (outbox / "print").exists()


def test_the_command_writes_the_batch_of_a_date(creditor, make_invoice, outbox):
    """print_batch --date writes the files and names them; a bad date is refused."""
    from io import StringIO

    send_letters(creditor, make_invoice)
    out = StringIO()

    call_command("print_batch", "--date", "2025-04-01", stdout=out)

    assert "3 letters, 6 pages" in out.getvalue()
    assert (outbox / "print" / "2025-04-01" / "manifest-2025-04-01.csv").is_file()
    with pytest.raises(CommandError, match="not a date"):
        call_command("print_batch", "--date", "1.4.2025")
    quiet = StringIO()
    call_command("print_batch", "--date", "2025-03-01", stdout=quiet)
    assert "no letters" in quiet.getvalue()


def test_the_daily_schedule_prints_yesterdays_letters(creditor, make_invoice, outbox):
    """The scheduled task batches the letters of the day before today."""
    from django.conf import settings
    from django.utils import timezone
    from django_q.tasks import async_task, result

    yesterday = timezone.localdate() - timedelta(days=1)
    send_letters(
        creditor,
        make_invoice,
        sent_at=datetime.combine(yesterday, time(11, 0), BERLIN),
    )

    settings.Q_CLUSTER["sync"] = True
    try:
        summary = result(async_task("messaging.tasks.print_batch_daily", sync=True))
    finally:
        settings.Q_CLUSTER.pop("sync", None)

    assert summary == {"date": yesterday.isoformat(), "letters": 3, "pages": 6}
    assert (outbox / "print" / yesterday.isoformat()).is_dir()


def test_the_manifest_totals_what_the_letter_printed_after_a_part_payment(
    alice, make_invoice, outbox
):
    """A part payment between planning and sending lowers the letter's amount;
    the manifest shows that amount (as stored on the item), not the planned
    one."""
    from core.money import format_money
    from messaging.models import MessageItem

    alice.consent_letter = True
    alice.save()
    invoice = make_invoice(alice, "100.00")
    make_message(alice, [(invoice, 1)], channel="letter")
    [item] = MessageItem.objects.all()
    payment_record(
        customer=alice,
        amount=Decimal("30.00"),
        currency="EUR",
        received_on=date(2025, 3, 31),
        actor="test",
        invoice=invoice,
    )
    assert dispatch_due(now=NOW)["letter"] == {"sent": 1}
    Message.objects.update(sent_at=datetime(2025, 4, 1, 11, 0, tzinfo=BERLIN))

    batch = print_batch_build(on_date=DAY, actor="test")

    [row] = manifest_rows(batch.manifest_path)
    item.refresh_from_db()
    assert item.sent_amount == item.open_amount - Decimal("30.00")
    assert (row["claims"], row["currency"]) == ("1", "EUR")
    assert Decimal(row["total"]) == item.sent_amount
    text = " ".join(" ".join(page_texts(batch.pdf_path)).split())
    printed = " ".join(format_money(Decimal(row["total"]), "EUR", "de").split())
    assert f"Offen insgesamt {printed}" in text
    assert Decimal(row["total"]) < item.open_amount
