"""What e-mail attachments cost at dispatch: N e-mails without, then with PDFs.

Run against a throwaway database (docs/ATTACHMENTS.md):

    DATABASE_URL=sqlite:////tmp/bench_attachments.sqlite3 \\
        .venv/bin/python -m tests.messaging.bench_attachments 50
"""

import os
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal


def main(count: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ.setdefault("OUTBOX_DIR", tempfile.mkdtemp())
    import django

    django.setup()
    from django.core import mail
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    mail.outbox = []

    from customers.models import Creditor, Customer
    from messaging.services import dispatch_due
    from payments.services import invoice_create
    from tests.messaging.factories import SCHEDULED_AT, make_message, standard_step

    stamp = str(time.time_ns())
    creditor = Creditor.objects.create(
        name=f"Bench {stamp}", street="Hauptstraße 1", postcode="10115", city="Berlin"
    )

    def messages(label: str) -> list[int]:
        ids = []
        for n in range(count):
            customer = Customer.objects.create(
                creditor=creditor,
                external_id=f"{label}-{n}",
                kind="business",
                name=f"Customer {n} GmbH",
                email=f"c{n}@example.com",
                street="Weg 1",
                postcode="20457",
                city="Hamburg",
                language="en",
            )
            invoice = invoice_create(
                creditor=creditor,
                customer=customer,
                external_id=f"{label}-{n}",
                number=f"{label}-{n}",
                currency="EUR",
                amount=Decimal("123.45"),
                issued_on=date(2025, 2, 1),
                due_on=date(2025, 3, 3),
                actor="bench",
            )
            ids.append(make_message(customer, [(invoice, 1)]).pk)
        return ids

    def timed(label: str, ids: list[int]) -> None:
        mail.outbox = []
        started = time.perf_counter()
        dispatch_due(message_ids=ids, now=SCHEDULED_AT + timedelta(hours=1))
        seconds = time.perf_counter() - started
        size = sum(len(c) for m in mail.outbox for _n, c, _t in m.attachments)
        print(
            f"{label}: {len(mail.outbox)} e-mails in {seconds:.2f} s "
            f"({1000 * seconds / max(len(mail.outbox), 1):.0f} ms each), "
            f"attachments {size / max(len(mail.outbox), 1) / 1024:.1f} KiB each"
        )

    step = standard_step(1)
    without = messages("plain")
    timed("without attachments", without)
    step.attach_letter = step.attach_invoices = True
    step.save()
    try:
        timed("letter + invoice copy", messages("pdf"))
    finally:
        step.attach_letter = step.attach_invoices = False
        step.save()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
