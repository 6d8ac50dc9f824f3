"""Set-based seeding of large portfolios in PostgreSQL for the benchmarks.

Rows are computed by `INSERT … SELECT` over `generate_series` in the database, so
a million claims take seconds instead of the hours the ORM would need. Used by
`bench_admin`, `bench` and `seed_demo --sql`.
"""

import logging
import time

from django.db import connection, models, transaction

from customers.models import Creditor, Customer
from dunning.bulk import analyze_tables
from dunning.models import Case, CaseStep, Plan
from payments.models import Invoice, LedgerEntry

logger = logging.getLogger(__name__)

PREFIX = "BENCH-"
BENCH_CREDITOR = "Bench creditor"


class SeedError(Exception):
    pass


def insert_select_sql(model, expressions: dict[str, str], source: str):
    """The `INSERT … SELECT` of `model`'s rows from `source`, and its parameters.

    Columns not in `expressions` get now() for automatic timestamps, NULL where
    the field allows it and has no default, or the field's default, so the
    seeding keeps working when a model gains a field with a default.
    """
    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.name in expressions:
            values.append(expressions[field.name])
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            values.append("now()")
        elif field.null and not field.has_default():
            values.append("NULL")
        elif field.get_default() is not None:
            # The default, or "" for a text field without one, as Django saves it.
            values.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
        else:
            raise SeedError(f"No value for {model.__name__}.{field.name}")
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} "
        f"({', '.join(columns)}) SELECT {', '.join(values)} {source}"
    )
    return sql, params


def insert_select(model, count: int, expressions: dict[str, str], source: str = ""):
    """INSERT rows of `model` computed in SQL over `g` = 1..count (or `source`);
    returns the number of rows."""
    source = source or f"FROM generate_series(1, {int(count)}) AS g"
    sql, params = insert_select_sql(model, expressions, source)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def bench_creditor() -> Creditor:
    creditor, _ = Creditor.objects.get_or_create(
        name=BENCH_CREDITOR,
        defaults={"country": "DE", "time_zone": "Europe/Berlin"},
    )
    return creditor


def insert_customers(creditor: Creditor, count: int) -> int:
    """`count` consumers with an e-mail address; returns the lowest new id."""
    insert_select(
        Customer,
        count,
        {
            "creditor": str(creditor.pk),
            "external_id": f"'{PREFIX}C' || g",
            "name": "'Debtor ' || g || ' ' || md5(g::text)",
            "email": "'debtor' || g || '@example.com'",
            "city": "'Berlin'",
            "language": "(ARRAY['de','en'])[1 + mod(g, 2)]",
        },
    )
    return Customer.objects.filter(
        creditor=creditor, external_id__startswith=PREFIX
    ).aggregate(low=models.Min("id"))["low"]


def insert_principal_rows(creditor: Creditor) -> int:
    """One `principal` ledger row per bench claim, as an import books it."""
    return insert_select(
        LedgerEntry,
        0,
        {
            "invoice": "i.id",
            "kind": "'principal'",
            "component": "'principal'",
            "amount": "i.amount",
            "booked_on": "i.issued_on",
            "actor": "'system:bench'",
        },
        source=bench_claims_source(creditor),
    )


def bench_claims_source(creditor: Creditor) -> str:
    return (
        f"FROM {Invoice._meta.db_table} i WHERE i.creditor_id = {creditor.pk} "
        f"AND i.external_id LIKE '{PREFIX}%%'"
    )


# A daily-run portfolio: claim g's share is g mod 20, shifted per block of 20
# claims by 0, 2, 4 or 7 in turn (`_SHARE`), so each block holds every share
# once. Every case has the case step of its current step.
#   0, 10       paid                                         10 %
#   1-5, 11-15  not due yet (10 to 59 days ahead)            50 %
#   6-8, 16-18  in dunning, step 1 taken 2 days ago, next
#               step not due: read by the run, no action     30 %
#   9           7 days overdue, no case: case + step 1        5 %
#   19          step 1 taken 20 days ago: step 2 is due       5 %
# A customer has two or three consecutive claims (g * 0.4) and the claims
# whose share ends in 9 are at least 7 apart, so about one claim in ten, each
# of its own debtor, needs an action today: one message per acting debtor. The
# shifts put those debtors at customer offsets 3, 2, 1 and 0 modulo 4 in turn,
# so they spread evenly over 2, 3 or 4 partitions of the run (customer id
# modulo the workers); with plain g mod 20 every one of them had an odd offset
# and one of two workers got all the work.
_SHARE = "mod(g + (ARRAY[0, 2, 4, 7])[1 + mod((g - 1) / 20, 4)], 20)"
ACTION_SHARE = f"mod({_SHARE}, 10) = 9"


def seed_daily_portfolio(*, customers: int, claims: int) -> dict:
    """Seed the daily-run portfolio (PostgreSQL only); return counts and seconds.

    The dates are relative to the database's `current_date`, which is the day
    the run must be given. The default plan's steps are used.
    """
    if connection.vendor != "postgresql":
        raise SeedError("SQL seeding needs PostgreSQL (set DATABASE_URL).")
    if customers < 1 or claims < customers:
        raise SeedError("need at least one customer and one claim per customer")
    plan = Plan.objects.filter(is_default=True).first()
    if plan is None:
        raise SeedError("no default plan: run migrate first")
    steps = list(plan.steps.order_by("position").values_list("id", flat=True))
    started = time.monotonic()
    with transaction.atomic():
        creditor = bench_creditor()
        if Invoice.objects.filter(creditor=creditor).exists():
            raise SeedError("the bench creditor has claims already: reset first")
        low = insert_customers(creditor, customers)
        share = _SHARE
        due = (
            f"CASE WHEN {share} IN (0, 10) THEN current_date - 40 "
            f"WHEN {share} IN (6, 7, 8, 16, 17, 18) THEN current_date - 8 "
            f"WHEN {share} = 9 THEN current_date - 7 "
            f"WHEN {share} = 19 THEN current_date - 25 "
            "ELSE current_date + 10 + mod(g, 50) END"
        )
        paid = f"{share} IN (0, 10)"
        insert_select(
            Invoice,
            claims,
            {
                "creditor": str(creditor.pk),
                # floor((g - 1) * customers / claims): consecutive claims share
                # a customer, every customer gets one or more.
                "customer": f"{low} + ((g - 1)::bigint * {customers}) / {claims}",
                "external_id": f"'{PREFIX}' || g",
                "number": "'BI-' || lpad(g::text, 8, '0')",
                "currency": "'EUR'",
                "amount": "20 + mod(g, 2000)",
                "issued_on": f"({due}) - 30",
                "due_on": due,
                "status": f"CASE WHEN {paid} THEN 'paid' ELSE 'open' END",
                "open_amount": f"CASE WHEN {paid} THEN 0 ELSE 20 + mod(g, 2000) END",
                "settled_on": f"CASE WHEN {paid} THEN current_date - 10 END",
            },
        )
        insert_principal_rows(creditor)
        # Cases of the claims already in dunning: they sit at step 1.
        cases = insert_select(
            Case,
            0,
            {
                "invoice": "i.id",
                "customer": "i.customer_id",
                "creditor": "i.creditor_id",
                "plan": str(plan.pk),
                "state": "'in_dunning'",
                "current_step": str(steps[0]),
                "last_step_on": (
                    "CASE WHEN i.due_on = current_date - 25 THEN current_date - 20 "
                    "ELSE current_date - 2 END"
                ),
                "opened_on": "i.due_on + 3",
            },
            source=(
                f"{bench_claims_source(creditor)} AND i.status = 'open' "
                "AND i.due_on IN (current_date - 8, current_date - 25)"
            ),
        )
        # The step each of those cases took, as a real portfolio has it.
        case_steps = insert_select(
            CaseStep,
            0,
            {
                "case": "c.id",
                "step": "c.current_step_id",
                "taken_on": "c.last_step_on",
                "fee": "0",
                "open_amount": "i.open_amount",
                "actor": "'system:bench'",
            },
            source=(
                f"FROM {Case._meta.db_table} c JOIN {Invoice._meta.db_table} i "
                f"ON i.id = c.invoice_id WHERE c.creditor_id = {creditor.pk}"
            ),
        )
    # Fresh statistics, so that the run's plans (and the foreign-key checks
    # PostgreSQL prepares once per connection) see the seeded sizes.
    analyze_tables([Customer, Invoice, LedgerEntry, Case, CaseStep])
    seconds = time.monotonic() - started
    logger.info("seeded %d customers, %d claims in %.1f s", customers, claims, seconds)
    return {
        "customers": customers,
        "claims": claims,
        "cases": cases,
        "case_steps": case_steps,
        "seconds": round(seconds, 3),
    }


def reset_portfolio() -> None:
    """Empty every table the portfolio and the run write (PostgreSQL).

    TRUNCATE … CASCADE also empties the tables that point at customers and
    claims (cases, steps, ledger, messages, decisions, logs); configuration
    (plans, policies, rules) stays.
    """
    from django.contrib.contenttypes.models import ContentType
    from django_fsm_log.models import StateLog

    from dunning.models import Run

    tables = [
        Customer._meta.db_table,
        Run._meta.db_table,
        "django_q_ormq",
        "django_q_task",
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {', '.join(connection.ops.quote_name(t) for t in tables)} "
            "CASCADE"
        )
    StateLog.objects.filter(
        content_type=ContentType.objects.get_for_model(Case)
    ).delete()
