from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from messaging.print_batch import PrintBatchError, print_batch_build


class Command(BaseCommand):
    help = (
        "Write the print batch of the letters sent on a date: one PDF and a CSV "
        "manifest under OUTBOX/print/<date>/."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--date",
            help="creditor-local sending date, YYYY-MM-DD (default: yesterday)",
        )

    def handle(self, *args, **options):
        on_date = timezone.localdate() - timedelta(days=1)
        if options["date"]:
            try:
                on_date = date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"--date {options['date']!r} is not a date (YYYY-MM-DD)"
                ) from None

        try:
            batch = print_batch_build(on_date=on_date, actor="system:command")
        except PrintBatchError as exc:
            raise CommandError(str(exc)) from None

        if not batch.letters:
            self.stdout.write(f"{on_date}: no letters")
            return
        self.stdout.write(
            f"{on_date}: {batch.letters} letters, {batch.pages} pages\n"
            f"{batch.pdf_path}\n{batch.manifest_path}"
        )
