"""The scheduled dispatch sends a backlog of letters on two django-q2 workers
of a real `qcluster` (DISPATCH_WORKERS), each letter exactly once."""

import pytest
from django_q.models import OrmQ, Task
from django_q.tasks import async_task

from messaging.models import Message
from portal.models import PortalLink
from tests.messaging.factories import make_message

from .conftest import kill, manage, postgresql_only, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

LETTERS = 40


def test_the_scheduled_dispatch_shares_a_backlog_with_its_helper(
    standard_plan, alice, bob_ltd, make_invoice, outbox, tmp_path
):
    postgresql_only()
    messages = []
    for n in range(LETTERS):
        customer = alice if n % 2 else bob_ltd
        invoice = make_invoice(customer, "80.00", number=f"R-{n}")
        messages.append(make_message(customer, [(invoice, 2)], channel="letter"))
    # As the "messages-dispatch" schedule queues it.
    async_task("messaging.tasks.dispatch_due")
    log = tmp_path / "qcluster.log"

    cluster = manage(
        outbox,
        "qcluster",
        log=log,
        Q_WORKERS="2",
        DISPATCH_WORKERS="2",
        DISPATCH_BATCH_SIZE="5",
    )
    try:
        wait_until(
            lambda: (
                Task.objects.filter(func="messaging.tasks.dispatch_help").exists()
                and Task.objects.count() == 2
            ),
            timeout=180,
            every=0.2,
            what=f"both dispatch tasks to finish (log: {log.read_text()[-2000:]})",
        )
    finally:
        kill(cluster)

    tasks = {task.func: task for task in Task.objects.all()}
    assert {func: task.success for func, task in tasks.items()} == {
        "messaging.tasks.dispatch_due": True,
        "messaging.tasks.dispatch_help": True,
    }
    sent = {func: task.result["total"].get("sent", 0) for func, task in tasks.items()}
    # Both sent some of the letters, together each one once.
    assert all(count > 0 for count in sent.values()), sent
    assert sum(sent.values()) == LETTERS
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}
    assert PortalLink.objects.filter(message__in=messages).count() == LETTERS
    assert len(list((outbox / "letters").rglob("*.pdf"))) == LETTERS
    assert not OrmQ.objects.exists()
