"""Writing a batch's rows: one COPY on PostgreSQL, `bulk_create` elsewhere.

The run builds each row once, as a dict of column values by field attname
(`case_id`, not `case`), and `insert_rows` writes it. On PostgreSQL the ids, where
the caller needs them, come from the table's sequence in one query and the rows
go in with one `COPY`, which skips what made the run's bulk INSERTs slow: the
ORM preparing every value and psycopg quoting the arrays of Django's `UNNEST`
insert in Python. Elsewhere (SQLite) the same dicts become model instances for
`bulk_create`, so both paths write the same values.

Fields a row leaves out get what the ORM would give them: one time per call for
`auto_now` / `auto_now_add`, the field's default (a callable one called per
row, as `Model()` does), NULL where the field allows it.
"""

import functools
import json
from operator import itemgetter

from django.db import connection
from django.db.models import JSONField
from django.utils import timezone

# The sequence of each table's id, looked up once per process.
_sequences: dict[str, str] = {}


def model_row(instance) -> dict:
    """The column values of an unsaved instance, by attname, without its id
    and automatic timestamps (`insert_rows` sets those)."""
    return {name: getattr(instance, name) for name in _row_names(type(instance))}


def insert_rows(model, rows: list[dict], *, ids: bool = True) -> list[int]:
    """Insert `rows` of `model` (dicts with the same keys) in the caller's
    transaction; return their ids in the same order.

    With `ids=False` the table's identity default numbers the rows and
    nothing is returned: for rows nothing else in the batch points at (log
    rows, ledger rows, message items), which saves the query for the ids.
    """
    if not rows:
        return []
    if connection.vendor == "postgresql":
        numbers = _copy_rows(model, rows, ids=ids)
    else:
        numbers = _create_rows(model, rows)
    return numbers if ids else []


def _create_rows(model, rows: list[dict]) -> list[int]:
    instances = [model(**row) for row in rows]
    model.objects.bulk_create(instances)
    return [instance.pk for instance in instances]


def analyze_tables(models: list) -> None:
    """ANALYZE the tables of `models` (PostgreSQL), so that the planner, and
    the foreign-key checks planned once per connection, see their sizes."""
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


def _is_timestamp(field) -> bool:
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)


@functools.cache
def _fields(model) -> dict:
    return {f.attname: f for f in model._meta.concrete_fields if not f.primary_key}


@functools.cache
def _row_names(model) -> tuple[str, ...]:
    return tuple(n for n, f in _fields(model).items() if not _is_timestamp(f))


def _copy_rows(model, rows: list[dict], *, ids: bool) -> list[int]:
    fields = _fields(model)
    given = [name for name in rows[0] if name != "id"]
    unknown = set(given) - set(fields)
    if unknown:
        raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
    stamp = timezone.now()
    # Per column of the COPY: where its value comes from (the row, a
    # constant, a callable default) and whether it is JSON.
    given = [name for name in given if not _is_timestamp(fields[name])]
    constants, per_row_defaults = [], []
    for name, field in fields.items():
        if name in given:
            continue
        if _is_timestamp(field):
            constants.append((field, stamp))
        elif field.has_default() and callable(field.default):
            if field.default in (dict, list):
                constants.append((field, field.default()))
            else:
                per_row_defaults.append(field)
        else:
            # The default, NULL, or "" for a text field without a default.
            constants.append((field, field.get_default()))
    json_given = [
        index for index, name in enumerate(given) if isinstance(fields[name], JSONField)
    ]
    constant_values = tuple(_json(f, v) for f, v in constants)
    columns = ["id"] if ids else []
    columns += [fields[name].column for name in given]
    columns += [field.column for field, _ in constants]
    columns += [field.column for field in per_row_defaults]

    table = model._meta.db_table
    values_of = itemgetter(*given)
    single = len(given) == 1
    with connection.cursor() as cursor:
        numbers = []
        if ids:
            cursor.execute(
                "SELECT nextval(%s) FROM generate_series(1, %s)",
                [_sequence(cursor, table), len(rows)],
            )
            numbers = [row[0] for row in cursor.fetchall()]
        sql = "COPY {} ({}) FROM STDIN".format(
            connection.ops.quote_name(table),
            ", ".join(connection.ops.quote_name(c) for c in columns),
        )

        def values(row) -> tuple:
            found = (values_of(row),) if single else values_of(row)
            if json_given:
                found = list(found)
                for index in json_given:
                    found[index] = _json(fields[given[index]], found[index])
            return (
                *found,
                *constant_values,
                *(_json(f, f.get_default()) for f in per_row_defaults),
            )

        def copy(sql, params, many, context):
            with cursor.cursor.copy(sql) as copy:
                if ids:
                    for number, row in zip(numbers, rows, strict=True):
                        copy.write_row((number, *values(row)))
                else:
                    for row in rows:
                        copy.write_row(values(row))

        _execute_wrapped(cursor, sql, copy)
    return numbers


def _json(field, value):
    if isinstance(field, JSONField) and value is not None:
        return json.dumps(value, cls=field.encoder)
    return value


def _sequence(cursor, table: str) -> str:
    if table not in _sequences:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        _sequences[table] = cursor.fetchone()[0]
    return _sequences[table]


def _execute_wrapped(cursor, sql: str, executor) -> None:
    """Run `executor` as Django runs a query: inside the connection's execute
    wrappers (query counters, fault injection) and its error translation, so a
    unique violation in the COPY is an `IntegrityError` like any other."""
    for wrapper in reversed(connection.execute_wrappers):
        executor = functools.partial(wrapper, executor)
    with connection.wrap_database_errors:
        executor(sql, None, False, {"connection": connection, "cursor": cursor})
