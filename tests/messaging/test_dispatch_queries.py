"""The queries a dispatch batch asks: a fixed few per batch, a bounded number
per message, however many messages the batch holds."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer
from messaging.services import dispatch_due

from .factories import SCHEDULED_AT, make_message

NOW = SCHEDULED_AT + timedelta(hours=1)
# Per batch: the sweep of interrupted sends, the due ids, the messages with
# creditor and decision, one template lookup per wording (two here).
PER_BATCH = 5
# Per message: claim, its claims and customer as of now, link, the two ledger
# reads of rendering, sent, sent amounts, delivery and its "sent" event; an
# e-mail also reads its steps' attachment choices.
PER_SMS = 9
PER_EMAIL = 10


def statements(captured) -> int:
    """Queries other than the savepoints of nested transactions, which a
    test's own transaction adds and a worker's autocommit connection has not."""
    return sum(
        1
        for query in captured
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    )


@pytest.mark.parametrize("per_channel", [2, 8])
def test_a_batch_asks_a_bounded_number_of_queries_per_message(
    alice, creditor, make_invoice, outbox, per_channel
):
    carla = Customer.objects.create(
        creditor=creditor,
        external_id="C-CARLA",
        name="Carla Conrad",
        phone="+4915112345678",
        email="carla@example.com",
        language="en",
        consent_sms=True,
    )
    for _ in range(per_channel):
        make_message(alice, [(make_invoice(alice, "10.00"), 1)])
        make_message(carla, [(make_invoice(carla, "10.00"), 1)], channel="sms")

    with CaptureQueriesContext(connection) as captured:
        result = dispatch_due(now=NOW)

    assert result["total"] == {"sent": 2 * per_channel}
    assert statements(captured.captured_queries) <= PER_BATCH + per_channel * (
        PER_SMS + PER_EMAIL
    )
