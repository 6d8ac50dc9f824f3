from datetime import date

from django.core.management.base import BaseCommand

from privacy.retention import retention_erase


class Command(BaseCommand):
    help = "Erase the debtors past their creditor's retention period (daily job)."

    def add_arguments(self, parser):
        parser.add_argument("--date", type=date.fromisoformat, help="Default: today")

    def handle(self, *args, date, **options):
        counts = retention_erase(today=date)
        self.stdout.write(f"{counts['erased']} erased, {counts['refused']} refused")
