"""Time the dunning run's planning and the dispatch to the file backends.

Seeds N debtors with one overdue claim each (half reachable by SMS, half by
e-mail, or with `--letter-share` some by letter), runs the dunning run without
sending (`plan_only`), then dispatches the e-mails, the SMS and the letters,
each channel on its own, and reports messages per second and the queries each
message asked. Run it against a scratch database:
the run acts on every creditor.

    export DATABASE_URL=sqlite:////tmp/bench_dispatch.sqlite3
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py bench_dispatch --debtors 2000

The file backends write into a temporary folder that is removed afterwards
(or into `--outbox`).
"""

import json
import shutil
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from customers.models import Creditor, Customer
from dunning.run import run_dunning
from messaging.models import Message
from messaging.services import dispatch_due
from payments.models import Invoice
from payments.services import invoice_create

BENCH_CREDITOR = "Dispatch bench GmbH"
CHANNELS = ("email", "sms", "letter")


class Command(BaseCommand):
    help = "Seed N debtors, plan their reminders with the run, time the dispatch."

    def add_arguments(self, parser):
        parser.add_argument("--debtors", type=int, default=2000)
        parser.add_argument(
            "--sms-share",
            type=int,
            default=50,
            help="Percent of the debtors who prefer SMS (the rest get e-mail)",
        )
        parser.add_argument(
            "--letter-share",
            type=int,
            default=0,
            help="Percent of the debtors who prefer letters (taken from e-mail)",
        )
        parser.add_argument("--outbox", help="Keep the written files in this folder")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(
        self, *args, debtors, sms_share, letter_share, outbox, as_json, **options
    ):
        if debtors < 1 or min(sms_share, letter_share) < 0:
            raise CommandError("--debtors must be positive, the shares 0 to 100")
        if sms_share + letter_share > 100:
            raise CommandError("--sms-share and --letter-share add up to over 100")
        if Invoice.objects.exists() or Message.objects.exists():
            raise CommandError(
                "The database holds claims or messages already; the run would act "
                "on them. Use an empty scratch database (see the command's help)."
            )

        folder = Path(outbox) if outbox else Path(tempfile.mkdtemp(prefix="bench-"))
        try:
            with override_settings(
                EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
                EMAIL_FILE_PATH=folder / "email",
                SMS_BACKEND="messaging.backends.sms.FileSMSBackend",
                SMS_FILE_PATH=folder / "sms",
                LETTER_FILE_PATH=folder / "letters",
            ):
                result = self._bench(debtors, sms_share, letter_share)
        finally:
            if not outbox:
                shutil.rmtree(folder, ignore_errors=True)

        result["database"] = connection.vendor
        if as_json:
            self.stdout.write(json.dumps(result, sort_keys=True, default=str))
            return
        self.stdout.write(
            f"{connection.vendor}: {debtors} debtors seeded in "
            f"{result['seed_seconds']:.1f} s"
        )
        self.stdout.write(
            f"run (plan only): {result['planned']} messages in "
            f"{result['run_seconds']:.2f} s = {result['planned_per_second']:.0f}/s"
        )
        for channel in CHANNELS:
            figures = result["dispatch"].get(channel)
            if figures:
                self.stdout.write(
                    f"dispatch {channel}: {figures['sent']} sent of "
                    f"{figures['messages']} in {figures['seconds']:.2f} s = "
                    f"{figures['per_second']:.0f}/s, "
                    f"{figures['queries_per_message']} queries each"
                )

    def _bench(self, debtors: int, sms_share: int, letter_share: int) -> dict:
        started = time.monotonic()
        creditor = self._seed(debtors, sms_share, letter_share)
        seeded = time.monotonic()

        summary = run_dunning(
            actor="system:bench_dispatch",
            run_date=creditor.local_today(),
            plan_only=True,
        )
        ran = time.monotonic()
        planned = Message.objects.filter(status=Message.Status.PLANNED).count()

        # Every planned message is due a week from now, whatever send time
        # personalisation chose.
        later = timezone.now() + timedelta(days=7)
        dispatch = {}
        for channel in CHANNELS:
            ids = list(
                Message.objects.filter(
                    channel=channel, status=Message.Status.PLANNED
                ).values_list("pk", flat=True)
            )
            if not ids:
                continue
            # Recording the queries costs what DEBUG=True costs anyway.
            with CaptureQueriesContext(connection) as queries:
                begin = time.monotonic()
                counts = dispatch_due(now=later, message_ids=ids, actor="system:bench")
                seconds = time.monotonic() - begin
            dispatch[channel] = {
                "messages": len(ids),
                "sent": counts["total"].get("sent", 0),
                "seconds": round(seconds, 3),
                "per_second": round(len(ids) / seconds, 1),
                "queries": len(queries),
                "queries_per_message": round(len(queries) / len(ids), 1),
            }
        return {
            "debtors": debtors,
            "seed_seconds": round(seeded - started, 3),
            "planned": planned,
            "steps": summary.get("steps_taken"),
            "run_seconds": round(ran - seeded, 3),
            "planned_per_second": round(planned / max(ran - seeded, 1e-9), 1),
            "dispatch": dispatch,
        }

    def _seed(self, debtors: int, sms_share: int, letter_share: int) -> Creditor:
        creditor, _ = Creditor.objects.get_or_create(
            name=BENCH_CREDITOR,
            defaults={
                "legal_name": BENCH_CREDITOR,
                "street": "Friedrichstraße 100",
                "postcode": "10117",
                "city": "Berlin",
                "country": "DE",
                "time_zone": "Europe/Berlin",
                "email": "billing@bench.example",
                "iban": "DE89370400440532013000",
                "bic": "COBADEFFXXX",
            },
        )

        def channel(i: int) -> str:
            # Spread evenly: of the first i debtors about i × share / 100 get
            # SMS, and as many of the rest as the letter share gives letters.
            if i * sms_share // 100 > (i - 1) * sms_share // 100:
                return "sms"
            both = sms_share + letter_share
            letters = i * both // 100 - i * sms_share // 100
            before = (i - 1) * both // 100 - (i - 1) * sms_share // 100
            return "letter" if letters > before else "email"

        customers = Customer.objects.bulk_create(
            [
                Customer(
                    creditor=creditor,
                    external_id=f"BENCH-C-{i:06d}",
                    name=f"Debtor {i}",
                    email=f"debtor{i}@example.com",
                    phone=f"+49151{i:08d}",
                    street=f"Musterstraße {i % 120 + 1}",
                    postcode="10115",
                    city="Berlin",
                    country="DE",
                    language="de" if i % 3 else "en",
                    time_zone="Europe/Berlin",
                    consent_sms=channel(i) == "sms",
                    preferred_channel=channel(i),
                )
                for i in range(1, debtors + 1)
            ]
        )
        if connection.vendor == "sqlite":
            # bulk_create gives no ids on every SQLite version.
            customers = list(
                Customer.objects.filter(creditor=creditor).order_by("external_id")
            )
        due_on = creditor.local_today() - timedelta(days=5)
        for i, customer in enumerate(customers, start=1):
            invoice_create(
                creditor=creditor,
                customer=customer,
                external_id=f"BENCH-{i:06d}",
                number=f"BI-{i:08d}",
                currency="EUR",
                amount=Decimal(20 + i % 2000),
                issued_on=due_on - timedelta(days=30),
                due_on=due_on,
                actor="system:bench_dispatch",
            )
        return creditor
