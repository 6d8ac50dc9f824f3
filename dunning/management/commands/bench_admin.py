"""Seed a million claims into PostgreSQL and time the case and claim lists.

The rows are made by `INSERT … SELECT generate_series` in the database, so a
million claims take seconds, not hours. Run it against a scratch database:

    createdb -h 127.0.0.1 -U postgres dunning_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/dunning_bench
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py bench_admin --claims 1000000

Every page is requested through the Django test client as a logged-in dunning
manager, once to warm caches and then `--repeat` times; the median is reported.
"""

import re
import statistics
import time

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.roles import MANAGER
from customers.models import Creditor, Customer
from dunning.models import Case, Plan
from dunning.seeding import insert_select
from payments.models import Invoice, LedgerEntry

PREFIX = "BENCH-"
CLAIMS_PER_CUSTOMER = 10
BENCH_USER = "bench-manager"


class Command(BaseCommand):
    help = "Seed N claims into PostgreSQL (once) and time the admin changelists."

    def add_arguments(self, parser):
        parser.add_argument("--claims", type=int, default=1_000_000)
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument(
            "--no-seed", action="store_true", help="Time only; use the rows there"
        )

    def handle(self, *args, claims, repeat, no_seed, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark needs PostgreSQL (set DATABASE_URL).")
        if not no_seed:
            self._seed(claims)
        self._time(repeat)

    # --- seeding ---------------------------------------------------------------

    def _seed(self, claims: int) -> None:
        creditor, _ = Creditor.objects.get_or_create(
            name="Bench creditor",
            defaults={"country": "DE", "time_zone": "Europe/Berlin"},
        )
        have = Invoice.objects.filter(
            creditor=creditor, external_id__startswith=PREFIX
        ).count()
        if have >= claims:
            self.stdout.write(f"{have} bench claims already there")
            return
        if have:
            raise CommandError(
                f"{have} bench claims from an earlier, smaller seed: use a fresh "
                "database or --no-seed."
            )
        plan = Plan.objects.get(is_default=True)
        steps = list(plan.steps.order_by("position").values_list("id", flat=True))
        customers = -(-claims // CLAIMS_PER_CUSTOMER)
        started = time.monotonic()
        with transaction.atomic():
            self._seed_rows(creditor, plan, steps, customers, claims)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.stdout.write(
            f"seeded {customers} customers and {claims} claims with their principal "
            f"rows and cases in {time.monotonic() - started:.1f} s"
        )

    def _seed_rows(self, creditor, plan, steps, customers: int, claims: int) -> None:
        first_customer = insert_select(
            Customer,
            customers,
            {
                "creditor": str(creditor.pk),
                "external_id": f"'{PREFIX}C' || g",
                "name": "'Debtor ' || g || ' ' || md5(g::text)",
                "email": "'debtor' || g || '@example.com'",
                "city": "'Berlin'",
            },
        )
        customer_ids = Customer.objects.filter(
            creditor=creditor, external_id__startswith=PREFIX
        ).aggregate(low=models.Min("id"))["low"]
        self.stdout.write(f"  {first_customer} customers")

        # Claims: due over the last 200 days, 1 in 5 paid; amounts 20 to 2,019.
        insert_select(
            Invoice,
            claims,
            {
                "creditor": str(creditor.pk),
                "customer": f"{customer_ids} + (g - 1) / {CLAIMS_PER_CUSTOMER}",
                "external_id": f"'{PREFIX}' || g",
                "number": "'BI-' || lpad(g::text, 8, '0')",
                "currency": "'EUR'",
                "amount": "20 + mod(g, 2000)",
                "issued_on": "current_date - 30 - mod(g, 200)",
                "due_on": "current_date - mod(g, 200)",
                "status": "CASE WHEN mod(g, 5) = 0 THEN 'paid' ELSE 'open' END",
                "open_amount": (
                    "CASE WHEN mod(g, 5) = 0 THEN 0 ELSE 20 + mod(g, 2000) END"
                ),
                "settled_on": "CASE WHEN mod(g, 5) = 0 THEN current_date END",
            },
        )
        self.stdout.write(f"  {claims} claims")
        bench = (
            f"FROM {Invoice._meta.db_table} i WHERE i.creditor_id = {creditor.pk} "
            f"AND i.external_id LIKE '{PREFIX}%%'"
        )
        insert_select(
            LedgerEntry,
            0,
            {
                "invoice": "i.id",
                "kind": "'principal'",
                "component": "'principal'",
                "amount": "i.amount",
                "booked_on": "i.issued_on",
                "actor": "'system:bench'",
            },
            source=bench,
        )
        # Payments of the paid claims are left out: the lists do not read them.
        self.stdout.write("  principal ledger rows")

        step_ids = "ARRAY[" + ",".join(str(s) for s in steps) + "]::bigint[]"
        states = "(ARRAY['in_dunning','in_dunning','in_dunning','paused','disputed'])"
        insert_select(
            Case,
            0,
            {
                "invoice": "i.id",
                "customer": "i.customer_id",
                "creditor": "i.creditor_id",
                "plan": str(plan.pk),
                "state": f"CASE WHEN i.status = 'paid' THEN 'closed_paid' "
                f"ELSE {states}[1 + mod(i.id, 5)] END",
                "current_step": f"({step_ids})[1 + mod(i.id, {len(steps)})]",
                "last_step_on": "i.due_on + 7",
                "opened_on": "i.due_on + 1",
            },
            source=f"{bench} AND i.due_on < current_date - 3",
        )
        self.stdout.write("  cases")

    # --- timing ----------------------------------------------------------------

    def _time(self, repeat: int) -> None:
        user, created = User.objects.get_or_create(
            username=BENCH_USER, defaults={"is_staff": True}
        )
        if created:
            user.set_unusable_password()
            user.save()
        user.groups.add(Group.objects.get(name=MANAGER))
        # No test environment: its instrumented template rendering would add
        # its own cost to every page. `secure` passes production's HTTPS redirect.
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)

        creditor = Creditor.objects.get(name="Bench creditor")
        # A claim in the middle of the table that has a case.
        middle = Case.objects.filter(creditor=creditor).order_by("id")
        claim = middle[middle.count() // 2].invoice
        # One word of the name, as a clerk types it; every word must match.
        surname = claim.customer.name.split()[-1]
        step = Case.objects.filter(current_step__isnull=False).values_list(
            "current_step_id", flat=True
        )[:1]
        cases = reverse("admin:dunning_case_changelist")
        claims = reverse("admin:payments_invoice_changelist")
        pages = [
            ("cases: first page", cases, ""),
            ("cases: search claim number", cases, f"q={claim.number}"),
            ("cases: search customer name", cases, f"q={surname}"),
            ("cases: search external id", cases, f"q={claim.external_id}"),
            (
                "cases: state + overdue 31–60",
                cases,
                "state__exact=paused&overdue=31-60",
            ),
            (
                "cases: step + creditor",
                cases,
                f"step={step[0]}&creditor__id__exact={creditor.pk}",
            ),
            ("claims: first page", claims, ""),
            ("claims: search claim number", claims, f"q={claim.number}"),
            ("claims: search customer name", claims, f"q={surname}"),
            ("claims: search external id", claims, f"q={claim.external_id}"),
            (
                "claims: status + creditor",
                claims,
                f"status__exact=open&creditor__id__exact={creditor.pk}",
            ),
            (
                "claims: status + overdue 31–60",
                claims,
                "status__exact=open&overdue=31-60",
            ),
        ]
        total = Invoice.objects.count()
        self.stdout.write(
            f"{total} claims, {Case.objects.count()} cases; median of {repeat} "
            "requests after one warm-up"
        )
        self.stdout.write("| page | rows | queries | median ms | max ms |")
        self.stdout.write("|---|---:|---:|---:|---:|")
        for label, url, query in pages:
            full = f"{url}?{query}" if query else url
            response = client.get(full, secure=True)
            if response.status_code != 200:
                raise CommandError(f"{label}: HTTP {response.status_code}")
            timings = []
            for _ in range(repeat):
                with CaptureQueriesContext(connection) as queries:
                    began = time.perf_counter()
                    response = client.get(full, secure=True)
                    timings.append((time.perf_counter() - began) * 1000)
            paginator = re.search(
                r'class="paginator">(.*?)</p>', response.content.decode(), re.S
            )
            # The page links come first, then "<count> <objects>".
            text = re.sub(r"<[^>]+>", " ", paginator.group(1))
            rows = re.findall(r"(\d+)\s+[^\W\d]", text)[-1]
            self.stdout.write(
                f"| {label} | {rows} | {len(queries)} | "
                f"{statistics.median(timings):.0f} | {max(timings):.0f} |"
            )
