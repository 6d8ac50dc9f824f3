"""Import customers, claims, payments and credit notes from a file."""

import json
import time
from argparse import RawDescriptionHelpFormatter
from dataclasses import replace
from datetime import date

from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter

from customers.importers import FORMATS
from customers.importers.base import ImportRejected
from customers.importers.csv import FORMAT_HELP
from customers.importers.writer import import_portfolio
from customers.models import Creditor


class HelpFormatter(DjangoHelpFormatter, RawDescriptionHelpFormatter):
    """Keeps the line breaks of the format description in --help."""


class Command(BaseCommand):
    help = (
        "Import customers, invoices, payments and credit notes.\n"
        "Idempotent by external id; a file with any bad row imports nothing.\n"
        "See docs/IMPORT.md for the formats."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault(
            "epilog",
            FORMAT_HELP
            + "\n--format ibm-ar: the IBM 'Accounts Receivable' sample CSV.\n"
            "--format uci-credit-default: the UCI Taiwan credit card CSV.\n",
        )
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--format", required=True, choices=sorted(FORMATS))
        parser.add_argument(
            "--as-of",
            type=_iso_date,
            help="Import the portfolio as it stood at the end of this day "
            "(YYYY-MM-DD): later invoices and bookings are left out.",
        )
        parser.add_argument(
            "--creditor",
            help="Creditor name; created with the format's defaults if missing.",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON summary object."
        )

    def handle(self, *args, **options):
        module = FORMATS[options["format"]]
        defaults = module.DEFAULT_CREDITOR
        if options["creditor"]:
            defaults = replace(defaults, name=options["creditor"])
        existing = Creditor.objects.filter(name=defaults.name).first()
        if existing is not None:
            # An existing creditor keeps its settings; amounts follow its currency.
            defaults = replace(
                defaults,
                country=existing.country,
                time_zone=existing.time_zone,
                default_currency=existing.default_currency,
            )

        started = time.monotonic()
        try:
            data = module.parse(
                options["paths"], as_of=options["as_of"], creditor=defaults
            )
            summary = import_portfolio(
                data=data,
                creditor=defaults,
                actor=f"system:import:{options['format']}",
            )
        except ImportRejected as exc:
            raise CommandError(f"Nothing was imported.\n{exc.summary()}") from None
        # Reading and checking the file count too: the operator waits for both.
        summary.seconds = time.monotonic() - started

        if options["json"]:
            result = {"format": options["format"], **summary.as_json()}
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(_human(summary))


def _iso_date(value: str) -> date:
    from argparse import ArgumentTypeError

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _human(summary) -> str:
    lines = [
        f"Imported into creditor {summary.creditor!r}"
        + (" (created)" if summary.creditor_created else "")
        + f" in {summary.seconds:.1f} s:"
    ]
    for label, counts in (
        ("customers", summary.customers),
        ("invoices", summary.invoices),
        ("payments", summary.payments),
        ("credit notes", summary.credit_notes),
    ):
        lines.append(
            f"  {label:<13} {counts.created:>7} created, {counts.updated:>7} "
            f"updated, {counts.unchanged:>7} unchanged"
        )
    lines.append(f"  ledger rows   {summary.ledger_entries_created:>7} created")
    lines.append(f"  open claims   {summary.open_claims:>7} of this file")
    if summary.earlier_claims_settled:
        lines.append(f"  {summary.earlier_claims_settled} earlier claims settled now")
    return "\n".join(lines)
