"""The ERP API under load: gunicorn on the loopback, N ERP connections.

Prepares (once) a benchmark creditor with `--customers` customers and
`--claims` claims each, all overdue, dunned once by the run's own batch
(`api.services.claims_dun`: a case, its step and a planned message per
debtor), and an API client with the write scope and `--throttle-rate`, which
gets a fresh token at every start. Starts gunicorn (DEBUG off) on a free port
of 127.0.0.1 and, for each number of `--users`, runs that many ERP connections
in threads of this process (`ops.loadgen`), each with its own keep-alive
`requests.Session` and the client's token, picking each request from the mix
below by its weight:

| weight | request |
|---:|---|
| 20 | open claims due before 2026, 50 a page, walking on by the `next` cursor |
| 10 | the claims of one customer (`customer_external_id`) |
| 15 | one claim by id |
| 10 | one customer by id |
| 10 | the case of a claim (`/cases/?invoice_external_id=`) |
| 10 | the messages of a claim, with their decisions (the case's timeline) |
| 12 | upsert one new claim (`/invoices/bulk/`, one item) |
| 3 | bulk upsert of 50 new claims |
| 10 | record a payment of 1.00 naming a claim (`/payments/bulk/`) |

Every write sends an `Idempotency-Key`. Any answer but 200, a 429 of the
client's throttle included, and any exception is an error. The throttle runs
as in production (its counter in the cache gunicorn is configured with:
`CACHE_URL`, else the database table); `--throttle-rate` is set above what the
connections can ask for on this machine so that a legitimate ERP is never
refused, and per second, so the counter's window holds one second of requests.

It writes rows: it refuses a database whose name has neither "bench" nor
"test" in it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dunning_bench_api_load \\
        .venv/bin/python manage.py bench_api_load --create-database
"""

import json
import os
import random
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from api.models import ApiClient
from api.services import claims_dun
from customers.models import Creditor, Customer
from dunning.management.commands.bench import database_prepare
from ops.loadgen import (
    Request,
    Server,
    Tally,
    VirtualUser,
    numbers,
    refuse_live_database,
    refuse_unmigrated,
    run_load,
    serve,
)
from payments.models import Invoice
from payments.services import invoice_create

CREDITOR = "ERP API load benchmark creditor"
CLIENT = "ERP API load benchmark"
API = "/api/v1"
LIST = "open claims, 50 a page"
CUSTOMER_CLAIMS = "claims of a customer"
CLAIM = "one claim"
CUSTOMER = "one customer"
CASE = "case of a claim"
MESSAGES = "messages of a claim"
UPSERT = "upsert one claim"
BULK = "bulk upsert, 50 claims"
PAYMENT = "record a payment"
MIX = {
    LIST: 20,
    CUSTOMER_CLAIMS: 10,
    CLAIM: 15,
    CUSTOMER: 10,
    CASE: 10,
    MESSAGES: 10,
    UPSERT: 12,
    BULK: 3,
    PAYMENT: 10,
}
BULK_SIZE = 50
FIRST_DUE = date(2025, 1, 6)


@dataclass(frozen=True)
class Claim:
    id: int
    external_id: str
    customer_id: int
    customer_external_id: str


@dataclass(frozen=True)
class Portfolio:
    creditor_id: int
    token: str
    claims: list[Claim]
    customer_external_ids: list[str]


def prepare_portfolio(
    customers: int, claims: int, throttle_rate: str, actor: str
) -> Portfolio:
    """The benchmark creditor's first `customers` customers with `claims`
    claims each (created and dunned by the first run that asks for them),
    and its API client with a fresh token."""
    with transaction.atomic():
        creditor, _ = Creditor.objects.get_or_create(
            name=CREDITOR, defaults={"country": "DE", "time_zone": "Europe/Berlin"}
        )
        have = Customer.objects.filter(creditor=creditor).count()
        for i in range(have, customers):
            customer = Customer.objects.create(
                creditor=creditor,
                external_id=f"AL-{i:06d}",
                name=f"Load customer {i}",
                email=f"load{i}@example.test",
                language="de" if i % 2 else "en",
            )
            for k in range(claims):
                due_on = FIRST_DUE + timedelta(days=(i * claims + k) % 300)
                invoice_create(
                    creditor=creditor,
                    customer=customer,
                    external_id=f"AL-{i:06d}-{k}",
                    number=f"AL-{i:06d}-{k}",
                    currency="EUR",
                    amount=Decimal(150 + 41 * k + i % 97) + Decimal("0.50"),
                    issued_on=due_on - timedelta(days=30),
                    due_on=due_on,
                    actor=actor,
                )
        client, _ = ApiClient.objects.get_or_create(name=CLIENT)
        client.scope = ApiClient.Scope.WRITE
        client.throttle_rate = throttle_rate
        client.full_clean(exclude=["token_hash", "token_hint"])
        token = client.new_token()
        client.save()
        client.creditors.set([creditor])

    prepared = Invoice.objects.filter(
        creditor=creditor,
        external_id__startswith="AL-",
        customer__external_id__lt=f"AL-{customers:06d}",
    )
    # The claims earlier runs' writes added are left as they are.
    undunned = prepared.filter(
        status=Invoice.Status.OPEN, case__isnull=True
    ).values_list("id", flat=True)
    if undunned:
        claims_dun(invoice_ids=list(undunned), actor=actor)
    if connection.vendor == "postgresql":
        # Fresh rows without statistics make the planner join customers to
        # every claim of the creditor; a database in use has them.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    rows = prepared.order_by("id").values_list(
        "id", "external_id", "customer_id", "customer__external_id"
    )
    picked = [Claim(*row) for row in rows]
    return Portfolio(
        creditor_id=creditor.pk,
        token=token,
        claims=picked,
        customer_external_ids=sorted({c.customer_external_id for c in picked}),
    )


class Erp(VirtualUser):
    """One connection of the ERP: reads, upserts and payments by the mix."""

    def __init__(self, portfolio: Portfolio, name: str, rng):
        self.portfolio = portfolio
        self.name = name
        self.rng = rng
        self.labels = list(MIX)
        self.weights = list(MIX.values())
        self.builders = {
            LIST: self._open_claims,
            CUSTOMER_CLAIMS: self._claims_of_a_customer,
            CLAIM: self._one_claim,
            CUSTOMER: self._one_customer,
            CASE: self._case_of_a_claim,
            MESSAGES: self._messages_of_a_claim,
            UPSERT: self._upsert_one_claim,
            BULK: self._bulk_upsert,
            PAYMENT: self._record_a_payment,
        }
        self.sequence = 0
        self.list_next: str | None = None
        self.last: str | None = None

    def begin(self, session, base, tally) -> bool:
        session.headers["Authorization"] = f"Bearer {self.portfolio.token}"
        return True

    def next(self, previous) -> Request:
        if self.last == LIST:
            # Walk the list page by page; after the last page, start again.
            self.list_next = previous.json()["next"] if previous is not None else None
        label = self.rng.choices(self.labels, self.weights)[0]
        self.last = label
        return self.builders[label](label)

    def _claim(self) -> Claim:
        return self.rng.choice(self.portfolio.claims)

    def _open_claims(self, label: str) -> Request:
        if self.list_next:
            url = urlsplit(self.list_next)
            return Request(label, "GET", f"{url.path}?{url.query}")
        return Request(
            label,
            "GET",
            f"{API}/invoices/?status=open&due_before=2025-12-31&page_size=50",
        )

    def _claims_of_a_customer(self, label: str) -> Request:
        customer = self.rng.choice(self.portfolio.customer_external_ids)
        return Request(label, "GET", f"{API}/invoices/?customer_external_id={customer}")

    def _one_claim(self, label: str) -> Request:
        return Request(label, "GET", f"{API}/invoices/{self._claim().id}/")

    def _one_customer(self, label: str) -> Request:
        return Request(label, "GET", f"{API}/customers/{self._claim().customer_id}/")

    def _case_of_a_claim(self, label: str) -> Request:
        claim = self._claim().external_id
        return Request(label, "GET", f"{API}/cases/?invoice_external_id={claim}")

    def _messages_of_a_claim(self, label: str) -> Request:
        claim = self._claim().external_id
        return Request(label, "GET", f"{API}/messages/?invoice_external_id={claim}")

    def _upsert_one_claim(self, label: str) -> Request:
        return self._write(label, "/invoices/bulk/", [self._new_claim()])

    def _bulk_upsert(self, label: str) -> Request:
        items = [self._new_claim() for _ in range(BULK_SIZE)]
        return self._write(label, "/invoices/bulk/", items)

    def _record_a_payment(self, label: str) -> Request:
        claim = self._claim()
        self.sequence += 1
        item = {
            "external_id": f"LP-{self.name}-{self.sequence}",
            "customer_external_id": claim.customer_external_id,
            "invoice_external_id": claim.external_id,
            "amount": "1.00",
            "currency": "EUR",
            "received_on": timezone.localdate().isoformat(),
            "method": "sepa_credit",
        }
        return self._write(label, "/payments/bulk/", [item])

    def _new_claim(self) -> dict:
        self.sequence += 1
        customer = self.rng.choice(self.portfolio.customer_external_ids)
        issued_on = timezone.localdate() - timedelta(days=self.rng.randrange(0, 60))
        return {
            "external_id": f"LN-{self.name}-{self.sequence}",
            "customer_external_id": customer,
            "number": f"LN-{self.name}-{self.sequence}",
            "currency": "EUR",
            "amount": f"{self.rng.randrange(2000, 90000) / 100:.2f}",
            "issued_on": issued_on.isoformat(),
            "due_on": (issued_on + timedelta(days=30)).isoformat(),
            "description": "load benchmark claim",
        }

    def _write(self, label: str, path: str, items: list[dict]) -> Request:
        body = {"creditor": self.portfolio.creditor_id, "items": items}
        return Request(
            label,
            "POST",
            API + path,
            body=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                # Unique across runs: a key sent again with another body is
                # refused (422).
                "Idempotency-Key": str(uuid.uuid4()),
            },
        )


class Command(BaseCommand):
    help = "Serve the ERP API with gunicorn and measure a mix of ERP requests."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=500)
        parser.add_argument("--claims", type=int, default=4, help="per customer")
        parser.add_argument("--users", default="20", help="connections, e.g. 20,60")
        parser.add_argument("--seconds", type=float, default=180)
        parser.add_argument("--warm-up", type=float, default=10, help="seconds")
        parser.add_argument(
            "--think",
            type=float,
            default=1.0,
            help="mean seconds between an answer and the next request; 0: stress",
        )
        parser.add_argument(
            "--throttle-rate",
            default="500/s",
            help="the benchmark client's rate, above what it asks for",
        )
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument(
            "--worker-class", choices=["sync", "gthread"], default="gthread"
        )
        parser.add_argument("--threads", type=int, default=4, help="gthread only")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--create-database",
            action="store_true",
            help="Create and migrate the database of DATABASE_URL first",
        )
        parser.add_argument(
            "--json", action="store_true", help="One JSON object per level"
        )

    def handle(self, *args, **options):
        users = numbers(options["users"])
        if min(options["customers"], options["claims"]) < 1:
            raise CommandError("--customers and --claims must be positive")
        if options["create_database"]:
            database_prepare()
        refuse_live_database("claims and payments")
        refuse_unmigrated()

        portfolio = prepare_portfolio(
            options["customers"],
            options["claims"],
            options["throttle_rate"],
            actor="bench_api_load",
        )
        server = Server(options["workers"], options["worker_class"], options["threads"])
        # A run's new external ids differ from every earlier run's.
        tag = f"{time.time_ns() // 1_000_000:x}"
        with serve(server, probe="/healthz") as (base, master_pid):
            if not options["json"]:
                self.stdout.write(self._header(server, portfolio, options))
            for n in users:
                level = f"{tag}-{n}"
                erps = [
                    Erp(portfolio, f"{level}-{i}", random.Random(options["seed"] + i))
                    for i in range(n)
                ]
                tally = run_load(
                    base,
                    erps,
                    warm_up=options["warm_up"],
                    seconds=options["seconds"],
                    think=options["think"],
                    master_pid=master_pid,
                    seed=options["seed"],
                )
                figures = self._figures(n, tally, server, options)
                if options["json"]:
                    self.stdout.write(json.dumps(figures))
                else:
                    self.stdout.write(self._table(figures))

    def _header(self, server: Server, portfolio: Portfolio, options) -> str:
        cache = os.environ.get("CACHE_URL", "").split(":", 1)[0] or "default"
        return (
            f"{server.describe()}, {connection.vendor}, cache {cache}, "
            f"{len(portfolio.customer_external_ids)} customers x "
            f"{options['claims']} claims, {options['seconds']:g} s per level "
            f"after {options['warm_up']:g} s warm-up, think time "
            f"{options['think']} s, client rate {options['throttle_rate']}"
        )

    @staticmethod
    def _figures(users: int, tally: Tally, server: Server, options) -> dict:
        total = tally.count()
        return {
            "users": users,
            "server": server.describe(),
            "seconds": tally.seconds,
            "think": options["think"],
            "throttle_rate": options["throttle_rate"],
            "endpoints": {label: tally.figures([label]) for label in MIX},
            "all": tally.figures(list(MIX)),
            "workers_cpu_ms_per_request": (
                round(tally.workers_cpu * 1000 / total, 2) if total else None
            ),
            "database_cpu_ms_per_request": (
                round(tally.database_cpu * 1000 / total, 2)
                if total and tally.database_cpu is not None
                else None
            ),
            "client_cpu_ms_per_request": (
                round(tally.client_cpu * 1000 / total, 2) if total else None
            ),
            "errors": dict(tally.errors),
            "load": [round(x, 2) for x in os.getloadavg()],
        }

    @staticmethod
    def _table(figures: dict) -> str:
        lines = [f"{figures['users']} connections:"]
        rows = [*figures["endpoints"].items(), ("all", figures["all"])]
        for label, row in rows:
            if not row["requests"]:
                lines.append(f"  {label:26} no answer")
                continue
            lines.append(
                f"  {label:26} {row['requests']:7} {row['per_second']:7.1f} req/s"
                f"  p50 {row['p50_ms']:7.1f}  p95 {row['p95_ms']:7.1f}"
                f"  p99 {row['p99_ms']:7.1f} ms"
            )
        errors = sum(figures["errors"].values())
        detail = f" {figures['errors']}" if errors else ""
        load = figures["load"]
        lines.append(
            f"  CPU per request: workers {figures['workers_cpu_ms_per_request']} ms, "
            f"PostgreSQL {figures['database_cpu_ms_per_request']} ms, "
            f"load generator {figures['client_cpu_ms_per_request']} ms; "
            f"errors {errors}{detail}; load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        )
        return "\n".join(lines)
