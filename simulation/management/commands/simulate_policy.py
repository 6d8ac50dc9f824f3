"""One policy of a simulation, in its own scratch database (started by `simulate`)."""

import io
import json
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from simulation import policies, replay
from simulation.response import ResponseModel


class Command(BaseCommand):
    help = (
        "Internal to `simulate`: prepare a scratch database with the portfolio, "
        "or replay one policy in a copy of it. Refuses any other database."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["prepare", "replay"])
        parser.add_argument(
            "--scratch", required=True, help="The scratch SQLite file in use"
        )
        parser.add_argument("--portfolio", required=True)
        parser.add_argument("--format", required=True)
        parser.add_argument("--as-of", type=date.fromisoformat)
        parser.add_argument("--source-file", help="The real file the models read")
        parser.add_argument("--policy")
        parser.add_argument("--days", type=int)
        parser.add_argument("--start", type=date.fromisoformat)
        parser.add_argument("--setup", help="JSON: response model, rule set, model")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--dispatch", action="store_true")

    def handle(self, *args, **options):
        # The one guard between a simulation and the live data.
        database = settings.DATABASES["default"]
        scratch = str(Path(options["scratch"]).resolve())
        if (
            database["ENGINE"] != "django.db.backends.sqlite3"
            or str(Path(database["NAME"]).resolve()) != scratch
        ):
            raise CommandError(
                f"simulate_policy runs only on its scratch database {scratch}"
            )
        if options["action"] == "prepare":
            result = self._prepare(options)
        else:
            result = self._replay(options)
        self.stdout.write(json.dumps(result, sort_keys=True))

    def _prepare(self, options) -> dict:
        call_command("migrate", verbosity=0, interactive=False)
        out = io.StringIO()
        call_command(
            "import_portfolio",
            options["portfolio"],
            format=options["format"],
            as_of=options["as_of"],
            json=True,
            stdout=out,
        )
        imported = json.loads(out.getvalue())
        start = replay.start_day(options["as_of"])
        with connection.cursor() as cursor:
            # The file is copied once per policy: everything in it, no WAL.
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return {"start": start.isoformat(), "import": imported}

    def _replay(self, options) -> dict:
        setup = json.loads(Path(options["setup"]).read_text())
        used = policies.configure(
            policy=options["policy"],
            format=options["format"],
            portfolio=Path(options["source_file"] or options["portfolio"]),
            as_of=options["start"],
            rule_set=setup.get("rule_sets", {}).get(options["policy"]),
            model=setup.get("model"),
            costs=setup.get("costs"),
            uplift=setup["response"].get("sources", {}).get("uplift"),
        )
        result = replay.simulate(
            model=ResponseModel.from_json(setup["response"]),
            seed=options["seed"],
            start=options["start"],
            days=options["days"],
            dispatch=options["dispatch"],
        )
        return {"policy": options["policy"], "uses": used, **result}
