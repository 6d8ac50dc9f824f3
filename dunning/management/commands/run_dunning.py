import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from core.calendar import EARLIEST, LATEST
from dunning.run import run_dunning


class Command(BaseCommand):
    help = (
        "Take the dunning steps that are due: open cases for overdue claims, charge "
        "step fees, decide and plan one message per debtor and channel, and send "
        "what is due now."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--date",
            help="Run as of this date (YYYY-MM-DD); default: each creditor's today",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Compute the summary, write nothing"
        )
        parser.add_argument(
            "--send-now",
            action="store_true",
            help="Send this run's messages at once instead of at their chosen time",
        )
        parser.add_argument(
            "--plan-only",
            action="store_true",
            help="Plan the messages but leave all sending to the dispatch job",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="Split the run into this many partitions, one django-q2 task each "
            "(needs running qcluster workers); default 1: all in this process",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object")

    def handle(self, *args, **options):
        run_date = None
        if options["date"]:
            try:
                run_date = date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"--date {options['date']!r} is not YYYY-MM-DD"
                ) from None
            if not EARLIEST <= run_date <= LATEST:
                # Deadlines and send windows are counted from the run date;
                # near the calendar's ends they would leave it.
                raise CommandError(
                    f"--date {run_date} is outside {EARLIEST} to {LATEST}"
                )

        if options["send_now"] and options["plan_only"]:
            raise CommandError("--send-now and --plan-only exclude each other")
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")

        summary = run_dunning(
            actor="system:run_dunning",
            run_date=run_date,
            dry_run=options["dry_run"],
            send_now=options["send_now"],
            plan_only=options["plan_only"],
            workers=options["workers"],
        )
        if options["json"]:
            self.stdout.write(json.dumps(summary, sort_keys=True))
            return
        self.stdout.write(
            f"{'Dry run' if summary['dry_run'] else 'Run'} for "
            f"{', '.join(summary['dates']) or 'no creditor'}: "
            f"{summary['claims_examined']} claims examined, "
            f"{summary['cases_opened']} cases opened, "
            f"{sum(summary['steps_taken'].values())} steps taken, "
            f"{sum(summary['messages'].values())} messages planned "
            f"in {summary['seconds']} s."
        )
        for name, count in summary["steps_taken"].items():
            self.stdout.write(f"  step {name}: {count}")
        for channel, count in summary["messages"].items():
            self.stdout.write(f"  {channel}: {count}")
