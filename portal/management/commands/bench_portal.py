"""The debtor page under load: gunicorn on the loopback, N virtual debtors.

Prepares a benchmark creditor that asks for a second factor (postcode) with
`--debtors` customers, each with `--claims` claims in dunning (first notice
taken, its fee booked), and gives every debtor a fresh personal link. Starts
gunicorn (DEBUG off, `-w --workers`, sync or gthread workers) on a free port
of 127.0.0.1 and, for each number of `--users`, runs that many virtual users
in threads, each with its own keep-alive `requests.Session` and its own
debtor:

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
click on the link). gunicorn serves no static files: the project has no
static-file middleware, so `portal.css` is left to the web server in front.

It writes rows: it refuses a database whose name has neither "bench" nor
"test" in it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dunning_bench_portal \\
        .venv/bin/python manage.py bench_portal --create-database
"""

import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import F

from customers.models import Creditor, Customer, SecondFactor
from dunning.management.commands.bench import create_database
from dunning.models import Case, CaseStep, Plan
from payments.models import Invoice, LedgerEntry
from payments.services import invoice_create
from portal.services import link_create

CREDITOR = "Debtor page benchmark creditor"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _numbers(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError as error:
        raise CommandError(f"not a list of numbers: {text}") from error
    if not values or min(values) < 1:
        raise CommandError(f"not a list of positive numbers: {text}")
    return values


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, round(share * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


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


def workers_cpu_seconds(master_pid: int) -> float:
    """CPU time (user + system) of the gunicorn master's workers so far, from
    /proc (Linux): what a page costs whatever else the machine is doing."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Tally:
    """What the virtual users measured; each appends under the lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    page_ms: list[float] = field(default_factory=list)
    first_visit_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0

    def error(self, what: str) -> None:
        with self.lock:
            self.errors[what] = self.errors.get(what, 0) + 1


def _first_visit(session: requests.Session, base: str, token: str, postcode: str):
    """Link → second-factor form → page; the page's response, or None."""
    home = f"{base}/p/{token}/"
    answer = session.get(home, allow_redirects=False, timeout=30)
    if answer.status_code != 302 or "/verify/" not in answer.headers["Location"]:
        return answer
    form = session.get(f"{home}verify/", timeout=30)
    match = CSRF_INPUT.search(form.text)
    if form.status_code != 200 or match is None:
        return form
    return session.post(
        f"{home}verify/",
        data={"csrfmiddlewaretoken": match.group(1), "value": postcode},
        headers={"Referer": f"{home}verify/"},
        timeout=30,
    )


def _virtual_user(base, token, postcode, start, measure_from, stop_at, think, tally):
    session = requests.Session()
    pause = random.Random(token)
    start.wait()
    began = time.perf_counter()
    try:
        answer = _first_visit(session, base, token, postcode)
    except requests.RequestException as exc:
        tally.error(type(exc).__name__)
        return
    if answer.status_code != 200 or "/verify/" in answer.url:
        tally.error(f"first visit {answer.status_code}")
        return
    with tally.lock:
        tally.first_visit_ms.append((time.perf_counter() - began) * 1000)
    home = f"{base}/p/{token}/"
    while (now := time.perf_counter()) < stop_at:
        try:
            answer = session.get(home, allow_redirects=False, timeout=30)
        except requests.RequestException as exc:
            tally.error(type(exc).__name__)
            continue
        elapsed = (time.perf_counter() - now) * 1000
        if answer.status_code != 200:
            tally.error(str(answer.status_code))
        elif now >= measure_from:
            with tally.lock:
                tally.page_ms.append(elapsed)
        if think:
            time.sleep(think * pause.uniform(0.5, 1.5))


class Command(BaseCommand):
    help = "Serve the debtor page with gunicorn and measure it under concurrent users."

    def add_arguments(self, parser):
        parser.add_argument("--debtors", type=int, default=200)
        parser.add_argument("--claims", type=int, default=3, help="per debtor")
        parser.add_argument("--users", default="20,100", help="e.g. 20,100")
        parser.add_argument("--seconds", type=int, default=30)
        parser.add_argument("--warm-up", type=int, default=10, help="seconds")
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

    def handle(self, *args, **options):
        users = _numbers(options["users"])
        if options["create_database"]:
            url = os.environ.get("DATABASE_URL", "")
            if not url.startswith("postgres"):
                raise CommandError("--create-database needs a postgres DATABASE_URL")
            create_database(url)
            call_command("migrate", verbosity=0, interactive=False)
        name = str(connection.settings_dict["NAME"])
        if "bench" not in name and "test" not in name:
            raise CommandError(
                f"database {name!r}: the benchmark writes debtors and visits, so it "
                "only runs on a database named *bench* or *test*."
            )
        if max(users) > options["debtors"]:
            raise CommandError("every virtual user needs a debtor of its own")

        debtors = prepare_debtors(options["debtors"], options["claims"])
        port = _free_port()
        server = self._start_gunicorn(port, options)
        try:
            base = f"http://127.0.0.1:{port}"
            self.stdout.write(self._header(options))
            for n in users:
                tally = self._load(base, debtors[:n], options, server.pid)
                self.stdout.write(self._line(n, tally, options["seconds"]))
        finally:
            server.terminate()
            server.wait(timeout=30)

    def _header(self, options) -> str:
        kind = options["worker_class"]
        if kind == "gthread":
            kind += f" --threads {options['threads']}"
        return (
            f"gunicorn -w {options['workers']} {kind}, {connection.vendor}, "
            f"{options['debtors']} debtors x {options['claims']} claims, "
            f"{options['seconds']} s per level after {options['warm_up']} s warm-up, "
            f"think time {options['think']} s"
        )

    def _start_gunicorn(self, port: int, options) -> subprocess.Popen:
        env = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-" * 3),
            "ALLOWED_HOSTS": "127.0.0.1",
            # Plain HTTP on the loopback: no redirect to HTTPS, cookies sent.
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_COOKIES": "0",
            "DATABASE_CONN_MAX_AGE": "600",
        }
        command = [
            str(os.path.join(os.path.dirname(sys.executable), "gunicorn")),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(options["workers"]),
            "--worker-class",
            options["worker_class"],
            # No access log: the path holds the debtor's token.
            "--log-level",
            "warning",
        ]
        if options["worker_class"] == "gthread":
            command += ["--threads", str(options["threads"])]
        server = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                # Not a token: a wrong one would count as a failed attempt.
                requests.get(f"http://127.0.0.1:{port}/bench-probe", timeout=10)
                return server
            except requests.RequestException:
                if server.poll() is not None:
                    raise CommandError("gunicorn exited at start-up") from None
                time.sleep(0.5)
        server.terminate()
        raise CommandError("gunicorn did not start within 120 s")

    def _load(self, base: str, debtors, options, master_pid: int) -> Tally:
        tally = Tally()
        start = threading.Barrier(len(debtors) + 1)
        began = time.perf_counter()
        measure_from = began + options["warm_up"]
        stop_at = measure_from + options["seconds"]
        threads = [
            threading.Thread(
                target=_virtual_user,
                args=(
                    base,
                    token,
                    postcode,
                    start,
                    measure_from,
                    stop_at,
                    options["think"],
                    tally,
                ),
                daemon=True,
            )
            for token, postcode in debtors
        ]
        for thread in threads:
            thread.start()
        start.wait()
        time.sleep(max(0.0, measure_from - time.perf_counter()))
        cpu_before = workers_cpu_seconds(master_pid)
        time.sleep(max(0.0, stop_at - time.perf_counter()))
        tally.cpu_seconds = workers_cpu_seconds(master_pid) - cpu_before
        for thread in threads:
            thread.join()
        return tally

    @staticmethod
    def _line(users: int, tally: Tally, seconds: int) -> str:
        load = os.getloadavg()
        times = sorted(tally.page_ms)
        errors = sum(tally.errors.values())
        detail = f" {tally.errors}" if errors else ""
        if not times:
            return f"{users:4} users: no page answered, errors {errors}{detail}"
        first = statistics.median(tally.first_visit_ms or [0])
        return (
            f"{users:4} users: {len(times) / seconds:7.1f} req/s, "
            f"p50 {percentile(times, 0.50):6.1f} ms, "
            f"p95 {percentile(times, 0.95):6.1f} ms, "
            f"p99 {percentile(times, 0.99):6.1f} ms, "
            f"workers' CPU {tally.cpu_seconds * 1000 / len(times):5.1f} ms a page, "
            f"first visit (link, form, page) median {first:6.1f} ms, "
            f"errors {errors}{detail}, load {load[0]:.2f} {load[1]:.2f}"
        )
