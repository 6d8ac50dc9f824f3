"""Plain rows that every format's parser produces, and the checks they share.

A parser reads a file, validates every row and returns an `ImportData` of plain
rows keyed by stable external ids; it writes nothing. Each row remembers where it
came from (`where`, e.g. "invoices.csv line 17") so that the writer can name the
line when a row is refused for a ledger reason (a credit note larger than what
is open). Any error anywhere means nothing is imported.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from core.calendar import book_date_problem
from core.money import MAX_WHOLE_DIGITS, PLAIN_DECIMAL, parse_amount, quantum

# More than this many errors are counted, not listed.
MAX_LISTED_ERRORS = 20


class ImportRejected(Exception):
    """The input was refused; nothing was written."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__(self.summary())

    def summary(self) -> str:
        listed = self.errors[:MAX_LISTED_ERRORS]
        text = "\n".join(listed)
        hidden = len(self.errors) - len(listed)
        if hidden:
            text += (
                f"\n… and {hidden} more ({len(self.errors)} errors in total; "
                "nothing was imported)"
            )
        else:
            text += f"\n({len(self.errors)} error(s); nothing was imported)"
        return text


class RowError(ValueError):
    """One field of one row is unusable; the message names the field and value."""


@dataclass
class CustomerRow:
    where: str
    external_id: str
    name: str
    kind: str = "consumer"
    email: str = ""
    phone: str = ""
    street: str = ""
    postcode: str = ""
    city: str = ""
    country: str = "DE"
    subdivision: str = ""
    language: str = "en"
    time_zone: str = "Europe/Berlin"
    birth_year: int | None = None
    customer_since: date | None = None
    segment: str = ""
    consent_email: bool = True
    consent_sms: bool = False
    consent_whatsapp: bool = False
    consent_letter: bool = True
    preferred_channel: str = ""

    # The model fields a re-import may update on an existing customer.
    FIELDS = (
        "name",
        "kind",
        "email",
        "phone",
        "street",
        "postcode",
        "city",
        "country",
        "subdivision",
        "language",
        "time_zone",
        "birth_year",
        "customer_since",
        "segment",
        "consent_email",
        "consent_sms",
        "consent_whatsapp",
        "consent_letter",
        "preferred_channel",
    )

    def values(self) -> dict:
        return {name: getattr(self, name) for name in self.FIELDS}


@dataclass
class InvoiceRow:
    where: str
    external_id: str
    customer_external_id: str
    number: str
    currency: str
    amount: Decimal
    issued_on: date
    due_on: date
    description: str = ""
    source_facts: dict = field(default_factory=dict)


@dataclass
class PaymentRow:
    where: str
    external_id: str
    customer_external_id: str
    amount: Decimal
    currency: str
    received_on: date
    # The claim the payer named: paid first, the rest goes oldest claim first.
    invoice_external_id: str = ""
    method: str = ""
    reference: str = ""


@dataclass
class CreditNoteRow:
    where: str
    external_id: str
    customer_external_id: str
    invoice_external_id: str
    amount: Decimal
    currency: str
    issued_on: date
    reason: str = ""


@dataclass
class CreditorDefaults:
    """What a creditor created by the import gets; an existing one is kept as is."""

    name: str
    country: str
    time_zone: str
    default_currency: str


@dataclass
class ImportData:
    customers: list[CustomerRow] = field(default_factory=list)
    invoices: list[InvoiceRow] = field(default_factory=list)
    payments: list[PaymentRow] = field(default_factory=list)
    credit_notes: list[CreditNoteRow] = field(default_factory=list)


# --- reading files -----------------------------------------------------------


def read_text(path: Path) -> str:
    """The file as text; refuses anything that is not UTF-8 with a clear reason."""
    path = Path(path)
    if not path.is_file():
        raise ImportRejected([f"{path}: no such file"])
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportRejected(
            [f"{path.name}: the file is UTF-16, not UTF-8; save it as UTF-8 CSV"]
        )
    try:
        # utf-8-sig drops the byte order mark that spreadsheet exports add.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ImportRejected(
            [
                f"{path.name} line {line}: the file is not UTF-8 "
                f"(byte 0x{raw[exc.start]:02x}); save it as UTF-8 CSV"
            ]
        ) from None
    # NUL is valid UTF-8 but never text: binary data, or UTF-16 without a byte
    # order mark. PostgreSQL would refuse it in a text column at write time.
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise ImportRejected(
            [
                f"{path.name} line {line}: the file contains NUL bytes; it is "
                "binary or UTF-16, not a UTF-8 CSV"
            ]
        )
    return text


def csv_rows(
    path: Path, required: list[str], *, header_line: int = 1
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Rows of a comma-separated file as (line number, {column: text}).

    The header is on `header_line` (1-based); lines before it are skipped.
    Refuses another delimiter, missing columns and rows with a wrong number of
    fields. Line numbers are the file's physical lines, as an editor shows them.
    """
    path = Path(path)
    text = read_text(path)
    # newline="": csv handles CRLF and quoted line breaks itself, and only
    # \n, \r and \r\n end a line (str.splitlines would also split on form
    # feeds and U+2028 inside a cell). strict: an unclosed quote is an error
    # instead of swallowing the rest of the file into one cell.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    for _ in range(header_line):
        header = _next_row(reader, path)
    if not header or not any(cell.strip() for cell in header):
        raise ImportRejected([f"{path.name}: the file is empty or has no header"])
    header = [cell.strip() for cell in header]

    if len(header) == 1:
        for delimiter, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if delimiter in header[0]:
                raise ImportRejected(
                    [
                        f"{path.name}: columns are separated by {name}; "
                        "the import expects commas"
                    ]
                )
    missing = [column for column in required if column not in header]
    if missing:
        raise ImportRejected(
            [
                f"{path.name}: missing column(s) {', '.join(missing)} "
                f"(found: {', '.join(header)})"
            ]
        )
    duplicated = sorted({c for c in header if c and header.count(c) > 1})
    if duplicated:
        raise ImportRejected(
            [f"{path.name}: column(s) {', '.join(duplicated)} appear twice"]
        )

    rows = []
    errors = []
    while (cells := _next_row(reader, path)) is not None:
        line = reader.line_num
        if not cells or not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            errors.append(
                f"{path.name} line {line}: {len(cells)} fields, "
                f"the header has {len(header)}"
            )
            continue
        rows.append((line, dict(zip(header, cells, strict=True))))
    if errors:
        raise ImportRejected(errors)
    return header, rows


def _next_row(reader, path: Path) -> list[str] | None:
    """The next row, or None at the end; a malformed row rejects the file."""
    start = reader.line_num + 1
    try:
        return next(reader, None)
    except csv.Error as exc:
        reason = str(exc)
        if "field limit" in reason:
            reason = (
                f"a field is longer than {csv.field_size_limit():,} characters "
                "(is a quote missing?)"
            )
        elif "end of data" in reason:
            reason = "a quoted field is not closed (a quote is missing)"
        elif "expected after" in reason:
            reason = 'a quote inside a field is not doubled (write "" for ")'
        raise ImportRejected([f"{path.name} line {start}: {reason}"]) from None


# --- parsing fields ----------------------------------------------------------

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def required_text(raw: str, name: str, max_length: int) -> str:
    value = raw.strip()
    if not value:
        raise RowError(f"{name} is empty")
    return optional_text(value, name, max_length)


def optional_text(raw: str, name: str, max_length: int) -> str:
    value = raw.strip()
    if len(value) > max_length:
        raise RowError(f"{name} is longer than {max_length} characters")
    return value


def iso_date(raw: str, name: str) -> date:
    value = raw.strip()
    if not ISO_DATE.match(value):
        raise RowError(f"{name} {raw!r} is not a date (YYYY-MM-DD)")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise RowError(f"{name} {raw!r} is not a valid date") from None
    return book_date(day, name)


def book_date(day: date, name: str) -> date:
    """`day`, unless it is outside the years a claim can be dated in."""
    problem = book_date_problem(day, name)
    if problem:
        raise RowError(problem)
    return day


def us_date(raw: str, name: str) -> date:
    match = US_DATE.match(raw.strip())
    if not match:
        raise RowError(f"{name} {raw!r} is not a date (M/D/YYYY)")
    month, day, year = (int(part) for part in match.groups())
    try:
        parsed = date(year, month, day)
    except ValueError:
        raise RowError(f"{name} {raw!r} is not a valid date") from None
    return book_date(parsed, name)


def integer(raw: str, name: str) -> int:
    value = raw.strip()
    try:
        return int(value)
    except ValueError:
        raise RowError(f"{name} {raw!r} is not a whole number") from None


def amount(raw: str, currency: str, name: str = "amount") -> Decimal:
    """A plain decimal in the currency's minor units (`core.money.parse_amount`)."""
    value = raw.strip()
    if not value:
        raise RowError(f"{name} is empty")
    # The common case without babel look-ups (360,000 amounts in the Taiwan
    # file); anything unusual goes through parse_amount, which decides.
    step = _quantum(currency)
    try:
        number = Decimal(value)
        if PLAIN_DECIMAL.fullmatch(value) and number.adjusted() < MAX_WHOLE_DIGITS:
            rounded = number.quantize(step, rounding=ROUND_HALF_UP)
            if rounded == number:
                return rounded
    except InvalidOperation:
        pass
    try:
        return parse_amount(value, currency)
    except ValueError as exc:
        reason = str(exc)
        if "is not an amount" in reason:
            raise RowError(f"{name} {raw!r} is not a number") from None
        raise RowError(f"{name} {reason}") from None


@cache
def _quantum(currency: str) -> Decimal:
    return quantum(currency)


def boolean(raw: str, name: str, default: bool) -> bool:
    value = raw.strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "y"):
        return True
    if value in ("0", "false", "no", "n"):
        return False
    raise RowError(f"{name} {raw!r} is not true/false")


# --- placeholder contact data ------------------------------------------------

# The public data sets carry no addresses. These are obviously not real (the
# .invalid top-level domain can never resolve, RFC 2606) and exist so that the
# e-mail and letter channels can be tried in a demo.
PLACEHOLDER_STREET = "1 Placeholder Street"
PLACEHOLDER_POSTCODE = "00000"
PLACEHOLDER_CITY = "Placeholder City"


def placeholder_email(local_part: str) -> str:
    return f"{local_part.lower()}@example.invalid"
