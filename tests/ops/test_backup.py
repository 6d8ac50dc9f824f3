"""Backup and restore of PostgreSQL by the operators' scripts, end to end."""

import os
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection

from customers.models import Customer
from payments.models import Invoice, LedgerEntry, Payment
from payments.services import payment_record
from tests.conftest import REPO_DIR

SCRIPTS = REPO_DIR / "ops" / "scripts"

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="pg_dump and pg_restore back up PostgreSQL only; set DATABASE_URL",
    ),
    pytest.mark.skipif(
        shutil.which("pg_dump") is None or shutil.which("pg_restore") is None,
        reason="pg_dump / pg_restore missing (apt-get install postgresql-client)",
    ),
]

TABLES = [Customer, Invoice, Payment, LedgerEntry]


def database_url(name: str) -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{db['PORT'] or 5432}/{name}"


def facts(url: str) -> dict:
    """Row counts of the ledger's tables and each claim's balance."""
    with psycopg.connect(url) as conn:
        counts = {
            model._meta.db_table: conn.execute(
                f'SELECT count(*) FROM "{model._meta.db_table}"'
            ).fetchone()[0]
            for model in TABLES
        }
        balances = dict(
            conn.execute(
                f'SELECT invoice_id, sum(amount) FROM "{LedgerEntry._meta.db_table}" '
                "GROUP BY invoice_id ORDER BY invoice_id"
            ).fetchall()
        )
    return {"counts": counts, "balances": balances}


def run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPTS / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def scratch_url():
    name = f"dunning_restore_{os.getpid()}"
    url = database_url(name)
    yield url
    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_a_restored_backup_has_the_same_rows_and_balances(
    alice, bob_ltd, make_invoice, scratch_url, tmp_path
):
    first = make_invoice(alice, amount="120.00")
    second = make_invoice(alice, amount="80.50")
    make_invoice(bob_ltd, amount="1000.00", currency="GBP")
    payment_record(
        customer=alice,
        amount=Decimal("150.00"),
        currency="EUR",
        received_on=date(2025, 3, 10),
        actor="test",
        invoice=first,
    )
    source = database_url(connection.settings_dict["NAME"])
    before = facts(source)
    backup = tmp_path / "dunning.dump"

    dumped = run("backup.sh", source, str(backup))
    restored = run("restore.sh", str(backup), scratch_url)

    assert dumped.returncode == 0, dumped.stderr
    assert restored.returncode == 0, restored.stderr
    after = facts(scratch_url)
    assert after == before
    assert before["counts"][Payment._meta.db_table] == 1
    # 150.00 settles the named claim; the 30.00 left goes to the next one.
    assert after["balances"][first.pk] == Decimal("0.00")
    assert after["balances"][second.pk] == Decimal("50.50")


@pytest.mark.django_db(transaction=True)
def test_a_restore_never_writes_over_an_existing_database(tmp_path, creditor):
    source = database_url(connection.settings_dict["NAME"])
    backup = tmp_path / "dunning.dump"
    assert run("backup.sh", source, str(backup)).returncode == 0

    refused = run("restore.sh", str(backup), source)

    assert refused.returncode != 0
    assert "already exists" in refused.stderr
