"""Ways into the debtor page besides the link itself, and limits on guessing.

A letter cannot be clicked: it carries the personal link as a QR code and a short
address with a code and a passcode to type (`short_code_issue`). Only the code's
hash is stored, and the link's token sealed with a key derived from the passcode,
so the pair opens the very same personal link and the database alone opens
nothing. A creditor may also ask for a second factor (birth date, postcode or
customer number) before the page shows any detail; the session remembers a
success for that link.

Wrong tokens, short codes and second factors are counted in Django's cache
(django-ratelimit) per IP address and, where a link or a code is named, per link
or code. A wrong code locks out just like a right code with a wrong passcode, so
the lock tells nothing about whether a code exists.
"""

import base64
import hashlib
import hmac
import logging
import secrets
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django_ratelimit.core import get_usage

from customers.models import SecondFactor
from portal.models import PortalLink, hash_token
from portal.texts import page_language

logger = logging.getLogger(__name__)

# No 0/O, 1/I/L: what is printed is read and typed by people.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SHORT_CODE_LENGTH = 10  # 31**10: about 49 bits
PASSCODE_LENGTH = 8  # 31**8: about 40 bits, behind the rate limit and scrypt
# scrypt at 8 MiB per derivation: an offline guess at a passcode from a copy
# of the database costs as much as one on the page (2**40 passcodes at ~40 ms
# a core). Every letter sent pays for one derivation too.
SCRYPT = {"n": 2**13, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024}
SALT_BYTES = 16
TOKEN_BYTES = 32  # PortalLink.new_token: token_urlsafe(32)
# Derived against when a code is unknown, so that a wrong code takes as long
# as a right code with a wrong passcode.
_DUMMY_SEAL = bytes(SALT_BYTES + TOKEN_BYTES)

SESSION_KEY = "portal_second_factor_links"

ACCESS_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "short_title": "Open your personal page",
        "short_intro": (
            "Type the code and the passcode printed on your letter, next to the "
            "QR code."
        ),
        "short_code": "Code",
        "passcode": "Passcode",
        "open": "Open",
        "short_wrong": (
            "This code and passcode do not open a page. Please check both and "
            "try again."
        ),
        "verify_title": "Please confirm who you are",
        "verify_intro": "Before we show your invoices from {creditor}, please enter:",
        "birth_date": "Your date of birth",
        "postcode": "Your postcode",
        "customer_number": "Your customer number (on every letter from us)",
        "verify_wrong": "This does not match our records. Please try again.",
        "continue": "Continue",
        "too_many_title": "Too many attempts",
        "too_many_body": (
            "For your security this is locked for a while. Please try again in "
            "an hour, or contact the company that wrote to you."
        ),
    },
    "de": {
        "short_title": "Ihre persönliche Seite öffnen",
        "short_intro": (
            "Geben Sie den Code und das Kennwort ein, die in Ihrem Brief neben "
            "dem QR-Code stehen."
        ),
        "short_code": "Code",
        "passcode": "Kennwort",
        "open": "Öffnen",
        "short_wrong": (
            "Mit diesem Code und Kennwort öffnet sich keine Seite. Bitte prüfen "
            "Sie beides und versuchen Sie es noch einmal."
        ),
        "verify_title": "Bitte bestätigen Sie, wer Sie sind",
        "verify_intro": (
            "Bevor wir Ihre Rechnungen von {creditor} zeigen, geben Sie bitte ein:"
        ),
        "birth_date": "Ihr Geburtsdatum",
        "postcode": "Ihre Postleitzahl",
        "customer_number": "Ihre Kundennummer (auf jedem Schreiben von uns)",
        "verify_wrong": (
            "Das stimmt nicht mit unseren Angaben überein. Bitte versuchen Sie "
            "es noch einmal."
        ),
        "continue": "Weiter",
        "too_many_title": "Zu viele Versuche",
        "too_many_body": (
            "Zu Ihrer Sicherheit ist dies für eine Weile gesperrt. Bitte "
            "versuchen Sie es in einer Stunde noch einmal oder wenden Sie sich "
            "an das Unternehmen, das Ihnen geschrieben hat."
        ),
    },
}


def access_texts(language: str) -> dict[str, str]:
    return ACCESS_TEXTS[page_language(language)]


# --- Short address and passcode -------------------------------------------


@dataclass(frozen=True)
class ShortCode:
    """The raw code and passcode of a link: printed once, never stored."""

    code: str
    passcode: str

    @property
    def code_display(self) -> str:
        return f"{self.code[:5]}-{self.code[5:]}"

    @property
    def passcode_display(self) -> str:
        return f"{self.passcode[:4]} {self.passcode[4:]}"


def normalise_code(raw: str | None) -> str:
    """What a person typed, as stored: capitals, without blanks and hyphens."""
    return "".join((raw or "").split()).replace("-", "").upper()


def _random_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def _code_hash(code: str) -> str:
    return hashlib.sha256(f"short:{code}".encode()).hexdigest()


def _key(passcode: str, salt: bytes) -> bytes:
    return hashlib.scrypt(passcode.encode(), salt=salt, dklen=TOKEN_BYTES, **SCRYPT)


def _xor(data: bytes, key: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, key, strict=True))


def short_address() -> str:
    """The address printed on letters, without the scheme: "pay.example.com/k"."""
    url = settings.SITE_URL + reverse("portal_short")
    return url.split("://", 1)[-1].rstrip("/")


def short_code_seal(token: str) -> tuple[ShortCode, str, str]:
    """A new code and passcode for a token, with what is stored of them: the
    code's hash and the token sealed by the passcode (one scrypt derivation)."""
    token_bytes = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    if len(token_bytes) != TOKEN_BYTES:
        raise ValueError("a short code needs a token of 32 random bytes")
    short = ShortCode(_random_code(SHORT_CODE_LENGTH), _random_code(PASSCODE_LENGTH))
    salt = secrets.token_bytes(SALT_BYTES)
    # A one-time pad: the key is new with every salt, and the stored token
    # hash tells whether an unsealed token is the right one.
    sealed = _xor(token_bytes, _key(short.passcode, salt))
    return short, _code_hash(short.code), (salt + sealed).hex()


@dataclass(frozen=True)
class SealedToken:
    """A new link token with its code and passcode, and what is stored of them."""

    token: str
    short: ShortCode
    code_hash: str
    seal: str


def sealed_token() -> SealedToken:
    token = PortalLink.new_token()
    short, code_hash, seal = short_code_seal(token)
    return SealedToken(token, short, code_hash, seal)


class SealedTokens:
    """Sealed tokens for a run of letters, each sealed in a thread of its own
    while the caller renders the letter before.

    The seal is one scrypt derivation, about a fifth of a letter's CPU
    (docs/BENCHMARKS.md, "Letters"), and `hashlib.scrypt` releases the GIL, so
    on a second core it costs the letter no time. One token is sealed ahead;
    the one left when the run ends was never given out and is dropped (only a
    link created with it is stored). Not for sharing between threads.
    """

    def __init__(self):
        self._pool: ThreadPoolExecutor | None = None
        self._ahead: Future | None = None

    def take(self) -> SealedToken:
        ahead, self._ahead = self._ahead, None
        # The first of a run is sealed here; an error while sealing ahead
        # comes out of result() as if it had happened in this thread.
        taken = ahead.result() if ahead is not None else sealed_token()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seal")
        self._ahead = self._pool.submit(sealed_token)
        return taken

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._ahead = None


def short_code_issue(*, link: PortalLink, token: str) -> ShortCode:
    """Give a link a short code and passcode; the raw pair is returned once."""
    short, link.short_code_hash, link.short_code_seal = short_code_seal(token)
    link.save(update_fields=["short_code_hash", "short_code_seal"])
    return short


def short_code_resolve(code: str, passcode: str) -> tuple[PortalLink, str] | None:
    """The valid link and its token for a typed code and passcode, or None."""
    code, passcode = normalise_code(code), normalise_code(passcode)
    link = None
    if len(code) == SHORT_CODE_LENGTH and set(code) <= set(ALPHABET):
        link = (
            PortalLink.objects.select_related("customer", "customer__creditor")
            .filter(short_code_hash=_code_hash(code))
            .first()
        )
    seal = bytes.fromhex(link.short_code_seal) if link else _DUMMY_SEAL
    token_bytes = _xor(seal[SALT_BYTES:], _key(passcode[:64], seal[:SALT_BYTES]))
    token = base64.urlsafe_b64encode(token_bytes).rstrip(b"=").decode()
    if link is None or not link.is_valid:
        return None
    if not hmac.compare_digest(hash_token(token), link.token_hash):
        return None
    return link, token


def short_code_context(short: ShortCode) -> dict:
    return {
        "short_address": short_address(),
        "short_code": short.code_display,
        "passcode": short.passcode_display,
    }


# --- Rate limits -------------------------------------------------------------

TOKEN, SHORT_CODE, SECOND_FACTOR = "token", "short-code", "second-factor"


def _checks(kind: str, scope: str | None) -> list[tuple[str, str, str]]:
    checks = [(f"portal:{kind}:ip", "ip", settings.PORTAL_RATE_PER_IP)]
    if scope is not None:
        checks.append((f"portal:{kind}:scope", scope, settings.PORTAL_RATE_PER_LINK))
    return checks


def _usage(request, group: str, key: str, rate: str, *, increment: bool):
    key_fn = "ip" if key == "ip" else (lambda _group, _request: key)
    return get_usage(request, group=group, key=key_fn, rate=rate, increment=increment)


def attempts_blocked(request, kind: str, *, scope: str | None = None) -> bool:
    """True once the IP (or the link or code in `scope`) used up its attempts."""
    for group, key, rate in _checks(kind, scope):
        usage = _usage(request, group, key, rate, increment=False)
        if usage and usage["count"] >= usage["limit"]:
            logger.warning("portal %s attempts locked (%s)", kind, group)
            return True
    return False


def attempt_failed(request, kind: str, *, scope: str | None = None) -> None:
    for group, key, rate in _checks(kind, scope):
        _usage(request, group, key, rate, increment=True)


def code_scope(code: str) -> str:
    """The per-code counter's key: typed codes are counted whether they exist."""
    return "code:" + _code_hash(normalise_code(code))[:32]


def link_scope(link: PortalLink) -> str:
    return f"link:{link.pk}"


def too_many_attempts(request, language: str | None = None):
    language = page_language(language or getattr(request, "LANGUAGE_CODE", None))
    context = {"lang": language, "a": access_texts(language)}
    return render(request, "portal/too_many.html", context, status=429)


# --- Second factor -----------------------------------------------------------


def second_factor_kind(link: PortalLink) -> str:
    """What this link's debtor must enter, or "" when the creditor asks nothing.

    A debtor without the stored birth date or postcode is asked for the
    customer number, which every customer has, rather than locked out.
    """
    customer = link.customer
    kind = customer.creditor.portal_second_factor
    if kind == SecondFactor.BIRTH_DATE and customer.birth_date is None:
        return SecondFactor.CUSTOMER_NUMBER
    if kind == SecondFactor.POSTCODE and not customer.postcode.strip():
        return SecondFactor.CUSTOMER_NUMBER
    return kind


def second_factor_passed(request, link: PortalLink) -> bool:
    if not second_factor_kind(link):
        return True
    return link.pk in request.session.get(SESSION_KEY, [])


def _compact(value: str) -> str:
    return "".join(value.split()).casefold()


def second_factor_matches(*, link: PortalLink, value: str) -> bool:
    """Whether the typed value is this debtor's; compared in constant time."""
    customer = link.customer
    kind = second_factor_kind(link)
    if kind == SecondFactor.BIRTH_DATE:
        try:
            typed = date.fromisoformat((value or "").strip())
        except ValueError:
            return False
        return typed == customer.birth_date
    expected = {
        SecondFactor.POSTCODE: customer.postcode,
        SecondFactor.CUSTOMER_NUMBER: customer.external_id,
    }.get(kind)
    if not expected:
        return False
    return hmac.compare_digest(
        _compact(value or "").encode(), _compact(expected).encode()
    )


def second_factor_remember(request, link: PortalLink) -> None:
    # A new session key after a success: one fixed before it proves nothing.
    request.session.cycle_key()
    passed = request.session.get(SESSION_KEY, [])
    request.session[SESSION_KEY] = [*passed, link.pk][-20:]


# --- The gate in front of every page of a link -------------------------------


def link_gate(request, token: str, *, view):
    """Checked before a portal view that names a token; a response ends there.

    A wrong token is counted against the IP and left to the view's own
    not-found page, so a wrong and an expired token look the same. A valid
    link whose creditor asks for a second factor goes to that form first,
    unless the view is the form itself.
    """
    from portal.services import link_resolve

    if attempts_blocked(request, TOKEN):
        return too_many_attempts(request)
    link = link_resolve(token)
    if link is None:
        attempt_failed(request, TOKEN)
        return None
    if getattr(view, "before_second_factor", False):
        return None
    if not second_factor_passed(request, link):
        return redirect("portal:verify", token=token)
    return None
