"""Fault injection: the product's own commands in real processes, on PostgreSQL.

The subprocesses reach the test database through DATABASE_URL, built from the
connection pytest-django opened (so TEST_DATABASE_NAME is honoured), and write
to the test's own outbox through OUTBOX_DIR.
"""

import email
import email.policy
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from customers.models import Creditor, Customer
from dunning.models import CaseStep
from messaging.models import Message
from payments.models import LedgerEntry
from payments.services import invoice_create
from tests.conftest import REPO_DIR

# The run date of the fault tests: every claim below has a step due on it.
RUN_DATE = date(2025, 4, 10)


def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: real processes and row locks over one database "
            "(set DATABASE_URL)"
        )


def database_url() -> str:
    """The URL of the test database the current connection uses."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(outbox: Path, **extra: str) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TEST_DATABASE_NAME", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        DATABASE_URL=database_url(),
        OUTBOX_DIR=str(outbox),
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def manage(outbox: Path, *args: str, log: Path, **env: str) -> subprocess.Popen:
    """Start `manage.py <args>` in its own process group against the test DB."""
    return subprocess.Popen(
        [sys.executable, str(REPO_DIR / "manage.py"), *args],
        cwd=REPO_DIR,
        env=process_env(outbox, **env),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the whole process group: no handler, no cleanup, no commit."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def wait_until(condition, *, timeout: float, every: float = 0.02, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def make_portfolio(standard_plan, *, creditors: int, customers: int) -> list[int]:
    """Creditors with e-mail debtors whose claims have steps 1 to 3 due on
    RUN_DATE; one batch transaction of the run per creditor. Returns the ids
    of the claims that are due."""
    due_ids = []
    for c in range(creditors):
        creditor = Creditor.objects.create(
            name=f"Creditor {c}",
            street="Hauptstraße 1",
            postcode="10115",
            city="Berlin",
            country="DE",
            time_zone="Europe/Berlin",
            iban="DE89370400440532013000",
            email=f"billing{c}@creditor.example",
        )
        for n in range(customers):
            customer = Customer.objects.create(
                creditor=creditor,
                external_id=f"F-{c}-{n}",
                kind="consumer",
                name=f"Debtor {c}-{n}",
                email=f"d{c}-{n}@example.com",
                street="Weg 1",
                postcode="10117",
                city="Berlin",
                country="DE",
                language="de" if n % 2 else "en",
                time_zone="Europe/Berlin",
            )
            # 5, 20 and 35 days late: step 1, 2 or 3 is the one due today.
            for k in range(1 + n % 2):
                due_on = RUN_DATE - timedelta(days=5 + 15 * ((n + k) % 3))
                number = f"F-{c}-{n}-{k}"
                invoice = invoice_create(
                    creditor=creditor,
                    customer=customer,
                    external_id=number,
                    number=number,
                    currency="EUR",
                    amount=Decimal(100 + n + k),
                    issued_on=due_on - timedelta(days=30),
                    due_on=due_on,
                    actor="test",
                )
                due_ids.append(invoice.id)
    return due_ids


def outcome() -> dict:
    """What the run wrote, in terms that do not depend on ids or timing."""
    return {
        "steps": sorted(
            (cs.case.invoice.number, cs.step.position, str(cs.fee), cs.taken_on)
            for cs in CaseStep.objects.select_related("case__invoice", "step")
        ),
        "fees": sorted(
            (e.invoice.number, str(e.amount), e.case_step.step.position)
            for e in LedgerEntry.objects.filter(kind="fee").select_related(
                "invoice", "case_step__step"
            )
        ),
        "messages": sorted(
            (
                m.customer.external_id,
                m.channel,
                m.action_date,
                tuple(sorted(i.invoice.number for i in m.items.all())),
            )
            for m in Message.objects.select_related("customer").prefetch_related(
                "items__invoice"
            )
        ),
    }


def outbox_recipients(outbox: Path) -> Counter:
    """How many e-mails the file backend wrote to each address."""
    counts = Counter()
    separator = b"\n" + b"-" * 79 + b"\n"
    for path in sorted((outbox / "email").glob("*.log")):
        for raw in path.read_bytes().split(separator):
            if raw.strip():
                mail = email.message_from_bytes(raw, policy=email.policy.default)
                counts[str(mail["To"])] += 1
    return counts
