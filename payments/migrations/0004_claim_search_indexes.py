"""Trigram indexes for the claim and case searches, and the claim list's order.

The admin searches claims with `icontains`, which PostgreSQL compares as
`UPPER(column::text) LIKE UPPER('%term%')`: only a trigram index on that
expression answers it without reading every row (see docs/BENCHMARKS.md for
the figures on a million claims). The claim list's default order (`due_on`,
`id`) needs its own index for the first page.

PostgreSQL only: SQLite has no trigram indexes, and its test databases are
small enough to scan, so there the migration does nothing.
"""

from django.db import migrations

INDEXES = {
    "invoice_number_trgm": (
        "payments_invoice USING gin (upper(number::text) gin_trgm_ops)"
    ),
    "invoice_external_id_trgm": (
        "payments_invoice USING gin (upper(external_id::text) gin_trgm_ops)"
    ),
    "customer_name_trgm": (
        "customers_customer USING gin (upper(name::text) gin_trgm_ops)"
    ),
    "customer_external_id_trgm": (
        "customers_customer USING gin (upper(external_id::text) gin_trgm_ops)"
    ),
    "invoice_due_id": "payments_invoice (due_on, id)",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # A trusted extension since PostgreSQL 13: the database owner may create it.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX {name} ON {definition}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm stays: it may have been there before, or serve other indexes.
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("payments", "0003_seed_interest_regimes"),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
