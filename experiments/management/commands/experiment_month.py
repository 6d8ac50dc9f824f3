"""A three-variant wording experiment with a holdout over a simulated month,
in a scratch database of its own, left there to be looked at in the admin."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from experiments.month import (
    TRUE_RATES,
    experiment_create,
    month_replay,
    portfolio_seed,
    wordings_add,
)


class Command(BaseCommand):
    help = (
        "Run a wording experiment (variants a, b, c and a 10 % holdout, Thompson "
        "sampling after a burn-in) over a simulated month in a new SQLite file, "
        "print the per-arm results and how to open them in the admin. The live "
        "database is not touched."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--database", type=Path, required=True, help="A new SQLite file"
        )
        parser.add_argument("--debtors", type=int, default=300)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument(
            "--first-day", type=date.fromisoformat, default=date(2025, 3, 3)
        )
        parser.add_argument("--seed", type=int, default=6)
        # Internal: set when the command runs again inside the scratch database.
        parser.add_argument("--inside", action="store_true", help="(internal)")

    def handle(self, *args, database, inside, **options):
        database = database.resolve()
        if not inside:
            return self._start(database, options)
        if Path(settings.DATABASES["default"]["NAME"]).resolve() != database:
            raise CommandError("--inside runs only in the scratch database it names")
        self._month(database, **options)

    def _start(self, database: Path, options) -> None:
        if database.exists():
            raise CommandError(f"{database} exists; name a new file")
        database.parent.mkdir(parents=True, exist_ok=True)
        # The simulated messages go to files beside the scratch database,
        # never to the live outbox or a real provider.
        outbox = database.with_name(f"{database.stem}-outbox")
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{database}",
            "OUTBOX_DIR": str(outbox),
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "SMS_BACKEND": "messaging.backends.sms.FileSMSBackend",
            "WHATSAPP_BACKEND": "messaging.backends.sms.FileWhatsAppBackend",
        }
        command = [
            sys.executable,
            str(Path(settings.BASE_DIR) / "manage.py"),
            "experiment_month",
            "--inside",
            f"--database={database}",
            f"--debtors={options['debtors']}",
            f"--days={options['days']}",
            f"--first-day={options['first_day']}",
            f"--seed={options['seed']}",
        ]
        finished = subprocess.run(command, env=env, check=False)
        if finished.returncode:
            raise CommandError(f"the simulated month failed ({finished.returncode})")

    def _month(self, database: Path, *, debtors, days, first_day, seed, **_):
        from customers.models import Creditor
        from experiments.results import experiment_results

        call_command("migrate", verbosity=0, interactive=False)
        creditor = Creditor.objects.create(
            name="Demo Versand GmbH",
            legal_name="Demo Versand GmbH",
            street="Hauptstraße 1",
            postcode="10115",
            city="Berlin",
            country="DE",
            time_zone="Europe/Berlin",
            email="billing@demo.example",
        )
        wordings_add()
        portfolio_seed(
            creditor=creditor, debtors=debtors, first_day=first_day, seed=seed
        )
        experiment = experiment_create(window_days=14, salt=f"month-{seed}")
        month = month_replay(
            experiment=experiment, first_day=first_day, days=days, seed=seed
        )
        results = experiment_results(experiment)
        rates = ", ".join(f"{k} {v:.0%}" for k, v in TRUE_RATES.items())
        self.stdout.write(
            f"{days} days from {first_day}, {debtors} debtors, {month.sent} reminders "
            f"sent, {month.paid} claims paid; true rates (assumed): {rates}"
        )
        self.stdout.write(
            "arm        assigned  sent  converted  rate (95 % CI)   P(best)"
        )
        for row in results.rows:
            self.stdout.write(
                f"{row.label:<20.20} {row.assigned:>5} {row.sent:>5} {row.converted:>6}"
                f"   {row.rate:6.1%} ({row.low:.1%}–{row.high:.1%})  {row.p_best:6.1%}"
            )
        leader = results.leader.label if results.leader else "none"
        self.stdout.write(f"leader: {leader}; stop rule: {results.verdict}")
        connection.close()
        self.stdout.write(
            "the results in the admin:\n"
            f"  export DATABASE_URL=sqlite:///{database}\n"
            "  .venv/bin/python manage.py demo_admin   # prints a login\n"
            "  .venv/bin/python manage.py runserver\n"
            f"  http://127.0.0.1:8000/admin/experiments/experiment/{experiment.pk}/change/"
        )
