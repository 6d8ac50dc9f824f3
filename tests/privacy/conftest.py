"""A debtor with personal data in every app: claims, a payment, a letter and an
e-mail sent by the run, delivery events, a reply, portal events, a decision,
webhook copies."""

import json
from datetime import UTC, date, datetime
from io import StringIO

import pytest
from django.core.management import call_command

ZORA = {
    "name": "Zora Quintessa-Vell",
    "email": "zora.vell@example.org",
    "phone": "+4915112345678",
    "street": "Amselgasse 17",
    "postcode": "04109",
    "city": "Leipzig",
    "birth_year": 1937,
}


def run(on: str) -> dict:
    out = StringIO()
    call_command("run_dunning", "--date", on, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def zora(creditor):
    from customers.models import Customer

    return Customer.objects.create(
        creditor=creditor,
        external_id="C-0815",
        kind="consumer",
        country="DE",
        subdivision="SN",
        language="de",
        time_zone="Europe/Berlin",
        birth_date=date(1937, 5, 6),
        consent_email=False,
        consent_letter=True,
        **ZORA,
    )


@pytest.fixture
def webhook_client(creditor):
    from api.models import ApiClient, EventType, Subscription

    client = ApiClient.objects.create(name="ERP", token_hash="h" * 64)
    client.creditors.add(creditor)
    Subscription.objects.create(
        client=client, url="http://127.0.0.1:9/hook", event_types=EventType.values
    )
    return client


@pytest.fixture
def zora_everywhere(zora, make_invoice, webhook_client):
    """Two claims dunned by letter, then by e-mail, with everything that follows;
    both claims are paid at the end."""
    from api.events import emit
    from delivery.services import event_record
    from messaging.models import Message
    from payments.services import payment_record
    from portal.services import link_create
    from portal.ways_out import already_paid_report
    from portal.ways_out import event_record as portal_event
    from replies.services import Inbound, reply_receive

    first = make_invoice(zora, amount="100.00", due_on=date(2025, 3, 3))
    second = make_invoice(zora, amount="250.00", due_on=date(2025, 3, 3))
    run("2025-03-10")
    zora.consent_email = True
    zora.save(update_fields=["consent_email"])
    run("2025-04-01")

    letter = Message.objects.get(customer=zora, channel="letter", status="sent")
    email = Message.objects.get(customer=zora, channel="email", status="sent")
    event_record(
        message_id=email.pk,
        kind="delivered",
        provider="mailgun",
        provider_event_id="ev-1",
        occurred_at=datetime(2025, 4, 1, 9, 5, tzinfo=UTC),
        actor="system:test",
        detail={"recipient": ZORA["email"], "envelope": {"to": ZORA["email"]}},
    )
    reply_receive(
        inbound=Inbound(
            channel="email",
            provider="imap",
            provider_message_id="<r1@example.org>",
            sender=ZORA["email"],
            subject=f"Re: Mahnung {first.number}",
            text=f"Ich habe bezahlt. {ZORA['name']}, {ZORA['street']}, "
            f"{ZORA['postcode']} {ZORA['city']}, Tel. {ZORA['phone']}",
            received_at=datetime(2025, 4, 2, 8, 0, tzinfo=UTC),
            raw=f"From: {ZORA['name']} <{ZORA['email']}>\n\nIch habe bezahlt.",
        )
    )
    link, _token = link_create(customer=zora, message=email)
    portal_event(link=link, kind="visited", contact=ZORA["email"])
    already_paid_report(
        link=link,
        invoice_id=second.pk,
        note=f"Paid by {ZORA['name']}, born {ZORA['birth_year']}",
        actor="debtor",
    )
    emit("payment.received", zora.creditor, {"payer": ZORA["name"]})
    for invoice in (first, second):
        invoice.refresh_from_db()
        payment_record(
            customer=zora,
            amount=invoice.open_amount,
            currency="EUR",
            received_on=date(2025, 4, 7),
            actor="test",
            invoice=invoice,
            reference=f"{ZORA['name']} {invoice.number}",
        )
    zora.refresh_from_db()
    return {"letter": letter, "email": email, "claims": [first, second]}
