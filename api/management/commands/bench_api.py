"""Invoices upserted per second over real HTTP, beside a raw COPY of the same rows.

Starts gunicorn (DEBUG off, `--workers` sync workers) on a free port of
127.0.0.1 against the configured database, creates a throw-away creditor with
customers and a write token, POSTs the claims in batches of 1,000 from
`--threads` client threads with `requests`, sends the same batches again (all
unchanged), and on PostgreSQL COPYs the same rows into the claims table inside
a transaction that is rolled back. The request bodies are encoded before the
clock starts: client and server share the machine. Besides the wall time it
reports the CPU the server's workers and their PostgreSQL backends spent per
1,000 claims, which does not depend on what else the machine runs. Everything
the benchmark wrote is deleted at the end.
"""

import functools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
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
# Clock ticks per second of /proc/<pid>/stat's CPU times.
TICKS = os.sysconf("SC_CLK_TCK")


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
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--threads", type=int, default=2)

    def handle(self, *args, invoices, customers, workers, threads, **options):
        if min(invoices, customers, workers, threads) < 1:
            raise CommandError("every count must be positive")
        creditor, token = self._setup(customers)
        bodies = [
            json.dumps({"creditor": creditor.pk, "items": batch}).encode()
            for batch in _batches(_items(invoices, customers))
        ]
        try:
            port = _free_port()
            server = self._start_server(port, workers)
            try:
                url = f"http://127.0.0.1:{port}/api/v1/invoices/bulk/"
                post = self._poster(url, token)
                with ThreadPoolExecutor(threads) as pool:
                    send = functools.partial(pool.map, post)
                    created = self._measure(server, send, bodies, "created")
                    repeated = self._measure(server, send, bodies, "unchanged")
            finally:
                server.terminate()
                server.wait(timeout=30)
            copy = self._copy(creditor, _items(invoices, customers))
        finally:
            self._cleanup(creditor)

        load = os.getloadavg()
        self.stdout.write(
            f"{invoices} claims in batches of {BATCH}, {connection.vendor}, "
            f"{workers} gunicorn workers, {threads} client threads, "
            f"load {load[0]:.2f} {load[1]:.2f}"
        )
        self.stdout.write(self._line("HTTP bulk upsert, new", invoices, *created))
        self.stdout.write(
            self._line("HTTP bulk upsert, same again", invoices, *repeated)
        )
        if copy is not None:
            self.stdout.write(self._line("raw COPY (claims only)", invoices, copy))
        else:
            self.stdout.write("raw COPY: PostgreSQL only")

    @staticmethod
    def _line(what: str, n: int, seconds: float, cpu=None) -> str:
        line = f"{what:30} {seconds:8.2f} s {n / seconds:10,.0f} claims/s"
        if cpu is not None:
            app, db = cpu
            per = 1000 / n * 1000
            line += f"   CPU per 1,000: app {app * per:4.0f} ms"
            if db is not None:
                line += f", PostgreSQL {db * per:4.0f} ms"
        return line

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

    def _start_server(self, port: int, workers: int) -> subprocess.Popen:
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
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--timeout",
                "120",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(
                    f"http://127.0.0.1:{port}/api/v1/invoices/",
                    timeout=5,
                    allow_redirects=False,
                )
                return server
            except requests.RequestException:
                time.sleep(0.2)
        server.terminate()
        raise CommandError("the server did not start within 60 s")

    def _poster(self, url: str, token: str):
        """POST one body; each client thread has its own session."""
        local = threading.local()

        def post(body: bytes) -> dict:
            if not hasattr(local, "session"):
                local.session = requests.Session()
                local.session.headers["Authorization"] = f"Bearer {token}"
                local.session.headers["Content-Type"] = "application/json"
            response = local.session.post(url, data=body, timeout=120)
            if response.status_code != 200:
                raise CommandError(f"{response.status_code}: {response.text[:500]}")
            return response.json()

        return post

    def _measure(self, server, post, bodies, expected: str):
        """Wall time, and CPU seconds of the server and its database backends."""
        before = _cpu_seconds(server.pid)
        started = time.perf_counter()
        for body, answer in zip(bodies, post(bodies), strict=True):
            if answer[expected] != len(json.loads(body)["items"]):
                raise CommandError(f"expected every item {expected}: {answer}")
        elapsed = time.perf_counter() - started
        after = _cpu_seconds(server.pid)
        app = after[0] - before[0]
        db = None if None in (before[1], after[1]) else after[1] - before[1]
        return elapsed, (app, db)

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


def _batches(items: list[dict]) -> list[list[dict]]:
    return [items[start : start + BATCH] for start in range(0, len(items), BATCH)]


def _proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # utime and stime, the 14th and 15th fields of the line.
    return (int(fields[11]) + int(fields[12])) / TICKS


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return [int(child) for child in children.read().split()]


def _cpu_seconds(server_pid: int) -> tuple[float, float | None]:
    """CPU seconds of gunicorn's workers, and of the database's other backends
    when PostgreSQL runs on this machine (None where /proc does not show it)."""
    app = sum(_proc_cpu(pid) for pid in _children(server_pid))
    if connection.vendor != "postgresql":
        return app, None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = [pid for (pid,) in cursor.fetchall()]
    try:
        return app, sum(_proc_cpu(pid) for pid in pids)
    except OSError:
        return app, None
