"""Letters rendered to PDF per second, in one process or several.

The letters are the real layout (templates/messaging/letter/) over a made-up
context of one to three claims each, so no database is needed. Each letter
gets what dispatch gives it (`messaging.services`): a new personal link as QR
code and a short code whose passcode seals the link's token (one scrypt
derivation), then the template, WeasyPrint layout and PDF writing. Only the
database rows are left out. See docs/BENCHMARKS.md, "Letters".
"""

import functools
import multiprocessing
import os
import time
from datetime import date, timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.template.loader import render_to_string

from core.money import format_money
from messaging.letters import html_to_pdf, pdf_html_class
from portal.access import SealedTokens, sealed_token, short_code_context
from portal.services import link_url

NAMES = ["Łucja Őry", "Jürgen Groß", "Ayşe Ğür", "Margaret O'Neill", "Zoë Brontë"]
BODY = {
    "de": "Sehr geehrte Damen und Herren,\n\nleider haben wir für die folgenden "
    "Rechnungen trotz unserer Erinnerung noch keine Zahlung erhalten. Bitte "
    "zahlen Sie den offenen Betrag bis zu dem unten genannten Datum.\n\nBei "
    "Fragen erreichen Sie uns unter billing@example.com.",
    "en": "Dear Sir or Madam,\n\nUnfortunately, we have not received payment for "
    "the following invoices despite our reminder. Please pay the open amount by "
    "the date below.\n\nIf you have any questions, please contact us at "
    "billing@example.com.",
}


def letter_context(n: int) -> dict:
    """The n-th sample letter: 1-3 claims, German or English."""
    language = "de" if n % 2 else "en"
    items, total = [], Decimal("0")
    for k in range(1 + n % 3):
        principal = Decimal(120 + 37 * n + 11 * k) + Decimal("0.45")
        fees, interest = Decimal("5.00"), Decimal("1.37")
        amounts = {
            "principal": principal,
            "paid": Decimal("0"),
            "fees": fees,
            "interest": interest,
            "open": principal + fees + interest,
        }
        total += amounts["open"]
        due = date(2025, 3, 3) - timedelta(days=7 * k)
        items.append(
            {
                "number": f"RE-{n:06d}-{k}",
                "issued_on_display": (due - timedelta(days=30)).isoformat(),
                "due_on_display": due.isoformat(),
                "level": 2,
                "action_label": "Mahnung" if language == "de" else "Dunning notice",
                "display": {
                    key: format_money(value, "EUR", language)
                    for key, value in amounts.items()
                },
            }
        )
    name = NAMES[n % len(NAMES)]
    return {
        "language": language,
        "tone": "neutral",
        "subject": "Mahnung" if language == "de" else "Dunning notice",
        "brand_colour": "#1f4e79",
        "creditor": {
            "name": "Acme GmbH",
            "legal_name": "Acme Handels GmbH",
            "street": "Hauptstraße 1",
            "postcode": "10115",
            "city": "Berlin",
            "email": "billing@example.com",
            "iban": "DE89370400440532013000",
            "bic": "COBADEFFXXX",
        },
        "customer": {"external_id": f"C-{n:06d}"},
        "address_lines": [name, f"Ringstraße {n}", "50667 Köln"],
        "place": "Berlin",
        "today_display": "1. April 2025",
        "reference": ", ".join(item["number"] for item in items),
        "body": BODY[language],
        "items": items,
        "totals": [
            {"currency": "EUR", "display": format_money(total, "EUR", language)}
        ],
        "payment_options": [{"label": "Überweisung"}, {"label": "Karte"}],
    }


def access_context(sealed_tokens: SealedTokens | None = None) -> dict:
    """A new link and short code, as dispatch makes them for every letter:
    with `sealed_tokens` the next letter's is sealed in a thread meanwhile."""
    sealed = sealed_tokens.take() if sealed_tokens else sealed_token()
    return {"link": link_url(sealed.token), **short_code_context(sealed.short)}


_process = {}


def process_tokens() -> SealedTokens:
    """This process's sealed tokens: a forked worker makes its own thread."""
    pid = os.getpid()
    if _process.get("pid") != pid:
        _process.update(pid=pid, tokens=SealedTokens())
    return _process["tokens"]


def render_one(
    n: int, *, fresh_fonts: bool = False, seal: str = "ahead", seal_cpu=None
) -> int:
    """Render the n-th sample letter to PDF; its size in bytes.

    `seal` "ahead" seals the next letter's token in a thread, as dispatch
    does; "inline" seals each in turn, and `seal_cpu`, a list, then collects
    the CPU seconds of each seal, a security cost reported on its own.
    """
    started = time.process_time()
    access = access_context(process_tokens() if seal == "ahead" else None)
    if seal_cpu is not None:
        seal_cpu.append(time.process_time() - started)
    context = {**letter_context(n), **access}
    html = render_to_string(f"messaging/letter/{context['language']}.html", context)
    if fresh_fonts:
        from django.conf import settings

        # How letters were rendered before: a font configuration per letter.
        document = pdf_html_class()(string=html, base_url=str(settings.BASE_DIR))
        return len(document.write_pdf())
    return len(html_to_pdf(html))


def _start_worker(seal: str) -> int:
    # Keeps a worker busy long enough that every worker takes one and has
    # made its font configuration before the clock starts.
    render_one(0, seal=seal)
    time.sleep(0.2)
    return 0


class Command(BaseCommand):
    help = "Measure letters rendered to PDF per second."

    def add_arguments(self, parser):
        parser.add_argument("--letters", type=int, default=200)
        parser.add_argument(
            "--workers", type=int, default=1, help="processes (1: this one)"
        )
        parser.add_argument(
            "--seal",
            choices=["ahead", "inline"],
            default="ahead",
            help="seal the next letter's link in a thread, as dispatch does "
            "(ahead), or each in turn (inline: its CPU is reported apart)",
        )
        parser.add_argument(
            "--fresh-fonts",
            action="store_true",
            help="one process, a new font configuration per letter (the old way)",
        )

    def handle(self, *args, **options):
        letters, workers = options["letters"], options["workers"]
        seal = options["seal"]
        if letters < 1 or workers < 1:
            raise CommandError("--letters and --workers must be at least 1")

        cpu, seal_cpu = None, []
        if workers == 1:
            _start_worker(seal)
            started, cpu_started = time.perf_counter(), time.process_time()
            fresh = options["fresh_fonts"]
            sizes = [
                render_one(
                    n,
                    fresh_fonts=fresh,
                    seal=seal,
                    seal_cpu=seal_cpu if seal == "inline" else None,
                )
                for n in range(letters)
            ]
            elapsed = time.perf_counter() - started
            # Of every thread of this process: with the seal ahead, its
            # thread's CPU too.
            cpu = time.process_time() - cpu_started
            process_tokens().close()
        elif options["fresh_fonts"]:
            raise CommandError("--fresh-fonts measures one process only")
        else:
            # fork: the workers inherit the configured Django of this process
            # (and make their own sealing thread).
            context = multiprocessing.get_context("fork")
            with context.Pool(workers) as pool:
                pool.map(_start_worker, [seal] * workers, chunksize=1)
                started = time.perf_counter()
                sizes = pool.map(
                    functools.partial(render_one, seal=seal),
                    range(letters),
                    chunksize=4,
                )
                elapsed = time.perf_counter() - started

        # Other work on the machine slows the wall clock, not the CPU time:
        # both are shown, with the load at the end.
        per_cpu = ""
        if cpu:
            per_cpu = f", {cpu / letters * 1000:.1f} ms of CPU a letter"
            if seal == "inline":
                seal_ms = sum(seal_cpu) / letters * 1000
                per_cpu += f" (of which {seal_ms:.1f} ms the link and passcode seal)"
            else:
                per_cpu += " (with the seal's thread)"
        load = os.getloadavg()[0]
        self.stdout.write(
            f"{letters} letters, {workers} worker(s), seal {seal}: "
            f"{elapsed:.2f} s, {letters / elapsed:.1f} letters/s{per_cpu}, "
            f"{sum(sizes) / len(sizes) / 1024:.0f} KiB per PDF, load {load:.1f}, "
            f"fonts subset by {font_subsetter()}"
        )


def font_subsetter() -> str:
    """Which library subsets the embedded fonts: without libharfbuzz-subset0
    WeasyPrint falls back to fontTools, several times slower per letter."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    if harfbuzz_subset is not None and harfbuzz.hb_version_atleast(4, 1, 0):
        return "HarfBuzz"
    return "fontTools"
