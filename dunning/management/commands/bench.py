"""The daily run at scale, beside the floor of the database's own speed.

For each size: empty the portfolio tables, seed the daily-run portfolio in SQL
(`dunning.seeding`), time the floor (one INSERT of the day's planned messages
with their decisions, one UPDATE of the same claims, rolled back; the best of
three), then time the real run (`plan_only`) in a fresh process per worker
count, reseeding between them. With more than one worker the command starts a
`qcluster` with that many workers (and no scheduler) and stops it afterwards.
One JSON line per figure.

It empties tables: it refuses a database whose name has neither "bench" nor
"test" in it.

    make bench                                   # 10k, 100k, 1M; 1 and 2 workers
    .venv/bin/python manage.py bench --claims 10000 --workers 1 --json
"""

import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from dunning.models import Case
from dunning.seeding import (
    SeedError,
    bench_creditor,
    insert_select_sql,
    reset_portfolio,
    seed_daily_portfolio,
)
from messaging.models import Message
from payments.models import Invoice
from personalisation.models import Decision

REPO = Path(settings.BASE_DIR)
CUSTOMERS_PER_CLAIM = 0.4
FLOOR_REPEATS = 3


def _sizes(text: str) -> list[int]:
    try:
        values = [int(v.replace("_", "")) for v in text.split(",") if v.strip()]
    except ValueError as error:
        raise CommandError(f"not a list of numbers: {text}") from error
    if not values or min(values) < 1:
        raise CommandError(f"not a list of positive numbers: {text}")
    return values


def database_url() -> str:
    """The URL of the database this process uses (the test database in tests)."""
    db = connection.settings_dict
    auth = db["USER"] or "postgres"
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    return (
        f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        + (db["NAME"])
    )


def create_database(url: str) -> bool:
    """Create the database of `url` on its server unless it exists."""
    name = url.rsplit("/", 1)[1].split("?")[0]
    server = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as conn:
        if conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone():
            return False
        conn.execute(f'CREATE DATABASE "{name}"')
    return True


def database_prepare() -> None:
    """`--create-database` of the benchmarks: DATABASE_URL's database made on
    its PostgreSQL server unless it exists, and migrated."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise CommandError("--create-database needs a postgres DATABASE_URL")
    create_database(url)
    call_command("migrate", verbosity=0, interactive=False)


def environment() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        # An exported tree has no .git: its commit can be given.
        commit = os.environ.get("GIT_COMMIT")
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgres": server,
        "commit": commit,
        "load": [round(x, 2) for x in os.getloadavg()],
    }


def _action_claims(creditor_id: int) -> str:
    """The claims that need an action today, as the floor finds them: open,
    overdue, no case or a case whose step was at least 11 days ago."""
    return (
        f"FROM {Invoice._meta.db_table} i LEFT JOIN {Case._meta.db_table} c "
        "ON c.invoice_id = i.id "
        f"WHERE i.creditor_id = {creditor_id} AND i.status = 'open' "
        "AND i.open_amount > 0 AND i.due_on < current_date - 3 "
        "AND (c.id IS NULL OR (c.state = 'in_dunning' "
        "AND c.last_step_on <= current_date - 11))"
    )


def time_floor() -> dict:
    """The minimal work of the day in two statements, rolled back; the
    fastest of `FLOOR_REPEATS` timings."""
    creditor = bench_creditor()
    decisions, decision_params = insert_select_sql(
        Decision,
        {
            "customer": "i.customer_id",
            "action": "'reminder'",
            "channel": "'email'",
            "send_at": "now()",
            "tone": "'friendly'",
            "language": "'de'",
            "policy": "'floor'",
        },
        _action_claims(creditor.pk),
    )
    messages, message_params = insert_select_sql(
        Message,
        {
            "creditor": str(creditor.pk),
            "customer": "d.customer_id",
            "channel": "'email'",
            "idempotency_key": "'floor-' || d.id",
            "status": "'planned'",
            "decision": "d.id",
            "action_date": "current_date",
            "scheduled_at": "now()",
            "language": "'de'",
            "tone": "'friendly'",
        },
        "FROM d",
    )
    insert = (
        f"WITH d AS ({decisions} RETURNING id, customer_id) {messages}",
        decision_params + message_params,
    )
    update = (
        f"UPDATE {Invoice._meta.db_table} SET updated_at = now() WHERE id IN "
        f"(SELECT i.id {_action_claims(creditor.pk)})",
        [],
    )
    # The best of three: one timing moved by 40 % between bench runs on the
    # shared machine, and the ratio divides by it.
    timings = []
    for _ in range(FLOOR_REPEATS):
        with transaction.atomic(), connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(*insert)
            inserted = cursor.rowcount
            cursor.execute(*update)
            updated = cursor.rowcount
            timings.append(round(time.perf_counter() - started, 3))
            transaction.set_rollback(True)
    return {
        "seconds": min(timings),
        "timings": timings,
        "messages": inserted,
        "claims": updated,
    }


class QueryCounter:
    """Counts the queries of this connection, and the batches by their lock."""

    def __init__(self):
        self.queries = 0
        self.batches = 0

    def __call__(self, execute, sql, params, many, context):
        self.queries += 1
        if "FOR UPDATE" in sql:
            self.batches += 1
        return execute(sql, params, many, context)


def measure_run(*, workers: int, batch_size: int) -> dict:
    """One daily run in this process (the `--child` side); its own figures."""
    from dunning.run import run_dunning

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_date")
        on = cursor.fetchone()[0]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        summary = run_dunning(
            actor="system:bench",
            run_date=on,
            plan_only=True,
            batch_size=batch_size,
            workers=workers,
        )
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures = {
        "seconds": round(seconds, 3),
        "claims_examined": summary["claims_examined"],
        "cases_opened": summary["cases_opened"],
        "steps": sum(summary["steps_taken"].values()),
        "messages": sum(summary["messages"].values()),
        "rss_before_mib": round(before / 1024, 1),
        "peak_rss_mib": round(peak / 1024, 1),
    }
    if workers == 1:
        # With workers the queries run in the qcluster processes.
        figures["queries"] = counter.queries
        figures["batches"] = counter.batches
        figures["queries_per_batch"] = (
            round(counter.queries / counter.batches, 1) if counter.batches else None
        )
    return figures


class Cluster:
    """A `qcluster` with `workers` workers, started and stopped by the bench;
    its scheduler is off (`dunning.bench_settings`)."""

    def __init__(self, workers: int, env: dict):
        self.log = tempfile.NamedTemporaryFile(
            "w+", prefix="bench-qcluster-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=REPO,
            env={
                **env,
                "Q_WORKERS": str(workers),
                "DJANGO_SETTINGS_MODULE": "dunning.bench_settings",
            },
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until a worker has run a trivial task: then the cluster is up."""
        from django_q.tasks import async_task, fetch

        task_id = async_task("math.floor", 1.5)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            if fetch(task_id) is not None:
                return
            time.sleep(0.2)
        self.stop()
        raise CommandError(f"qcluster did not start in {timeout} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        os.unlink(self.log.name)


class Command(BaseCommand):
    help = "Time the daily run at 10k, 100k and 1M claims beside the SQL floor."

    def add_arguments(self, parser):
        parser.add_argument(
            "--claims", default="10000,100000,1000000", help="Sizes, comma-separated"
        )
        parser.add_argument(
            "--workers", default="1,2", help="Worker counts, comma-separated"
        )
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--json", action="store_true", help="JSON lines only")
        parser.add_argument(
            "--create-database",
            action="store_true",
            help="Create and migrate the database of DATABASE_URL first",
        )
        # Internal: the measured run in its own process.
        parser.add_argument("--child", action="store_true", help="(internal)")

    def handle(self, *args, **options):
        if options["child"]:
            workers = _sizes(options["workers"])[0]
            figures = measure_run(workers=workers, batch_size=options["batch_size"])
            self.stdout.write(json.dumps(figures))
            return
        sizes = _sizes(options["claims"])
        worker_counts = _sizes(options["workers"])
        if options["create_database"]:
            database_prepare()
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark needs PostgreSQL (set DATABASE_URL).")
        name = connection.settings_dict["NAME"]
        if "bench" not in name and "test" not in name:
            raise CommandError(
                f"database {name!r}: the bench empties the portfolio tables, so it "
                "only runs on a database named *bench* or *test*."
            )
        self.as_json = options["json"]
        env = environment()
        child_env = {**os.environ, "DATABASE_URL": database_url()}
        for claims in sizes:
            self._size(claims, worker_counts, options["batch_size"], env, child_env)
        reset_portfolio()

    def _size(self, claims, worker_counts, batch_size, env, child_env):
        customers = max(1, round(claims * CUSTOMERS_PER_CLAIM))
        floor = None
        for workers in worker_counts:
            reset_portfolio()
            try:
                seeded = seed_daily_portfolio(customers=customers, claims=claims)
            except SeedError as error:
                raise CommandError(str(error)) from error
            if floor is None:
                self._emit("seed", env, **seeded)
                floor = time_floor()
                self._emit("floor", env, claims_total=claims, **floor)
            run = self._run(workers, batch_size, child_env)
            ratio = run["seconds"] / floor["seconds"] if floor["seconds"] else None
            self._emit(
                "run",
                env,
                claims_total=claims,
                customers=customers,
                workers=workers,
                batch_size=batch_size,
                floor_seconds=floor["seconds"],
                ratio=round(ratio, 1) if ratio else None,
                **run,
            )

    def _run(self, workers: int, batch_size: int, child_env: dict) -> dict:
        cluster = None
        if workers > 1:
            cluster = Cluster(workers, child_env)
            cluster.wait_ready()
        try:
            done = subprocess.run(
                [
                    sys.executable,
                    "manage.py",
                    "bench",
                    "--child",
                    f"--workers={workers}",
                    f"--batch-size={batch_size}",
                ],
                cwd=REPO,
                env=child_env,
                capture_output=True,
                text=True,
            )
        finally:
            if cluster is not None:
                cluster.stop()
        if done.returncode:
            raise CommandError(f"the measured run failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def _emit(self, figure: str, env: dict, **values) -> None:
        line = {"figure": figure, **values, "env": {**env, "load": _load()}}
        if self.as_json:
            self.stdout.write(json.dumps(line))
        else:
            shown = ", ".join(f"{k}={v}" for k, v in values.items())
            self.stdout.write(f"{figure}: {shown} (load {line['env']['load']})")


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
