"""dispatch_due: claim, re-check, render with current amounts, send once."""

import email
import email.policy
import json
import re
import subprocess
import threading
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.mail.backends import filebased
from django.db import connection

from customers.models import Customer
from dunning.models import Case
from messaging import services
from messaging.models import Message
from messaging.services import dispatch_due
from payments.services import payment_record
from portal.models import PortalLink
from portal.services import link_resolve

from .factories import SCHEDULED_AT, make_message

NOW = SCHEDULED_AT + timedelta(hours=1)


def outbox_emails(outbox):
    """Every e-mail the file backend wrote, parsed."""
    found = []
    for path in sorted((outbox / "email").glob("*.log")):
        separator = b"\n" + b"-" * 79 + b"\n"
        for raw in path.read_bytes().split(separator):
            if raw.strip():
                found.append(email.message_from_bytes(raw, policy=email.policy.default))
    return found


def plain_text(mail) -> str:
    for part in mail.walk():
        if part.get_content_type() == "text/plain":
            return part.get_content()
    raise AssertionError("no text part")


def html_text(mail) -> str:
    for part in mail.walk():
        if part.get_content_type() == "text/html":
            return part.get_content()
    raise AssertionError("no html part")


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


@pytest.fixture
def carla(creditor):
    """A consumer in Hamburg who agreed to SMS and WhatsApp."""
    return Customer.objects.create(
        creditor=creditor,
        external_id="C-CARLA",
        name="Carla Conrad",
        phone="+4915112345678",
        email="carla@example.com",
        street="Elbchaussee 9",
        postcode="22763",
        city="Hamburg",
        language="en",
        consent_sms=True,
        consent_whatsapp=True,
    )


@pytest.fixture
def kenji(creditor):
    """A consumer who is invoiced in yen."""
    return Customer.objects.create(
        creditor=creditor,
        external_id="C-KENJI",
        name="Kenji Kato",
        email="kenji@example.com",
        street="1-1 Marunouchi",
        postcode="100-0005",
        city="Tokyo",
        country="JP",
        language="en",
        time_zone="Asia/Tokyo",
    )


def test_email_lists_each_claim_with_current_amount_and_link(
    alice, make_invoice, outbox
):
    """An e-mail lists every claim at its level and amount, with a working link."""
    first = make_invoice(alice, "100.00", number="INV-A1")
    second = make_invoice(alice, "250.00", number="INV-A2")
    message = make_message(alice, [(first, 1), (second, 2)], channel="email")

    result = dispatch_due(now=NOW)

    assert result == {"email": {"sent": 1}, "total": {"sent": 1}}
    [mail] = outbox_emails(outbox)
    assert mail["To"] == "alice@example.com"
    assert "Acme GmbH" in mail["From"]
    text = plain_text(mail)
    assert "INV-A1" in text and "INV-A2" in text
    # Alice reads German; the second claim carries the first notice's fee.
    assert "100,00\xa0€" in text
    assert "252,50\xa0€" in text
    assert "352,50\xa0€" in text
    assert "Stufe 1" in text and "Stufe 2" in text
    assert "DE89370400440532013000" in text
    assert "252,50\xa0€" in html_text(mail)

    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.sent_at is not None
    assert message.recipient == "alice@example.com"
    assert message.subject == mail["Subject"]
    assert message.body == text
    link_line = next(
        line for line in text.splitlines() if line.startswith("http://testserver/p/")
    )
    link = link_resolve(token_of(link_line))
    assert link is not None
    assert link.customer == alice
    assert link.message == message


def test_sms_lands_in_the_jsonl_outbox_short_and_with_link(carla, make_invoice, outbox):
    """An SMS is one JSON line, at most 320 characters, with amount and link."""
    invoice = make_invoice(carla, "80.00", number="INV-C1")
    message = make_message(carla, [(invoice, 1)], channel="sms", tone="empathetic")

    result = dispatch_due(now=NOW)

    assert result["sms"] == {"sent": 1}
    [path] = (outbox / "sms").glob("*.jsonl")
    [line] = path.read_text().splitlines()
    sms = json.loads(line)
    assert sms["to"] == "+4915112345678"
    assert len(sms["text"]) <= 320
    assert "INV-C1" in sms["text"]
    assert "€80.00" in sms["text"]
    assert "http://testserver/p/" in sms["text"]
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.body == sms["text"]
    assert message.recipient == "+4915112345678"


def test_whatsapp_lands_in_its_own_file(carla, make_invoice, outbox):
    """WhatsApp messages go through the short-message interface to their own file."""
    invoice = make_invoice(carla, "80.00", number="INV-C2")
    make_message(carla, [(invoice, 2)], channel="whatsapp")

    dispatch_due(now=NOW)

    [path] = (outbox / "sms").glob("*.jsonl")
    assert path.name.startswith("whatsapp-")
    sms = json.loads(path.read_text())
    assert sms["channel"] == "whatsapp"
    assert "€82.50" in sms["text"]


def test_letter_pdf_holds_each_claim_at_its_level(bob_ltd, make_invoice, outbox):
    """A letter PDF lists two claims at different levels with their open amounts."""
    first = make_invoice(bob_ltd, "1200.00", number="INV-B1", due_on=date(2025, 1, 6))
    second = make_invoice(bob_ltd, "99.90", number="INV-B2")
    message = make_message(
        bob_ltd, [(first, 4), (second, 2)], channel="letter", tone="firm"
    )

    result = dispatch_due(now=NOW)

    assert result["letter"] == {"sent": 1}
    message.refresh_from_db()
    path = outbox / "letters" / "2025-04-01" / f"{message.pk}.pdf"
    assert message.file_path == str(path)
    assert path.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True
    ).stdout.decode()
    assert "INV-B1" in text and "INV-B2" in text
    # Final notice: 1,200.00 plus its 10.00 fee; first notice: 99.90 plus 2.50.
    assert "€1,210.00" in text
    assert "€102.40" in text
    assert "€1,312.40" in text
    assert "Final notice" in text and "Dunning notice" in text
    assert "Page 1/1" in text
    assert "Bob Ltd" in text and "EC2V 8AU" in text
    assert "COBADEFFXXX" in text
    # The deadline: ten days (the steps' payment days) after the letter's date.
    assert "April 11, 2025" in text
    link = PortalLink.objects.get(message=message)
    assert link.customer == bob_ltd
    assert "http://testserver/p/" in text
    assert "INV-B1" in message.body and "€1,312.40" in message.body


def test_letter_address_sits_in_the_envelope_window(bob_ltd, make_invoice, outbox):
    """The recipient's address is printed inside the DIN 5008 window field."""
    invoice = make_invoice(bob_ltd, "50.00")
    message = make_message(bob_ltd, [(invoice, 1)], channel="letter")
    dispatch_due(now=NOW)
    message.refresh_from_db()

    boxes = subprocess.run(
        ["pdftotext", "-bbox", message.file_path, "-"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    mm = 72 / 25.4
    where = defaultdict(list)
    for x_min, y_min, word in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]+)</word>', boxes
    ):
        where[word].append((float(x_min) / mm, float(y_min) / mm))
    # The field is 20-105 mm from the left and 45-90 mm from the top; its top
    # 17.7 mm hold the return address, and text keeps 5 mm from the field's edge.
    for word in ("Bob", "King", "EC2V"):
        [(x, y)] = where[word]
        assert 24.9 <= x <= 105, (word, x)
        assert 45 + 17.7 <= y <= 90, (word, y)
    # The return address, once in the letterhead and once above the recipient.
    assert any(24.9 <= x and 45 <= y <= 45 + 17.7 for x, y in where["Handels"])


def test_yen_amounts_have_no_decimals(kenji, creditor, make_invoice, outbox):
    """A JPY claim shows ¥1,935, never with minor units."""
    creditor.minimum_amount = Decimal("0")
    creditor.save()
    invoice = make_invoice(kenji, "1935", currency="JPY", number="INV-JP1")
    make_message(kenji, [(invoice, 1)], channel="email")

    dispatch_due(now=NOW)

    [mail] = outbox_emails(outbox)
    text = plain_text(mail)
    assert "¥1,935" in text
    assert "¥1,935.00" not in text
    assert "¥1,935" in html_text(mail)


def test_claim_paid_after_planning_cancels_the_message(alice, make_invoice, outbox):
    """A claim paid between planning and sending gets no reminder."""
    invoice = make_invoice(alice, "100.00")
    message = make_message(alice, [(invoice, 1)], channel="email")
    payment_record(
        customer=alice,
        amount=Decimal("100.00"),
        currency="EUR",
        received_on=date(2025, 3, 31),
        actor="test",
    )

    result = dispatch_due(now=NOW)

    assert result == {"email": {"cancelled": 1}, "total": {"cancelled": 1}}
    message.refresh_from_db()
    assert message.status == Message.Status.CANCELLED
    assert message.status_reason == "paid"
    assert message.sent_at is None
    assert outbox_emails(outbox) == []
    assert not PortalLink.objects.filter(message=message).exists()


@pytest.mark.parametrize(
    ("transition", "reason"), [("dispute", "disputed"), ("pause", "paused")]
)
def test_disputed_or_paused_claim_is_dropped(
    alice, make_invoice, outbox, transition, reason
):
    """A disputed or paused claim is left out; the other claims still go out."""
    kept = make_invoice(alice, "100.00", number="INV-KEEP")
    stopped = make_invoice(alice, "70.00", number="INV-STOP")
    message = make_message(alice, [(kept, 1), (stopped, 1)], channel="email")
    case = Case.objects.get(invoice=stopped)
    getattr(case, transition)()
    case.save()

    dispatch_due(now=NOW)

    [mail] = outbox_emails(outbox)
    text = plain_text(mail)
    assert "INV-KEEP" in text
    assert "INV-STOP" not in text
    assert "70,00" not in text
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    assert message.status_reason == f"not listed: INV-STOP ({reason})"


def test_only_disputed_claims_cancel_the_message(alice, make_invoice, outbox):
    """A message whose every claim is disputed is cancelled with the reason."""
    invoice = make_invoice(alice, "100.00")
    message = make_message(alice, [(invoice, 1)], channel="email")
    case = Case.objects.get(invoice=invoice)
    case.dispute()
    case.save()

    dispatch_due(now=NOW)

    message.refresh_from_db()
    assert message.status == Message.Status.CANCELLED
    assert message.status_reason == "disputed"
    assert outbox_emails(outbox) == []


def test_claim_below_minimum_is_not_sent(alice, creditor, make_invoice, outbox):
    """A claim whose open amount fell below the creditor's minimum gets no message."""
    invoice = make_invoice(alice, "100.00")
    message = make_message(alice, [(invoice, 1)], channel="email")
    payment_record(
        customer=alice,
        amount=Decimal("95.00"),
        currency="EUR",
        received_on=date(2025, 3, 31),
        actor="test",
    )
    creditor.minimum_amount = Decimal("10")
    creditor.save()

    dispatch_due(now=NOW)

    message.refresh_from_db()
    assert message.status == Message.Status.CANCELLED
    assert message.status_reason == "below minimum"


def test_messages_not_yet_due_wait(alice, make_invoice, outbox):
    """A message scheduled later is not sent before its time."""
    invoice = make_invoice(alice, "100.00")
    message = make_message(alice, [(invoice, 1)], scheduled_at=NOW + timedelta(hours=3))

    assert dispatch_due(now=NOW) == {"total": {}}
    message.refresh_from_db()
    assert message.status == Message.Status.PLANNED

    assert dispatch_due(now=NOW + timedelta(hours=3))["total"] == {"sent": 1}


def test_second_dispatch_sends_nothing_new(alice, bob_ltd, make_invoice, outbox):
    """Running dispatch again after a batch sends nothing a second time."""
    make_message(alice, [(make_invoice(alice, "10.00"), 1)], channel="email")
    make_message(bob_ltd, [(make_invoice(bob_ltd, "20.00"), 1)], channel="letter")

    first = dispatch_due(now=NOW)
    second = dispatch_due(now=NOW)

    assert first["total"] == {"sent": 2}
    assert second == {"total": {}}
    assert len(outbox_emails(outbox)) == 1
    assert len(list((outbox / "letters").rglob("*.pdf"))) == 1
    assert PortalLink.objects.count() == 2


def test_same_ids_twice_never_duplicate(alice, make_invoice, outbox, monkeypatch):
    """A second worker on the same ids, even while the first sends, sends nothing."""
    message = make_message(alice, [(make_invoice(alice, "10.00"), 1)])
    nested = []
    deliver = services.deliver

    def deliver_while_another_worker_runs(message, **kwargs):
        # The second worker starts while the first is handing the message over.
        nested.append(dispatch_due(now=NOW, message_ids=[message.pk]))
        return deliver(message, **kwargs)

    monkeypatch.setattr(services, "deliver", deliver_while_another_worker_runs)
    first = dispatch_due(now=NOW, message_ids=[message.pk])
    monkeypatch.undo()
    again = dispatch_due(now=NOW, message_ids=[message.pk])

    assert first["total"] == {"sent": 1}
    assert nested == [{"total": {}}]
    assert again == {"total": {}}
    assert len(outbox_emails(outbox)) == 1


def test_given_ids_are_sent_regardless_of_time(alice, make_invoice, outbox):
    """Named messages are sent now, even if scheduled later; others wait."""
    early = make_message(
        alice, [(make_invoice(alice, "10.00"), 1)], scheduled_at=NOW + timedelta(days=1)
    )
    other = make_message(alice, [(make_invoice(alice, "20.00"), 1)])

    result = dispatch_due(now=NOW, message_ids=[early.pk])

    assert result["total"] == {"sent": 1}
    other.refresh_from_db()
    assert other.status == Message.Status.PLANNED


def test_backend_failure_marks_the_message_failed(
    alice, make_invoice, outbox, settings, caplog
):
    """A backend that fails on the last attempt leaves the message failed and
    its link revoked."""
    settings.EMAIL_BACKEND = "tests.messaging.test_services.BrokenEmailBackend"
    settings.DISPATCH_MAX_ATTEMPTS = 1
    message = make_message(alice, [(make_invoice(alice, "10.00"), 1)])

    result = dispatch_due(now=NOW)

    assert result["total"] == {"failed": 1}
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert message.status_reason == (
        "ConnectionRefusedError: connection refused (after 1 attempt)"
    )
    link = PortalLink.objects.get(message=message)
    assert link.revoked_at is not None
    assert any(record.exc_info for record in caplog.records)
    assert "alice@example.com" not in caplog.text
    assert "Alice" not in caplog.text


class BrokenEmailBackend:
    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("connection refused")


class FlakyEmailBackend(filebased.EmailBackend):
    """Its first connection breaks; later ones work."""

    connections = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        type(self).connections += 1
        self.broken = type(self).connections == 1

    def send_messages(self, messages):
        if self.broken:
            raise OSError("connection reset")
        return super().send_messages(messages)


def test_failure_does_not_break_the_rest_of_the_batch(
    alice, make_invoice, outbox, settings, monkeypatch
):
    """After a failed e-mail the batch opens a new connection for the next one;
    the failed one waits for its retry."""
    settings.EMAIL_BACKEND = "tests.messaging.test_services.FlakyEmailBackend"
    monkeypatch.setattr(FlakyEmailBackend, "connections", 0)
    first = make_message(alice, [(make_invoice(alice, "10.00"), 1)])
    second = make_message(alice, [(make_invoice(alice, "20.00"), 1)])

    result = dispatch_due(now=NOW)

    assert result["email"] == {"retried": 1, "sent": 1}
    statuses = dict(
        Message.objects.filter(pk__in=[first.pk, second.pk]).values_list("pk", "status")
    )
    assert statuses == {first.pk: "planned", second.pk: "sent"}
    assert len(outbox_emails(outbox)) == 1


def test_withdrawn_consent_cancels_the_message(carla, make_invoice, outbox):
    """A debtor who withdrew consent for the channel gets nothing there."""
    message = make_message(carla, [(make_invoice(carla, "10.00"), 1)], channel="sms")
    Customer.objects.filter(pk=carla.pk).update(consent_sms=False)

    dispatch_due(now=NOW)

    message.refresh_from_db()
    assert message.status == Message.Status.CANCELLED
    assert not (outbox / "sms").exists()


def test_counts_per_channel_and_limit(alice, carla, make_invoice, outbox):
    """The result counts per channel and status; a limit caps the batch."""
    make_message(alice, [(make_invoice(alice, "10.00"), 1)], channel="email")
    make_message(carla, [(make_invoice(carla, "10.00"), 1)], channel="sms")
    paid = make_invoice(carla, "30.00")
    make_message(carla, [(paid, 1)], channel="email")
    Case.objects.filter(invoice=paid).first()
    payment_record(
        customer=carla,
        amount=Decimal("30.00"),
        currency="EUR",
        received_on=date(2025, 3, 31),
        actor="test",
        invoice=paid,
    )

    assert dispatch_due(now=NOW, limit=1)["total"] == {"sent": 1}
    rest = dispatch_due(now=NOW)

    assert rest == {
        "sms": {"sent": 1},
        "email": {"cancelled": 1},
        "total": {"sent": 1, "cancelled": 1},
    }


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_send_each_message_once(
    alice, make_invoice, outbox, standard_plan
):
    """Workers racing over the same messages send each of them exactly once."""
    if connection.vendor == "sqlite":
        # The in-memory test database locks whole tables and fails at once
        # instead of waiting; the interleaving test above covers SQLite.
        pytest.skip("needs a database server for real concurrency")
    messages = [
        make_message(alice, [(make_invoice(alice, "10.00"), 1)]) for _ in range(6)
    ]
    ids = [message.pk for message in messages]
    start = threading.Barrier(4)
    results = []

    def worker():
        try:
            start.wait()
            results.append(dispatch_due(now=NOW, message_ids=ids))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(r["total"].get("sent", 0) for r in results) == 6
    assert len(outbox_emails(outbox)) == 6
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}
    assert PortalLink.objects.count() == 6


@pytest.mark.parametrize(
    "workers, due, queued", [(1, 5, 0), (3, 4, 0), (3, 5, 2), (2, 5, 1)]
)
def test_more_dispatch_tasks_are_queued_only_for_more_than_a_batch(
    settings, alice, make_invoice, workers, due, queued
):
    """DISPATCH_WORKERS - 1 helpers for a backlog above DISPATCH_BATCH_SIZE,
    none for a batch or less; each helper is told the scheduled task's time."""
    from django_q.models import OrmQ

    settings.DISPATCH_WORKERS, settings.DISPATCH_BATCH_SIZE = workers, 4
    for _ in range(due):
        make_message(alice, [(make_invoice(alice, "10.00"), 1)])
    # Planned, but not due yet: not part of the backlog.
    make_message(
        alice,
        [(make_invoice(alice, "10.00"), 1)],
        scheduled_at=NOW + timedelta(days=1),
    )

    assert services.dispatch_helpers_queue(now=NOW) == queued

    tasks = [row.task for row in OrmQ.objects.all()]
    assert [(t["func"], t["args"]) for t in tasks] == [
        ("messaging.tasks.dispatch_help", (NOW.isoformat(),))
    ] * queued
