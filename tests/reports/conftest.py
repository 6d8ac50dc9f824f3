"""A small portfolio for March 2025 whose figures are computed by hand.

EUR (Alice, consumer in DE, born 1985):
- A 1,000.00 due 20 Feb, case opened 2 Mar, 400.00 paid 10 Mar, 100.00 on 5 Apr;
- B 200.00 issued 1 Mar, due 5 Mar, case opened 6 Mar, paid in full 15 Mar;
- E 50.00 due 10 Jan, no case, paid in full 20 Mar;
- F 80.00 due 1 Dec 2024, no case, open.
GBP (Bob Ltd, business in GB, no birth year):
- C 500.00 due 10 Mar, case opened 11 Mar, credit note 100.00 on 12 Mar;
- D 300.00 issued 16 Mar, due 15 Apr, open;
- G 120.00 due 1 Mar, no case, paid in full 4 Mar.
Messages sent in March: an e-mail for B (opened, clicked, page visited, paid,
variant b), an SMS for A (opened only), a letter for C (firm, nothing seen);
a failed e-mail for C's second step is not counted.
"""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from delivery.models import DeliveryEvent
from payments.services import credit_note_post, payment_record
from personalisation.models import Decision
from portal.models import EngagementEvent
from portal.services import link_create
from tests.admin.helpers import open_case, send_message, take_step

PERIOD = {"date_from": "2025-03-01", "date_to": "2025-03-31"}


def pay(invoice, amount: str, on: date):
    return payment_record(
        customer=invoice.customer,
        amount=Decimal(amount),
        currency=invoice.currency,
        received_on=on,
        invoice=invoice,
        actor="test",
    )


def event(message, kind: str, day: int):
    return DeliveryEvent.objects.create(
        message=message,
        kind=kind,
        provider="test",
        occurred_at=datetime(2025, 3, day, 9, tzinfo=UTC),
    )


@pytest.fixture
def portfolio(alice, bob_ltd, make_invoice):
    claims = {
        "A": make_invoice(alice, "1000.00", date(2025, 2, 20), number="A"),
        "B": make_invoice(
            alice, "200.00", date(2025, 3, 5), number="B", issued_on=date(2025, 3, 1)
        ),
        "E": make_invoice(alice, "50.00", date(2025, 1, 10), number="E"),
        "F": make_invoice(alice, "80.00", date(2024, 12, 1), number="F"),
        "C": make_invoice(bob_ltd, "500.00", date(2025, 3, 10), "GBP", number="C"),
        "D": make_invoice(
            bob_ltd,
            "300.00",
            date(2025, 4, 15),
            "GBP",
            number="D",
            issued_on=date(2025, 3, 16),
        ),
        "G": make_invoice(bob_ltd, "120.00", date(2025, 3, 1), "GBP", number="G"),
    }
    case_a = open_case(claims["A"], opened_on=date(2025, 3, 2))
    case_b = open_case(claims["B"], opened_on=date(2025, 3, 6))
    case_c = open_case(claims["C"], opened_on=date(2025, 3, 11))

    sms = send_message(take_step(case_a, 1, date(2025, 3, 2)), channel="sms")
    email = send_message(take_step(case_b, 1, date(2025, 3, 6)))
    letter = send_message(take_step(case_c, 1, date(2025, 3, 11)), channel="letter")
    send_message(take_step(case_c, 2, date(2025, 3, 25)), status="failed")
    Decision.objects.filter(message=email).update(variant="b")
    type(letter).objects.filter(pk=letter.pk).update(tone="firm")

    event(sms, DeliveryEvent.Kind.OPENED, 2)
    event(email, DeliveryEvent.Kind.OPENED, 6)
    event(email, DeliveryEvent.Kind.CLICKED, 6)
    link, _ = link_create(customer=alice, message=email)
    EngagementEvent.objects.create(
        customer=alice, link=link, kind=EngagementEvent.Kind.VISIT
    )

    pay(claims["A"], "400.00", date(2025, 3, 10))
    pay(claims["A"], "100.00", date(2025, 4, 5))
    pay(claims["B"], "200.00", date(2025, 3, 15))
    pay(claims["E"], "50.00", date(2025, 3, 20))
    pay(claims["G"], "120.00", date(2025, 3, 4))
    credit_note_post(
        invoice=claims["C"],
        external_id="CN-1",
        amount=Decimal("100.00"),
        currency="GBP",
        issued_on=date(2025, 3, 12),
        actor="test",
    )
    for claim in claims.values():
        claim.refresh_from_db()
    return claims
