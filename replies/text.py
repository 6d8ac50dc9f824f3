"""Reading a reply: MIME, the part the debtor wrote, claim numbers, dates and amounts.

Everything here is pure text handling, without the database, so that training
on the labelled set and triage in production read a reply the same way.
"""

import calendar
import hashlib
import html as html_entities
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from django.utils import timezone
from django.utils.html import strip_tags


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    sender: str
    subject: str
    text: str
    received_at: datetime
    in_reply_to: str
    references: str


def parse_email(raw: bytes) -> ParsedEmail:
    """The fields of an RFC 5322 message; the plain-text part is preferred."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    message_id = str(message.get("Message-ID", "") or "").strip()
    if not message_id:
        # Without a Message-ID the content itself identifies a re-delivery.
        message_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    return ParsedEmail(
        message_id=message_id[:300],
        sender=address_of(message.get("From")),
        subject=" ".join(str(message.get("Subject", "") or "").split())[:300],
        text=_body_text(message),
        received_at=header_date(message.get("Date")),
        in_reply_to=str(message.get("In-Reply-To", "") or "").strip()[:1000],
        references=" ".join(str(message.get("References", "") or "").split()),
    )


def _body_text(message) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):
        # An unknown or lying charset: the bytes as UTF-8, damaged characters marked.
        content = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        content = html_to_text(content)
    return content.replace("\r\n", "\n").strip()


def html_to_text(html: str) -> str:
    """Readable lines from an HTML-only e-mail: breaks and blocks become newlines."""
    html = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", "", html)
    html = re.sub(r"(?i)<br\s*/?>|</(p|div|li|tr|h\d)>", "\n", html)
    # A blockquote is the quoted history of the conversation.
    html = re.sub(r"(?is)<blockquote\b.*?</blockquote>", "", html)
    text = html_entities.unescape(strip_tags(html))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def address_of(header) -> str:
    """The bare address of a From header, lower case: "Bob <B@x.org>" → "b@x.org"."""
    addresses = getaddresses([str(header or "")])
    return (addresses[0][1] if addresses else "").lower()[:300]


def header_date(header) -> datetime:
    """The Date header in UTC; the time of arrival when it is missing or invalid."""
    try:
        value = parsedate_to_datetime(str(header))
    except (TypeError, ValueError, IndexError):
        return timezone.now()
    if timezone.is_naive(value):
        return timezone.now()
    return value


# --- What the debtor wrote --------------------------------------------------------

# A line that starts the quoted history of a reply; everything from it is cut.
_HISTORY = [
    re.compile(r"^\s*on\b.{0,200}\bwrote:\s*$", re.I),
    re.compile(r"^\s*am\b.{0,200}\bschrieb\b.{0,200}:\s*$", re.I),
    re.compile(
        r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|"
        r"forwarded message|weitergeleitete nachricht)\s*-{2,}",
        re.I,
    ),
    re.compile(r"^\s*_{10,}\s*$"),
]
# Outlook's quoted header: "From:" / "Von:" followed by "Sent:" / "Gesendet:" etc.
_OUTLOOK_FROM = re.compile(r"^\s*\*?(from|von):\*?\s", re.I)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(sent|date|gesendet|datum|to|an):\*?\s", re.I)
# The start of a signature: the "-- " delimiter and the mobile mail footers.
_SIGNATURE = re.compile(
    r"^\s*(--\s*|sent from my\b.*|sent from outlook\b.*|get outlook for\b.*|"
    r"von meinem\b.*gesendet.*|gesendet von\b.*|diese nachricht wurde von meinem\b.*)$",
    re.I,
)
# A closing line on its own; cut only when something was written above it.
_CLOSING = re.compile(
    r"^\s*((mit )?(freundlichen|besten|vielen|lieben|herzlichen|beste|viele|liebe|"
    r"schöne)? ?(grüßen|grüssen|gruessen|grüße|grüsse|gruesse|gruß|gruss)|mfg|lg|vg|"
    r"best regards|kind regards|warm regards|regards|best wishes|cheers|sincerely|"
    r"yours sincerely|yours faithfully|yours truly)\b[,.!]*( [\w.\- ]{0,40})?\s*$|"
    r"^\s*(best|many thanks|thanks|thank you|thanks again|danke|danke schön|"
    r"vielen dank)[,.!]*\s*$",
    re.I,
)


def clean_reply(text: str) -> str:
    """The text the debtor wrote: no quoted history, no signature, no closing."""
    lines = (text or "").replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        following = " ".join(lines[index : index + 2])
        if any(p.match(line) or p.match(following) for p in _HISTORY):
            break
        if _OUTLOOK_FROM.match(line) and any(
            _OUTLOOK_NEXT.match(n) for n in lines[index + 1 : index + 4]
        ):
            break
        if _SIGNATURE.match(line):
            break
        if _CLOSING.match(line) and any(k.strip() for k in kept):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def strip_subject_prefixes(subject: str) -> str:
    """ "AW: Re: Mahnung" → "Mahnung"."""
    return re.sub(
        r"^\s*((re|aw|fw|fwd|wg|antw)\s*:\s*)+", "", subject or "", flags=re.I
    )


# --- Claim numbers and our own message ids ----------------------------------------

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/_.]*[A-Za-z0-9]")
_HEX_KEY = re.compile(r"[0-9a-f]{64}")


def claim_number_candidates(text: str, limit: int = 200) -> list[str]:
    """Words that could be a claim number: at least four characters, one a digit."""
    seen: dict[str, None] = {}
    for token in _TOKEN.findall(text or ""):
        if len(token) >= 4 and any(c.isdigit() for c in token) and len(token) <= 100:
            seen.setdefault(token, None)
            seen.setdefault(token.upper(), None)
        if len(seen) >= limit:
            break
    return list(seen)


def message_keys(*headers: str) -> list[str]:
    """Idempotency keys of our messages named in In-Reply-To / References.

    An outgoing Message-ID carries the message's key when it is built from it
    (`<key@domain>` or `make_msgid(idstring=key)`); ids without one match nothing.
    """
    keys: dict[str, None] = {}
    for header in headers:
        for key in _HEX_KEY.findall((header or "").lower()):
            keys.setdefault(key, None)
    return list(keys)


# --- A promise: when and how much ---------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan", "januar", "jänner"),
            ("february", "feb", "februar"),
            ("march", "mar", "märz", "maerz", "mrz"),
            ("april", "apr"),
            ("may", "mai"),
            ("june", "jun", "juni"),
            ("july", "jul", "juli"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct", "oktober", "okt"),
            ("november", "nov"),
            ("december", "dec", "dezember", "dez"),
        ],
        start=1,
    )
    for name in names
}
_WEEKDAYS = {
    name: number
    for number, names in enumerate(
        [
            ("monday", "montag"),
            ("tuesday", "dienstag"),
            ("wednesday", "mittwoch"),
            ("thursday", "donnerstag"),
            ("friday", "freitag"),
            ("saturday", "samstag", "sonnabend"),
            ("sunday", "sonntag"),
        ]
    )
    for name in names
}
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_WEEKDAY_NAMES = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))

_DATE_PATTERNS = [
    ("iso", re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")),
    ("dotted", re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2}(?!\d))?")),
    ("slashed", re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?\b")),
    (
        "day_month",
        re.compile(
            rf"\b(\d{{1,2}})(?:\.|st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_NAMES})\b\.?"
            rf"(?:,?\s+(\d{{4}}))?",
            re.I,
        ),
    ),
    (
        "month_day",
        re.compile(
            rf"\b({_MONTH_NAMES})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?",
            re.I,
        ),
    ),
    ("weekday", re.compile(rf"\b({_WEEKDAY_NAMES})\b", re.I)),
    (
        "month_end",
        re.compile(
            r"\b(end of (the |this )?month|monatsende|ende (des|dieses) monats)\b", re.I
        ),
    ),
    ("tomorrow", re.compile(r"\b(tomorrow|übermorgen|(?<!guten )morgen)\b", re.I)),
    ("next_week", re.compile(r"\b(next week|nächste[n]? woche)\b", re.I)),
]


def parse_date(text: str, today: date) -> date | None:
    """The first date the text names, read relative to `today`.

    A day and month without a year is the next such day from today on; numeric
    dates are read day first, as in German and British usage.
    """
    found = []
    for kind, pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text or ""):
            value = _date_from(kind, match, today)
            if value is not None:
                found.append((match.start(), value))
                break
    return min(found)[1] if found else None


def _date_from(kind: str, match, today: date) -> date | None:
    groups = match.groups()
    if kind == "iso":
        return _safe_date(int(groups[0]), int(groups[1]), int(groups[2]))
    if kind in ("dotted", "slashed"):
        day, month, year = int(groups[0]), int(groups[1]), groups[2]
        return _with_year(day, month, year, today)
    if kind == "day_month":
        return _with_year(int(groups[0]), _MONTHS[groups[1].lower()], groups[2], today)
    if kind == "month_day":
        return _with_year(int(groups[1]), _MONTHS[groups[0].lower()], groups[2], today)
    if kind == "weekday":
        ahead = (_WEEKDAYS[groups[0].lower()] - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    if kind == "month_end":
        last = today.replace(day=calendar.monthrange(today.year, today.month)[1])
        if last > today:
            return last
        following = last + timedelta(days=1)
        return following.replace(
            day=calendar.monthrange(following.year, following.month)[1]
        )
    if kind == "tomorrow":
        return today + timedelta(days=2 if groups[0].lower() == "übermorgen" else 1)
    if kind == "next_week":
        return today + timedelta(days=7)
    return None


def _with_year(day: int, month: int, year: str | None, today: date) -> date | None:
    if year:
        full = int(year) + (2000 if len(year) == 2 else 0)
        return _safe_date(full, month, day)
    value = _safe_date(today.year, month, day)
    if value is not None and value < today:
        value = _safe_date(today.year + 1, month, day)
    return value


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


_CURRENCIES = {
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "$": "USD",
    "usd": "USD",
    "£": "GBP",
    "gbp": "GBP",
    "chf": "CHF",
}
# A number starts after no other digit: "12345 100 €" is 100, not 345100.
_NUMBER = r"(?<![\d.,'])(?:\d{1,3}(?:[.,' ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)"
_CURRENCY = r"€|\$|£|\beur\b|\beuros?\b|\busd\b|\bgbp\b|\bchf\b"
_AMOUNT = re.compile(
    rf"(?P<pre>{_CURRENCY})\s?(?P<a>{_NUMBER})|(?P<b>{_NUMBER})\s?(?P<post>{_CURRENCY})",
    re.I,
)


def parse_amount(text: str) -> tuple[Decimal, str] | None:
    """The first amount with a currency in the text, as (amount, ISO code)."""
    for match in _AMOUNT.finditer(text or ""):
        number = match.group("a") or match.group("b")
        symbol = (match.group("pre") or match.group("post")).lower()
        value = _decimal(number)
        if value is not None and value > 0:
            return value, _CURRENCIES[symbol]
    return None


def _decimal(number: str) -> Decimal | None:
    """ "1.234,56", "1,234.56" or "50.5": the last separator followed by
    one or two digits is the decimal point, every other separator groups."""
    number = number.replace("'", "").replace(" ", "")
    match = re.search(r"[.,](\d{1,2})$", number)
    if match:
        whole = re.sub(r"[.,]", "", number[: match.start()])
        number = f"{whole}.{match.group(1)}"
    else:
        number = re.sub(r"[.,]", "", number)
    try:
        return Decimal(number)
    except InvalidOperation:
        return None
