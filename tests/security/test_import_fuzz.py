"""Hostile and broken files: a clear error naming line and reason, nothing written.

Every case starts from a creditor with one imported customer and claim, so that
"nothing written" is checked against rows that exist, not against an empty table.
"""

import re
from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from customers.models import Creditor, Customer
from payments.models import CreditNote, Invoice, LedgerEntry, Payment

pytestmark = pytest.mark.django_db

HEADER = "customer_id,customer_name,email,invoice_id,currency,amount,issued_on,due_on"
GOOD_ROW = "C1,Alice Ahrens,alice@example.com,INV-1,EUR,100.00,2025-01-10,2025-02-10"
GOOD = f"{HEADER}\n{GOOD_ROW}\n"
BOOKINGS_HEADER = "type,external_id,customer_id,invoice_id,amount,currency,date"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@contextmanager
def one_example():
    """An example starts from the fixture's rows: hypothesis runs every example
    in one test's database, so each example's own writes are rolled back."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def counts() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (Creditor, Customer, Invoice, Payment, CreditNote, LedgerEntry)
    )


def run(*paths) -> None:
    call_command(
        "import_portfolio",
        *[str(path) for path in paths],
        "--format",
        "csv",
        "--json",
        stdout=StringIO(),
    )


@pytest.fixture
def imported(tmp_path):
    """One customer with one claim, imported from GOOD; returns the row counts."""
    path = tmp_path / "first.csv"
    path.write_text(GOOD, "utf-8")
    run(path)
    return counts()


def rejected(tmp_path, content: bytes, *, bookings: bytes | None = None) -> str:
    """Import the bytes; assert the import is refused and writes nothing."""
    before = counts()
    path = tmp_path / "invoices.csv"
    path.write_bytes(content)
    paths = [path]
    if bookings is not None:
        paths.append(tmp_path / "bookings.csv")
        paths[1].write_bytes(bookings)
    with pytest.raises(CommandError) as caught:
        run(*paths)
    assert counts() == before
    message = str(caught.value)
    assert message.startswith("Nothing was imported.")
    return message


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", r"invoices\.csv: the file is empty or has no header"),
        (GOOD.encode("utf-16"), r"invoices\.csv: the file is UTF-16, not UTF-8"),
        (
            GOOD.encode("utf-16-le"),
            r"invoices\.csv line 1: the file contains NUL bytes",
        ),
        (
            (GOOD + "C2,Jürgen Groß,,INV-2,EUR,5.00,2025-01-10,2025-02-10\n").encode(
                "latin-1"
            ),
            r"invoices\.csv line 3: the file is not UTF-8 \(byte 0xfc\)",
        ),
        (
            GOOD.replace(",", ";").encode(),
            r"invoices\.csv: columns are separated by semicolons",
        ),
        (
            GOOD.replace(",", "\t").encode(),
            r"invoices\.csv: columns are separated by tabs",
        ),
        (
            f"{HEADER},amount\n{GOOD_ROW},1\n".encode(),
            r"invoices\.csv: column\(s\) amount appear twice",
        ),
        (
            f"{HEADER}\n{GOOD_ROW[:40]}".encode(),
            r"invoices\.csv line 2: 5 fields, the header has 8",
        ),
        (
            f'{HEADER}\nC2,"Bob,,INV-2,EUR,5.00,2025-01-10,2025-02-10\n'.encode(),
            r"invoices\.csv line 2: a quoted field is not closed",
        ),
        (
            f'{HEADER}\nC2,"Bob" Ltd,,INV-2,EUR,5.00,2025-01-10,2025-02-10\n'.encode(),
            r"invoices\.csv line 2: a quote inside a field is not doubled",
        ),
        (
            f"{HEADER}\nC2,{'x' * 10_000_000},,INV-2,EUR,5,2025-01-10,2025-02-10\n"
            "".encode(),
            r"invoices\.csv line 2: a field is longer than 131,072 characters",
        ),
        (
            f"{HEADER}\nC2,{'x' * 100_000},,INV-2,EUR,5,2025-01-10,2025-02-10\n"
            "".encode(),
            r"invoices\.csv line 2: customer_name is longer than 200 characters",
        ),
        (
            f"{HEADER}\nC2,Bob,,INV-2,EUR,=SUM(A1:A9),2025-01-10,2025-02-10\n".encode(),
            r"invoices\.csv line 2: amount '=SUM\(A1:A9\)' is not a number",
        ),
        (
            f"{HEADER}\nC2,Bob,@cmd,INV-2,EUR,5,2025-01-10,2025-02-10\n".encode(),
            r"invoices\.csv line 2: email '@cmd' is not an e-mail address",
        ),
        (
            f"{HEADER}\nC2,Bob,,INV-2,EUR,5,+2025-01-10,2025-02-10\n".encode(),
            r"invoices\.csv line 2: issued_on '\+2025-01-10' is not a date",
        ),
        (
            # A form feed and U+2028 are text inside a cell, not line ends: the
            # error is on the physical line 3, as an editor numbers it.
            f"{HEADER}\nC2,Bob\x0cby\u2028x,,INV-2,EUR,5,2025-01-10,2025-02-10\n"
            "C3,Carl,,INV-3,EUR,abc,2025-01-10,2025-02-10\n".encode(),
            r"invoices\.csv line 3: amount 'abc' is not a number",
        ),
        (
            f"{HEADER}\nC2,Bo\x00b,,INV-2,EUR,5,2025-01-10,2025-02-10\n".encode(),
            r"invoices\.csv line 2: the file contains NUL bytes",
        ),
        (
            bytes(range(256)) * 4,
            r"invoices\.csv line 2: the file is not UTF-8 \(byte 0x80\)",
        ),
    ],
    ids=[
        "empty",
        "utf-16-bom",
        "utf-16-no-bom",
        "latin-1",
        "semicolons",
        "tabs",
        "duplicate-header",
        "truncated",
        "unclosed-quote",
        "stray-quote",
        "10-MB-cell",
        "100-kB-name",
        "formula-amount",
        "formula-email",
        "formula-date",
        "form-feed-in-cell",
        "nul-in-cell",
        "binary",
    ],
)
def test_a_broken_file_is_refused_with_its_line_and_reason(
    tmp_path, imported, content, reason
):
    """Each broken input names file, line and why; no row is written."""
    message = rejected(tmp_path, content)

    assert re.search(reason, message), message


def test_a_bad_bookings_file_rolls_back_the_good_invoices_file(tmp_path, imported):
    """Any error in the second file keeps the first file's new rows out too."""
    invoices = f"{GOOD}C2,Bob,,INV-2,EUR,5.00,2025-01-10,2025-02-10\n".encode()
    bookings = f"{BOOKINGS_HEADER}\npayment,P-1,C2,INV-2,5.00,EUR".encode()

    message = rejected(tmp_path, invoices, bookings=bookings + b'\npayment,"P-2')

    assert "bookings.csv line 3: a quoted field is not closed" in message


def test_a_formula_in_free_text_is_kept_verbatim(tmp_path, imported):
    """Free text may start with = or @; it is escaped where it is exported."""
    path = tmp_path / "formula.csv"
    name = '=HYPERLINK("http://evil.example","click")'
    path.write_text(
        f'{HEADER}\nC2,"{name.replace(chr(34), chr(34) * 2)}",,INV-2,EUR,5.00,'
        "2025-01-10,2025-02-10\n",
        "utf-8",
    )

    run(path)

    assert Customer.objects.get(external_id="C2").name == name


def test_a_byte_order_mark_and_crlf_are_accepted(tmp_path, imported):
    """A spreadsheet's UTF-8 export with BOM and CRLF re-imports as the same data."""
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode())

    run(path)

    assert counts() == imported


EXTRA = "C2,Bob Ltd,bob@example.com,INV-2,EUR,7.50,2025-01-11,2025-02-11\n"


@FUZZ
@given(cut=st.integers(min_value=1, max_value=len(GOOD + EXTRA) - 1))
def test_a_truncated_file_is_refused_or_imports_only_whole_rows(
    tmp_path, imported, cut
):
    """Cut anywhere: refused with a reason, or only rows that are complete."""
    with one_example():
        content = (GOOD + EXTRA).encode()[:cut]
        path = tmp_path / "cut.csv"
        path.write_bytes(content)
        before = counts()

        try:
            run(path)
        except CommandError as exc:
            assert counts() == before
            assert re.search(r"cut\.csv( line \d+)?: \S", str(exc)), str(exc)
            return
        # Only the cut of the last newline leaves the new row whole.
        added = Invoice.objects.filter(external_id="INV-2").exists()
        assert added == (cut == len(GOOD + EXTRA) - 1)
        if not added:
            assert counts() == before


@FUZZ
@example(junk=b"\x00\x01\x02")
@example(junk=b"\xff\xfe=1+1")
@example(junk=b'"' * 3)
@given(junk=st.binary(min_size=1, max_size=2000))
def test_binary_junk_appended_is_refused_or_harmless(tmp_path, imported, junk):
    """Random bytes after a good file: never a crash, never a half import."""
    with one_example():
        path = tmp_path / "junk.csv"
        path.write_bytes(GOOD.encode() + junk)
        before = counts()

        try:
            run(path)
        except CommandError as exc:
            assert counts() == before
            assert re.search(r"junk\.csv( line \d+)?: \S", str(exc)), str(exc)
        else:
            assert counts() == before, "junk rows must not import"


CELL = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40
)


@FUZZ
@given(cells=st.lists(CELL, min_size=8, max_size=8))
def test_random_cells_are_refused_row_by_row_or_imported_whole(
    tmp_path, imported, cells
):
    """Arbitrary text in every column: an error per bad row, or one valid row."""
    with one_example():
        path = tmp_path / "cells.csv"
        row = ",".join('"' + cell.replace('"', '""') + '"' for cell in cells)
        path.write_text(f"{HEADER}\n{row}\n", "utf-8")
        before = counts()

        try:
            run(path)
        except CommandError as exc:
            assert counts() == before
            assert re.search(r"cells\.csv( line \d+)?: \S", str(exc)), str(exc)
