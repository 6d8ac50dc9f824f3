"""Invoices upserted per second over real HTTP, beside a raw COPY of the same rows.

Starts `runserver --noreload` (DEBUG off) on a free port of 127.0.0.1 against
the configured database, creates a throw-away creditor with customers and a
write token, POSTs the claims in batches of 1,000 with `requests`, sends the
same batches again (all unchanged), and on PostgreSQL COPYs the same rows into
the claims table inside a transaction that is rolled back. Everything the
benchmark wrote is deleted at the end.
"""

import os
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from api.models import ApiClient
from customers.models import Creditor, Customer
from payments.models import Invoice, LedgerEntry

BATCH = 1000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _items(n: int, customers: int) -> list[dict]:
    issued = date(2025, 2, 1)
    return [
        {
            "external_id": f"BENCH-{i:08d}",
            "customer_external_id": f"BENCH-C-{i % customers:06d}",
            "currency": "EUR",
            "amount": str(Decimal(100 + i % 900) + Decimal("0.50")),
            "issued_on": issued.isoformat(),
            "due_on": (issued + timedelta(days=30)).isoformat(),
            "description": "benchmark claim",
        }
        for i in range(n)
    ]


class Command(BaseCommand):
    help = "Measure bulk claim upserts over HTTP against a raw COPY of the rows."

    def add_arguments(self, parser):
        parser.add_argument("--invoices", type=int, default=100_000)
        parser.add_argument("--customers", type=int, default=1000)

    def handle(self, *args, invoices: int, customers: int, **options):
        if invoices < 1 or customers < 1:
            raise CommandError("--invoices and --customers must be positive")
        creditor, token = self._setup(customers)
        items = _items(invoices, customers)
        try:
            port = _free_port()
            server = self._start_server(port)
            try:
                url = f"http://127.0.0.1:{port}/api/v1/invoices/bulk/"
                created = self._post_all(url, token, creditor.pk, items, "created")
                repeated = self._post_all(url, token, creditor.pk, items, "unchanged")
            finally:
                server.terminate()
                server.wait(timeout=30)
            copy = self._copy(creditor, items)
        finally:
            self._cleanup(creditor)

        load = os.getloadavg()
        self.stdout.write(
            f"{invoices} claims in batches of {BATCH}, "
            f"{connection.vendor}, load {load[0]:.2f} {load[1]:.2f}"
        )
        self.stdout.write(self._line("HTTP bulk upsert, new", invoices, created))
        self.stdout.write(
            self._line("HTTP bulk upsert, same again", invoices, repeated)
        )
        if copy is not None:
            self.stdout.write(self._line("raw COPY (claims only)", invoices, copy))
        else:
            self.stdout.write("raw COPY: PostgreSQL only")

    @staticmethod
    def _line(what: str, n: int, seconds: float) -> str:
        return f"{what:30} {seconds:8.2f} s {n / seconds:10,.0f} claims/s"

    @transaction.atomic
    def _setup(self, customers: int):
        creditor = Creditor.objects.create(
            name=f"Benchmark creditor {time.time_ns()}",
            country="DE",
            time_zone="Europe/Berlin",
        )
        Customer.objects.bulk_create(
            Customer(
                creditor=creditor,
                external_id=f"BENCH-C-{i:06d}",
                name=f"Bench customer {i}",
                email=f"bench{i}@example.test",
            )
            for i in range(customers)
        )
        client = ApiClient(
            name="Benchmark", scope=ApiClient.Scope.WRITE, throttle_rate="100000/s"
        )
        token = client.new_token()
        client.save()
        client.creditors.set([creditor])
        return creditor, token

    def _start_server(self, port: int) -> subprocess.Popen:
        env = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-" * 3),
            "ALLOWED_HOSTS": "127.0.0.1",
            # Plain HTTP on the loopback: no redirect to HTTPS.
            "SECURE_SSL_REDIRECT": "0",
            "DATABASE_CONN_MAX_AGE": "600",
        }
        server = subprocess.Popen(
            [
                sys.executable,
                str(settings.BASE_DIR / "manage.py"),
                "runserver",
                f"127.0.0.1:{port}",
                "--noreload",
                "--skip-checks",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(
                    f"http://127.0.0.1:{port}/api/v1/schema/",
                    timeout=5,
                    allow_redirects=False,
                )
                return server
            except requests.ConnectionError:
                time.sleep(0.2)
        server.terminate()
        raise CommandError("the server did not start within 60 s")

    def _post_all(self, url, token, creditor_id, items, expected: str) -> float:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        started = time.perf_counter()
        for start in range(0, len(items), BATCH):
            batch = items[start : start + BATCH]
            response = session.post(
                url, json={"creditor": creditor_id, "items": batch}, timeout=120
            )
            if response.status_code != 200:
                raise CommandError(f"{response.status_code}: {response.text[:500]}")
            if response.json()[expected] != len(batch):
                raise CommandError(f"expected every item {expected}: {response.text}")
        return time.perf_counter() - started

    def _copy(self, creditor, items) -> float | None:
        """COPY the same claims into the claims table; rolled back afterwards."""
        if connection.vendor != "postgresql":
            return None
        customer_ids = dict(
            Customer.objects.filter(creditor=creditor).values_list("external_id", "id")
        )
        columns = (
            "creditor_id, customer_id, external_id, number, currency, amount, "
            "open_amount, issued_on, due_on, description, status, source_facts, "
            "document, created_at, updated_at"
        )
        table = Invoice._meta.db_table
        sql = f"COPY {table} ({columns}) FROM STDIN"  # noqa: S608 - fixed names
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                started = time.perf_counter()
                raw = cursor.cursor  # psycopg 3's own cursor: it has copy()
                with raw.copy(sql) as copy:
                    for item in items:
                        copy.write_row(
                            (
                                creditor.pk,
                                customer_ids[item["customer_external_id"]],
                                "COPY-" + item["external_id"],
                                item["external_id"],
                                item["currency"],
                                item["amount"],
                                item["amount"],
                                item["issued_on"],
                                item["due_on"],
                                item["description"],
                                "open",
                                "{}",
                                "",
                                "now",
                                "now",
                            )
                        )
                elapsed = time.perf_counter() - started
                raise _Rollback
        except _Rollback:
            return elapsed

    def _cleanup(self, creditor) -> None:
        with transaction.atomic():
            LedgerEntry.objects.filter(invoice__creditor=creditor).delete()
            Invoice.objects.filter(creditor=creditor).delete()
            Customer.objects.filter(creditor=creditor).delete()
            ApiClient.objects.filter(creditors=creditor).delete()
            creditor.delete()


class _Rollback(Exception):
    pass
