"""Time the results dashboard on the claims `bench_admin` seeded (PostgreSQL).

On top of `bench_admin`'s claims and cases this adds, once, what the dashboard
reads and that seed leaves out: for one case in four a step taken, a decision, a
sent message and its item; an opening for one message in three and a click for
one in nine; the payment rows of the paid claims. Then the page is requested as
a dunning manager, once to warm up and `--repeat` times; the median is reported.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/dunning_bench
    .venv/bin/python manage.py bench_admin --claims 1000000 --repeat 1
    .venv/bin/python manage.py bench_reports --repeat 5
"""

import statistics
import time

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.roles import MANAGER
from delivery.models import DeliveryEvent
from dunning.models import Case, CaseStep
from dunning.seeding import BENCH_CREDITOR, insert_select
from messaging.models import Message, MessageItem
from payments.models import Invoice, LedgerEntry
from personalisation.models import Decision

ACTOR = "system:bench-reports"
BENCH_USER = "bench-manager"


def _table(model) -> str:
    return model._meta.db_table


class Command(BaseCommand):
    help = "Seed messages and payments on the bench claims, time the results page."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=5)

    def handle(self, *args, repeat, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark needs PostgreSQL (set DATABASE_URL).")
        from customers.models import Creditor

        creditor = Creditor.objects.filter(name=BENCH_CREDITOR).first()
        if creditor is None:
            raise CommandError("No bench claims: run bench_admin first.")
        if not Decision.objects.filter(policy=ACTOR).exists():
            self._seed(creditor)
        self._time(creditor, repeat)

    def _seed(self, creditor) -> None:
        started = time.monotonic()
        case, invoice = _table(Case), _table(Invoice)
        with transaction.atomic():
            steps = insert_select(
                CaseStep,
                0,
                {
                    "case": "c.id",
                    "step": "c.current_step_id",
                    "taken_on": "c.opened_on",
                    "open_amount": "i.amount",
                    "actor": f"'{ACTOR}'",
                },
                source=f"FROM {case} c JOIN {invoice} i ON i.id = c.invoice_id "
                f"WHERE c.creditor_id = {creditor.pk} AND mod(c.id, 4) = 0 "
                "AND c.current_step_id IS NOT NULL",
            )
            channel = "(ARRAY['email','sms','letter','email'])[1 + mod(cs.id, 4)]"
            insert_select(
                Decision,
                0,
                {
                    "customer": "c.customer_id",
                    "action": "'reminder'",
                    "channel": channel,
                    "tone": "(ARRAY['empathetic','neutral','firm'])[1 + mod(cs.id, 3)]",
                    "variant": "(ARRAY['a','b'])[1 + mod(cs.id, 2)]",
                    "language": "'de'",
                    "reasons": "'{}'::jsonb",
                    "scores": "jsonb_build_object('case_step', cs.id)",
                    "policy": f"'{ACTOR}'",
                },
                source=f"FROM {_table(CaseStep)} cs JOIN {case} c ON c.id = cs.case_id "
                f"WHERE cs.actor = '{ACTOR}'",
            )
            decided = (
                f"FROM {_table(Decision)} d JOIN {_table(CaseStep)} cs "
                f"ON cs.id = (d.scores->>'case_step')::bigint "
                f"JOIN {case} c ON c.id = cs.case_id WHERE d.policy = '{ACTOR}'"
            )
            insert_select(
                Message,
                0,
                {
                    "creditor": "c.creditor_id",
                    "customer": "c.customer_id",
                    "channel": "d.channel",
                    "idempotency_key": "'bench-reports-' || cs.id",
                    "status": "'sent'",
                    "decision": "d.id",
                    "action_date": "cs.taken_on",
                    "scheduled_at": "cs.taken_on + time '08:00'",
                    "sent_at": "cs.taken_on + time '08:00'",
                    "language": "'de'",
                    "tone": "d.tone",
                },
                source=decided,
            )
            insert_select(
                MessageItem,
                0,
                {
                    "message": "m.id",
                    "case_step": "cs.id",
                    "invoice": "c.invoice_id",
                    "level": "1",
                    "action": "'reminder'",
                    "open_amount": "cs.open_amount",
                    "currency": "'EUR'",
                },
                source=f"FROM {_table(Message)} m JOIN {_table(Decision)} d "
                f"ON d.id = m.decision_id JOIN {_table(CaseStep)} cs "
                f"ON cs.id = (d.scores->>'case_step')::bigint "
                f"JOIN {case} c ON c.id = cs.case_id WHERE d.policy = '{ACTOR}'",
            )
            for kind, every in (
                (DeliveryEvent.Kind.OPENED, 3),
                (DeliveryEvent.Kind.CLICKED, 9),
            ):
                insert_select(
                    DeliveryEvent,
                    0,
                    {
                        "message": "m.id",
                        "kind": f"'{kind}'",
                        "provider": "'bench'",
                        "occurred_at": "m.sent_at + interval '2 hours'",
                    },
                    source=f"FROM {_table(Message)} m WHERE m.idempotency_key "
                    f"LIKE 'bench-reports-%%' AND mod(m.id, {every}) = 0",
                )
            insert_select(
                LedgerEntry,
                0,
                {
                    "invoice": "i.id",
                    "kind": "'payment'",
                    "component": "'principal'",
                    "amount": "-i.amount",
                    "booked_on": "i.settled_on",
                    "actor": f"'{ACTOR}'",
                },
                source=f"FROM {invoice} i WHERE i.creditor_id = {creditor.pk} "
                "AND i.status = 'paid'",
            )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(
            f"seeded {steps} steps taken with their messages, events and the paid "
            f"claims' payments in {time.monotonic() - started:.1f} s"
        )

    def _time(self, creditor, repeat: int) -> None:
        user, created = User.objects.get_or_create(
            username=BENCH_USER, defaults={"is_staff": True}
        )
        if created:
            user.set_unusable_password()
            user.save()
        user.groups.add(Group.objects.get(name=MANAGER))
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        url = reverse("admin:reports_results_changelist")
        pages = [
            ("last 90 days, all creditors", ""),
            (
                "last 90 days, bench creditor, EUR",
                f"creditor={creditor.pk}&currency=EUR",
            ),
        ]
        self.stdout.write(
            f"{Invoice.objects.count()} claims, {Message.objects.count()} messages; "
            f"median of {repeat} requests after one warm-up"
        )
        self.stdout.write("| page | queries | median ms | max ms |")
        self.stdout.write("|---|---:|---:|---:|")
        for label, query in pages:
            full = f"{url}?{query}" if query else url
            response = client.get(full, secure=True)
            if response.status_code != 200:
                raise CommandError(f"{label}: HTTP {response.status_code}")
            timings = []
            for _ in range(repeat):
                with CaptureQueriesContext(connection) as queries:
                    began = time.perf_counter()
                    client.get(full, secure=True)
                    timings.append((time.perf_counter() - began) * 1000)
            self.stdout.write(
                f"| {label} | {len(queries)} | {statistics.median(timings):.0f} | "
                f"{max(timings):.0f} |"
            )
            slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))
            for q in slowest[:3]:
                self.stdout.write(f"    {q['time']} s  {q['sql'][:100]}")
