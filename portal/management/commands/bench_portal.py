"""The debtor page under load: gunicorn on the loopback, N virtual debtors.

Prepares a benchmark creditor that asks for a second factor (postcode) with
`--debtors` customers, each with `--claims` claims in dunning (first notice
taken, its fee booked), and gives every debtor a fresh personal link. Starts
gunicorn (DEBUG off, `-w --workers`, sync or gthread workers) on a free port
of 127.0.0.1 and, for each number of `--users`, runs that many virtual users
in threads (`ops.loadgen`), each with its own keep-alive `requests.Session`
and its own debtor:

1. the first visit, the real flow: the link redirects to the second-factor
   form, the form is fetched and posted, the page opens (timed as one);
2. then, for `--seconds` after a warm-up, the page again and again, with a
   think time between answer and next request drawn evenly from 0.5 to 1.5
   times `--think` seconds (a debtor reading the page). `--think 0` is the
   stress case: every user always has one request in flight, so latency is
   queueing, users divided by throughput. Only these requests count in
   requests/s and the percentiles.

Any answer but 200 (or the redirects of the first visit) and any exception is
an error. The page writes what a real visit writes (an engagement event, a
click on the link). Only the HTML page is fetched: `portal.css`, which the
same workers serve with WhiteNoise, a browser keeps for its max-age.

It writes rows: it refuses a database whose name has neither "bench" nor
"test" in it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dunning_bench_portal \\
        .venv/bin/python manage.py bench_portal --create-database
"""

import json
import os
import re
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal

import requests
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import F

from customers.models import Creditor, Customer, SecondFactor
from dunning.management.commands.bench import database_prepare
from dunning.models import Case, CaseStep, Plan
from ops.loadgen import (
    TIMEOUT,
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
from payments.models import Invoice, LedgerEntry
from payments.services import invoice_create
from portal.services import link_create

CREDITOR = "Debtor page benchmark creditor"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PAGE = "page"
FIRST_VISIT = "first visit"


@transaction.atomic
def prepare_debtors(n: int, claims: int) -> list[tuple[str, str]]:
    """The benchmark creditor's first `n` debtors, created once, with a fresh
    link each; returns (raw token, postcode) debtor by debtor."""
    creditor, _ = Creditor.objects.get_or_create(
        name=CREDITOR,
        defaults={
            "country": "DE",
            "time_zone": "Europe/Berlin",
            "portal_second_factor": SecondFactor.POSTCODE,
        },
    )
    have = Customer.objects.filter(creditor=creditor).count()
    plan = Plan.objects.get(name="Standard", creditor=None, is_default=True)
    notice = plan.steps.get(position=2)
    due_on = date(2025, 2, 10)
    for i in range(have, n):
        customer = Customer.objects.create(
            creditor=creditor,
            external_id=f"PB-{i:06d}",
            name=f"Debtor {i}",
            email=f"debtor{i}@example.test",
            postcode=f"{10000 + i % 89999}",
            language="de" if i % 2 else "en",
        )
        for k in range(claims):
            invoice = invoice_create(
                creditor=creditor,
                customer=customer,
                external_id=f"PB-{i:06d}-{k}",
                number=f"PB-{i:06d}-{k}",
                currency="EUR",
                amount=Decimal(120 + 37 * k) + Decimal("0.50"),
                issued_on=due_on - timedelta(days=30),
                due_on=due_on + timedelta(days=7 * k),
                actor="bench_portal",
            )
            _first_notice(invoice, plan, notice)
    customers = Customer.objects.filter(creditor=creditor).order_by("external_id")
    return [(link_create(customer=c)[1], c.postcode) for c in customers[:n]]


def _first_notice(invoice: Invoice, plan: Plan, step) -> None:
    """The case in dunning at its first notice, with the fee booked as the run
    books it."""
    taken_on = invoice.due_on + timedelta(days=14)
    case = Case.objects.create(
        invoice=invoice,
        customer=invoice.customer,
        creditor=invoice.creditor,
        plan=plan,
        state=Case.State.IN_DUNNING,
        opened_on=invoice.due_on,
        current_step=step,
        last_step_on=taken_on,
    )
    case_step = CaseStep.objects.create(
        case=case,
        step=step,
        taken_on=taken_on,
        fee=step.fee,
        open_amount=invoice.open_amount,
        actor="bench_portal",
    )
    LedgerEntry.objects.create(
        invoice=invoice,
        kind=LedgerEntry.Kind.FEE,
        component=LedgerEntry.Component.COSTS,
        amount=step.fee,
        booked_on=taken_on,
        case_step=case_step,
        actor="bench_portal",
    )
    Invoice.objects.filter(pk=invoice.pk).update(
        open_amount=F("open_amount") + step.fee
    )


class Debtor(VirtualUser):
    """A debtor who opens their link once, then reads the page again and again."""

    def __init__(self, token: str, postcode: str):
        self.token = token
        self.postcode = postcode
        self.page = Request(PAGE, "GET", f"/p/{token}/")

    def begin(self, session, base, tally) -> bool:
        began = time.perf_counter()
        try:
            answer = self._first_visit(session, base)
        except requests.RequestException as exc:
            tally.error(f"{FIRST_VISIT}: {type(exc).__name__}")
            return False
        if answer.status_code != 200 or "/verify/" in answer.url:
            tally.error(f"{FIRST_VISIT}: {answer.status_code}")
            return False
        tally.record(FIRST_VISIT, (time.perf_counter() - began) * 1000)
        return True

    def next(self, previous) -> Request:
        return self.page

    def _first_visit(self, session: requests.Session, base: str):
        """Link → second-factor form → page; the last response."""
        home = f"{base}/p/{self.token}/"
        answer = session.get(home, allow_redirects=False, timeout=TIMEOUT)
        if answer.status_code != 302 or "/verify/" not in answer.headers["Location"]:
            return answer
        form = session.get(f"{home}verify/", timeout=TIMEOUT)
        match = CSRF_INPUT.search(form.text)
        if form.status_code != 200 or match is None:
            return form
        return session.post(
            f"{home}verify/",
            data={"csrfmiddlewaretoken": match.group(1), "value": self.postcode},
            headers={"Referer": f"{home}verify/"},
            timeout=TIMEOUT,
        )


class Command(BaseCommand):
    help = "Serve the debtor page with gunicorn and measure it under concurrent users."

    def add_arguments(self, parser):
        parser.add_argument("--debtors", type=int, default=200)
        parser.add_argument("--claims", type=int, default=3, help="per debtor")
        parser.add_argument("--users", default="20,100", help="e.g. 20,100")
        parser.add_argument("--seconds", type=float, default=30)
        parser.add_argument("--warm-up", type=float, default=10, help="seconds")
        parser.add_argument(
            "--think", type=float, default=1.0, help="mean seconds between pages"
        )
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument(
            "--worker-class", choices=["sync", "gthread"], default="gthread"
        )
        parser.add_argument("--threads", type=int, default=4, help="gthread only")
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
        if options["create_database"]:
            database_prepare()
        refuse_live_database("debtors and visits")
        refuse_unmigrated()
        if max(users) > options["debtors"]:
            raise CommandError("every virtual user needs a debtor of its own")

        debtors = prepare_debtors(options["debtors"], options["claims"])
        server = Server(options["workers"], options["worker_class"], options["threads"])
        # Not a token: a wrong one would count as a failed attempt.
        with serve(server, probe="/bench-probe") as (base, master_pid):
            if not options["json"]:
                self.stdout.write(self._header(server, options))
            for n in users:
                tally = run_load(
                    base,
                    [Debtor(token, postcode) for token, postcode in debtors[:n]],
                    warm_up=options["warm_up"],
                    seconds=options["seconds"],
                    think=options["think"],
                    master_pid=master_pid,
                )
                if options["json"]:
                    self.stdout.write(json.dumps(self._figures(n, tally, server)))
                else:
                    self.stdout.write(self._line(n, tally))

    def _header(self, server: Server, options) -> str:
        return (
            f"{server.describe()}, {connection.vendor}, "
            f"{options['debtors']} debtors x {options['claims']} claims, "
            f"{options['seconds']:g} s per level after {options['warm_up']:g} s "
            f"warm-up, think time {options['think']} s"
        )

    @staticmethod
    def _figures(users: int, tally: Tally, server: Server) -> dict:
        pages = tally.count([PAGE])
        first = tally.ms.get(FIRST_VISIT) or [0.0]
        return {
            "users": users,
            "server": server.describe(),
            "seconds": tally.seconds,
            "page": tally.figures([PAGE]),
            "first_visit_median_ms": round(statistics.median(first), 1),
            "workers_cpu_ms_per_page": (
                round(tally.workers_cpu * 1000 / pages, 2) if pages else None
            ),
            "errors": dict(tally.errors),
            "load": [round(x, 2) for x in os.getloadavg()],
        }

    @staticmethod
    def _line(users: int, tally: Tally) -> str:
        load = os.getloadavg()
        page = tally.figures([PAGE])
        errors = sum(tally.errors.values())
        detail = f" {tally.errors}" if errors else ""
        if not page["requests"]:
            return f"{users:4} users: no page answered, errors {errors}{detail}"
        first = statistics.median(tally.ms.get(FIRST_VISIT) or [0])
        return (
            f"{users:4} users: {page['per_second']:7.1f} req/s, "
            f"p50 {page['p50_ms']:6.1f} ms, "
            f"p95 {page['p95_ms']:6.1f} ms, "
            f"p99 {page['p99_ms']:6.1f} ms, "
            f"workers' CPU {tally.workers_cpu * 1000 / page['requests']:5.1f} ms "
            f"a page, first visit (link, form, page) median {first:6.1f} ms, "
            f"errors {errors}{detail}, load {load[0]:.2f} {load[1]:.2f}"
        )
