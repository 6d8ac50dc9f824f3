from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from customers.models import Customer
from privacy.access import access_record
from privacy.export import customer_json, customers_zip
from privacy.models import AccessLog

PAGE = "command:privacy_export"


class Command(BaseCommand):
    help = (
        "Everything held on one debtor (GDPR art. 15): JSON on stdout or in "
        "--out; an --out ending in .zip also holds their letter PDFs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customer", type=int, required=True, help="Customer id")
        parser.add_argument("--out", type=Path, help="File to write (.json or .zip)")

    def handle(self, *args, customer, out, **options):
        found = Customer.objects.filter(pk=customer).first()
        if found is None:
            raise CommandError(f"No customer with id {customer}.")

        if out is not None and out.suffix == ".zip":
            out.write_bytes(customers_zip([found], page=PAGE))
        else:
            text = customer_json(found)
            access_record(found, user=None, action=AccessLog.Action.EXPORT, page=PAGE)
            if out is None:
                self.stdout.write(text)
                return
            out.write_text(text, "utf-8")
        self.stderr.write(f"customer {found.pk} exported to {out}")
