"""Erasure leaves no trace of the person in any table; the books stay."""

import base64
import pickle
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection, models
from django.db.migrations.recorder import MigrationRecorder
from django.db.models.functions import Cast

from config.caches import TABLE as CACHE_TABLE
from payments.models import Invoice, LedgerEntry, ledger_sum
from privacy.erasure import ErasureError, customer_erase
from privacy.models import AccessLog, Erasure
from tests.privacy.conftest import ZORA

pytestmark = pytest.mark.django_db

TEXT = (models.CharField, models.TextField, models.JSONField)


def every_model():
    return [*apps.get_models(include_auto_created=True), MigrationRecorder.Migration]


def personal_data_found(terms) -> list[tuple[str, str, str]]:
    """(table, column, term) for every text, char or JSON value holding a term."""
    found = []
    for model in every_model():
        for field in model._meta.concrete_fields:
            if not isinstance(field, TEXT):
                continue
            values = model._base_manager.annotate(
                _text=Cast(field.name, models.TextField())
            ).values_list("_text", flat=True)
            for term in terms:
                pattern = re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", re.I)
                for value in values.filter(_text__icontains=term):
                    if pattern.search(value):
                        found.append((model._meta.db_table, field.column, term))
    for column, value in cached_values():
        for term in terms:
            if re.search(rf"(?<!\w){re.escape(term)}(?!\w)", value, re.I):
                found.append((CACHE_TABLE, column, term))
    return found


def cached_values():
    """The database cache's keys and values, unpickled (rate-limit counters)."""
    if CACHE_TABLE not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT cache_key, value FROM {CACHE_TABLE}")
        for key, value in cursor.fetchall():
            yield "cache_key", key
            yield "value", repr(pickle.loads(base64.b64decode(value)))


def balances() -> dict[int, tuple]:
    rows = {}
    for invoice in Invoice.objects.all():
        total = ledger_sum(
            LedgerEntry.objects.filter(invoice=invoice).aggregate(
                s=models.Sum("amount")
            )["s"]
        )
        rows[invoice.pk] = (total, invoice.open_amount, invoice.amount, invoice.due_on)
    return rows


def test_every_table_is_scanned(db):
    """The scan reaches every table in the database, history and queue included."""
    tables = {model._meta.db_table for model in every_model()} | {CACHE_TABLE}

    assert set(connection.introspection.table_names()) <= tables
    assert {"audit_historicalcreditor", "django_q_task", "django_q_ormq"} <= tables


def test_erasure_leaves_no_personal_data_and_the_ledger_balances(
    zora_everywhere, zora, manager, django_capture_on_commit_callbacks
):
    terms = [str(value) for value in ZORA.values()]
    letter = Path(zora_everywhere["letter"].file_path)
    ledger_rows = list(LedgerEntry.objects.order_by("id").values_list("id", "amount"))
    before = balances()
    assert letter.is_file()
    assert {term for _, _, term in personal_data_found(terms)} == set(terms)

    with django_capture_on_commit_callbacks(execute=True):
        erasure = customer_erase(
            customer=zora, actor=manager, reason="request of the data subject"
        )

    assert personal_data_found(terms) == []
    assert not letter.exists()
    assert balances() == before
    assert all(total == open_amount for total, open_amount, *_ in before.values())
    assert list(LedgerEntry.objects.order_by("id").values_list("id", "amount")) == (
        ledger_rows
    )
    zora.refresh_from_db()
    assert zora.name == f"erased customer {zora.pk}"
    assert zora.birth_year is None and zora.birth_date is None
    assert (zora.street, zora.postcode, zora.city, zora.subdivision) == ("",) * 4
    assert zora.country == "DE"
    assert not zora.portal_links.filter(revoked_at__isnull=True).exists()
    assert erasure.actor == f"user:{manager.pk}" and not erasure.forced
    assert AccessLog.objects.filter(
        customer=zora, action="erase", user=manager
    ).exists()


def test_an_open_claim_refuses_erasure_and_changes_nothing(zora, make_invoice, clerk):
    make_invoice(zora, amount="80.00")

    with pytest.raises(ErasureError, match="still open or disputed: INV-0001"):
        customer_erase(customer=zora, actor="system:test", reason="asked")
    with pytest.raises(ErasureError, match="Only a dunning manager"):
        customer_erase(customer=zora, actor=clerk, reason="asked", force=True)

    zora.refresh_from_db()
    assert zora.name == ZORA["name"] and zora.email == ZORA["email"]
    assert not Erasure.objects.exists()


def test_a_manager_forces_erasure_of_an_open_claim(zora, make_invoice, manager):
    invoice = make_invoice(zora, amount="80.00")

    erasure = customer_erase(
        customer=zora, actor=manager, reason="court order", force=True
    )

    invoice.refresh_from_db()
    assert erasure.forced
    assert invoice.open_amount == 80 and invoice.status == "open"
    with pytest.raises(ErasureError, match="already erased"):
        customer_erase(customer=zora, actor=manager, reason="again", force=True)


def test_admin_erasure_asks_for_confirmation_and_is_for_managers(
    client, zora, make_invoice, manager, clerk
):
    url = "/admin/customers/customer/"
    client.force_login(clerk)
    page = client.get(url)
    assert "erase_personal_data" not in page.content.decode()

    client.force_login(manager)
    action = {"action": "erase_personal_data", "_selected_action": [zora.pk]}
    confirm = client.post(url, action)
    assert b"Erase the personal data of 1 customer" in confirm.content
    assert not Erasure.objects.exists()

    done = client.post(url, {**action, "confirm": "1", "reason": "asked by phone"})

    assert done.status_code == 302
    assert Erasure.objects.get(customer=zora).reason == "asked by phone"
