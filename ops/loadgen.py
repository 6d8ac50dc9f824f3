"""Load from a second process: gunicorn on the loopback, virtual users in threads.

The benchmarks of the debtor page (`bench_portal`) and of the ERP API
(`bench_api_load`) share this. `serve()` starts gunicorn (DEBUG off, no access
log) as a subprocess on a free port of 127.0.0.1 against the database this
process uses; `run_load()` runs one thread per virtual user, each with its own
keep-alive `requests.Session`. A user first does what it does once (`begin`:
the debtor's first visit, say), then asks for request after request (`next`)
until the end, with a think time between an answer and the next request drawn
evenly from 0.5 to 1.5 times `think` seconds; `think=0` keeps a request of
every user always in flight. Only the requests that start after the warm-up
count in the figures, by the label of each request; any answer whose status
the request does not expect and any exception is an error, warm-up included.

The gunicorn workers' CPU time over the measured window is read from /proc
(Linux), and so is that of the PostgreSQL backends serving the benchmark's
database when PostgreSQL runs on this machine, and this process's own (the
load generator shares the cores): what a request costs, whatever else the
machine is doing, unlike the latencies.
"""

import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection

TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def numbers(text: str) -> list[int]:
    """`--users 20,100` as a list of positive numbers."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError as error:
        raise CommandError(f"not a list of numbers: {text}") from error
    if not values or min(values) < 1:
        raise CommandError(f"not a list of positive numbers: {text}")
    return values


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, round(share * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def refuse_live_database(what: str) -> None:
    """Benchmarks write rows: only a database named *bench* or *test*."""
    name = str(connection.settings_dict["NAME"])
    if "bench" not in name and "test" not in name:
        raise CommandError(
            f"database {name!r}: the benchmark writes {what}, so it only runs on "
            "a database named *bench* or *test*."
        )


def refuse_unmigrated() -> None:
    """gunicorn loads the checkout's models: a database behind them answers
    500s that are no measurement."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise CommandError(
            f"{len(pending)} migrations not applied: run migrate first "
            "(or pass --create-database)."
        )


def database_url() -> str:
    """The URL of the database this process is connected to, for gunicorn: a
    test run's database is not the one DATABASE_URL names."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    if connection.vendor != "postgresql":
        raise CommandError(f"no load benchmark on {connection.vendor}")
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(str(db['NAME']), safe='')}"


@dataclass(frozen=True)
class Server:
    """How gunicorn serves: its workers, their class and threads."""

    workers: int = 2
    worker_class: str = "gthread"
    threads: int = 4

    def describe(self) -> str:
        kind = self.worker_class
        if kind == "gthread":
            kind += f" --threads {self.threads}"
        return f"gunicorn -w {self.workers} {kind}"


@contextmanager
def serve(server: Server, probe: str) -> Iterator[tuple[str, int]]:
    """gunicorn on a free loopback port: yields its base URL and its master's
    pid, and stops it afterwards. `probe` is a path to ask until it answers
    (any status)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-" * 3),
        "ALLOWED_HOSTS": "127.0.0.1",
        # Plain HTTP on the loopback: no redirect to HTTPS, cookies sent.
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "DATABASE_CONN_MAX_AGE": "600",
    }
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(server.workers),
        "--worker-class",
        server.worker_class,
        "--timeout",
        "120",
        # No access log: a debtor's path holds the token.
        "--log-level",
        "warning",
    ]
    if server.worker_class == "gthread":
        command += ["--threads", str(server.threads)]
    # The cache table of gunicorn's own configuration (`CACHE_URL=db://<table>`),
    # which a `migrate` under other settings did not make (it makes django_cache).
    subprocess.run(
        [sys.executable, "manage.py", "createcachetable"],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    process = subprocess.Popen(
        command, cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(process, base + probe)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_up(process: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=10, allow_redirects=False)
            return
        except requests.RequestException:
            if process.poll() is not None:
                raise CommandError("gunicorn exited at start-up") from None
            time.sleep(0.3)
    raise CommandError("gunicorn did not start within 120 s")


def _proc_cpu_seconds(stat: Path) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of one /proc/<pid>/stat."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # ppid is the 4th field of the line, utime and stime the 14th and 15th.
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf(
        "SC_CLK_TCK"
    )


def workers_cpu_seconds(master_pid: int) -> float:
    """CPU time (user + system) of the gunicorn master's workers so far."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        read = _proc_cpu_seconds(stat)
        if read is not None and read[0] == master_pid:
            total += read[1]
    return total


def database_cpu_seconds() -> dict[int, float] | None:
    """CPU time so far of each PostgreSQL backend on this database but this
    process's own; None where /proc shows none of them (another host)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = [pid for (pid,) in cursor.fetchall()]
    seconds = {}
    for pid in pids:
        proc = Path(f"/proc/{pid}")
        try:
            # The same pid on another host's server is some other process.
            if not (proc / "comm").read_text().startswith("postgres"):
                continue
        except OSError:
            continue
        read = _proc_cpu_seconds(proc / "stat")
        if read is not None:
            seconds[pid] = read[1]
    return seconds or None


@dataclass(frozen=True)
class Request:
    """One request of a virtual user; `path` starts with a slash."""

    label: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] | None = None
    expect: frozenset[int] = frozenset({200})


class VirtualUser:
    """One client of the load: what it does once, then request after request."""

    def begin(self, session: requests.Session, base: str, tally: "Tally") -> bool:
        """Before the loop (during the warm-up); False stops this user, who
        then recorded an error."""
        return True

    def next(self, previous: requests.Response | None) -> Request:
        """The next request; `previous` is the answer to the last one when it
        had an expected status."""
        raise NotImplementedError


@dataclass
class Tally:
    """What the virtual users measured; each appends under the lock."""

    seconds: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    ms: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    workers_cpu: float = 0.0
    database_cpu: float | None = None
    # This process's: the virtual users' threads share the cores with the
    # server on one machine.
    client_cpu: float = 0.0

    def record(self, label: str, ms: float) -> None:
        with self.lock:
            self.ms.setdefault(label, []).append(ms)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors[what] = self.errors.get(what, 0) + 1

    def count(self, labels: Sequence[str] | None = None) -> int:
        return sum(len(v) for k, v in self.ms.items() if labels is None or k in labels)

    def figures(self, labels: Sequence[str]) -> dict:
        """Requests, requests/s and p50/p95/p99 in ms of these labels together."""
        times = sorted(t for label in labels for t in self.ms.get(label, []))
        if not times:
            return {"requests": 0, "per_second": 0.0}
        return {
            "requests": len(times),
            "per_second": round(len(times) / self.seconds, 2),
            "p50_ms": round(percentile(times, 0.50), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
            "p99_ms": round(percentile(times, 0.99), 1),
        }


def run_load(
    base: str,
    users: Sequence[VirtualUser],
    *,
    warm_up: float,
    seconds: float,
    think: float,
    master_pid: int,
    seed: int = 0,
) -> Tally:
    """Run the users in threads; count what starts after `warm_up` seconds
    for `seconds` more."""
    tally = Tally(seconds=seconds)
    start = threading.Barrier(len(users) + 1)
    began = time.perf_counter()
    measure_from = began + warm_up
    stop_at = measure_from + seconds
    threads = [
        threading.Thread(
            target=_drive,
            args=(user, base, random.Random(seed * 100_003 + index), start),
            kwargs={
                "measure_from": measure_from,
                "stop_at": stop_at,
                "think": think,
                "tally": tally,
            },
            daemon=True,
        )
        for index, user in enumerate(users)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    time.sleep(max(0.0, measure_from - time.perf_counter()))
    workers_before = workers_cpu_seconds(master_pid)
    database_before = database_cpu_seconds()
    client_before = time.process_time()
    time.sleep(max(0.0, stop_at - time.perf_counter()))
    tally.client_cpu = time.process_time() - client_before
    tally.workers_cpu = workers_cpu_seconds(master_pid) - workers_before
    database_after = database_cpu_seconds()
    if database_before is not None and database_after is not None:
        # A backend that opened during the window counts from zero.
        tally.database_cpu = sum(
            after - database_before.get(pid, 0.0)
            for pid, after in database_after.items()
        )
    for thread in threads:
        thread.join(timeout=TIMEOUT + 5)
    return tally


def _drive(user, base, rng, start, *, measure_from, stop_at, think, tally) -> None:
    session = requests.Session()
    start.wait()
    try:
        if not user.begin(session, base, tally):
            return
        previous = None
        while (now := time.perf_counter()) < stop_at:
            request = user.next(previous)
            previous = None
            try:
                answer = session.request(
                    request.method,
                    base + request.path,
                    data=request.body,
                    headers=request.headers,
                    allow_redirects=False,
                    timeout=TIMEOUT,
                )
            except requests.RequestException as exc:
                tally.error(f"{request.label}: {type(exc).__name__}")
            else:
                elapsed = (time.perf_counter() - now) * 1000
                if answer.status_code not in request.expect:
                    tally.error(f"{request.label}: {answer.status_code}")
                else:
                    previous = answer
                    if now >= measure_from:
                        tally.record(request.label, elapsed)
            if think:
                time.sleep(think * rng.uniform(0.5, 1.5))
    except Exception as exc:
        # A user that breaks shows in the errors instead of leaving quietly.
        tally.error(f"virtual user: {type(exc).__name__}: {exc}")
    finally:
        session.close()
