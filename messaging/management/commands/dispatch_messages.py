import json
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from messaging.services import dispatch_due


class Command(BaseCommand):
    help = "Send the planned messages that are due."

    def add_arguments(self, parser):
        parser.add_argument(
            "--now",
            help="ISO date-time to treat as now (default: the current time); "
            "a time without offset is in the operators' zone",
        )
        parser.add_argument(
            "--limit",
            type=int,
            help="send at most this many (the oldest due first); default: all due",
        )
        parser.add_argument(
            "--json", action="store_true", help="print the counts as JSON"
        )

    def handle(self, *args, **options):
        now = timezone.now()
        if options["now"]:
            try:
                now = datetime.fromisoformat(options["now"])
            except ValueError:
                raise CommandError(
                    f"--now {options['now']!r} is not an ISO date-time"
                ) from None
            if timezone.is_naive(now):
                now = timezone.make_aware(now)

        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1")

        result = dispatch_due(now=now, limit=options["limit"], actor="system:command")

        if options["json"]:
            self.stdout.write(json.dumps(result, sort_keys=True))
            return
        for channel, counts in sorted(result.items()):
            if channel != "total":
                self.stdout.write(f"{channel}: {_counts(counts)}")
        self.stdout.write(f"total: {_counts(result['total'])}")


def _counts(counts: dict) -> str:
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"
