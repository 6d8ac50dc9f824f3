"""Show what a clerk needs to know about one claim: balance, case, step, messages."""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from payments.models import Invoice
from payments.selectors import (
    claim_facts,
    claim_facts_json,
    claim_facts_lines,
    claim_message_lines,
)


class Command(BaseCommand):
    help = "Show a claim's balance, case state, current step and messages."

    def add_arguments(self, parser):
        parser.add_argument("external_id", help="The claim's id in the source system")
        parser.add_argument(
            "--creditor", help="Creditor name, when several creditors use the id"
        )
        parser.add_argument(
            "--as-of",
            dest="as_of",
            help="Count overdue days to this date (YYYY-MM-DD); default: "
            "today in the creditor's time zone",
        )
        parser.add_argument("--json", action="store_true", help="Print JSON")

    def handle(self, *args, external_id, creditor=None, as_of=None, **options):
        on = None
        if as_of:
            try:
                on = date.fromisoformat(as_of)
            except ValueError:
                raise CommandError(
                    f"--as-of {as_of!r} is not a date (YYYY-MM-DD)"
                ) from None

        invoice = self._find(external_id, creditor)
        facts = claim_facts(invoice, on=on)

        if options["json"]:
            payload = claim_facts_json(facts)
            self.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False))
            return

        lines = claim_facts_lines(facts)
        width = max(len(label) for label, _ in lines)
        for label, text in lines:
            self.stdout.write(f"{label + ':':<{width + 1}} {text}")
        messages = claim_message_lines(facts)
        self.stdout.write(f"{'Messages:':<{width + 1}} {len(messages) or 'none'}")
        for line in messages:
            self.stdout.write(f"  {line}")

    def _find(self, external_id: str, creditor_name: str | None) -> Invoice:
        invoices = Invoice.objects.filter(external_id=external_id).select_related(
            "creditor", "customer"
        )
        if creditor_name:
            invoices = invoices.filter(creditor__name=creditor_name)
        found = list(invoices.order_by("creditor__name"))

        if not found:
            suffix = f" for creditor {creditor_name!r}" if creditor_name else ""
            raise CommandError(f"no claim with external id {external_id!r}{suffix}")
        if len(found) > 1:
            names = ", ".join(repr(invoice.creditor.name) for invoice in found)
            raise CommandError(
                f"external id {external_id!r} is used by several creditors: {names}; "
                "choose one with --creditor"
            )
        return found[0]
