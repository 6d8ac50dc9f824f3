"""Test policies on a past portfolio before switching one on (docs/SIMULATION.md)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from customers.importers import FORMATS
from personalisation.uplift import DataMissing
from simulation import policies
from simulation.response import fit
from simulation.sampling import sample_portfolio

# Settings a scratch process must not inherit from the live environment.
LIVE_ONLY = (
    "DATABASE_URL",
    "TEST_DATABASE_NAME",
    "REDIS_URL",
    "OUTBOX_DIR",
    "MEDIA_ROOT",
    "STATIC_ROOT",
    "PERSONALISATION_MODEL_DIR",
    "REPLIES_MODEL_PATH",
)

ROWS = [
    ("claims", "claims followed"),
    ("open_at_start", "open at start"),
    ("overdue_at_start", "overdue at start"),
    ("collected", "collected (with fees)"),
    ("collected_principal", "principal collected"),
    ("collection_rate", "collection rate (principal)"),
    ("claims_paid_share", "share of claims paid"),
    ("days_late_at_payment_mean", "days late at payment, mean"),
    ("days_late_at_payment_median", "days late at payment, median"),
    ("contacts_total", "contacts"),
    ("unreachable", "messages without a channel"),
    ("cost", "contact cost"),
    ("cost_per_unit_collected", "cost per unit collected"),
    ("handovers", "handovers (unpaid after the last step)"),
    ("fees_charged", "fees charged"),
    ("seconds", "seconds"),
]


def _date(value: str) -> date:
    from argparse import ArgumentTypeError

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "Replay a portfolio day by day under several policies, each in its own "
        "scratch database, and compare them side by side. The live data stay "
        "untouched."
    )

    def add_arguments(self, parser):
        parser.add_argument("--portfolio", required=True, metavar="PATH")
        parser.add_argument("--format", required=True, choices=sorted(FORMATS))
        parser.add_argument("--as-of", type=_date, help="Import as of this day")
        parser.add_argument("--days", type=int, required=True)
        parser.add_argument(
            "--policy",
            action="append",
            required=True,
            help="standard, personalised or a rule set's name; repeat or "
            "separate with commas",
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--sample",
            type=int,
            help="Follow this many debtors of the file, drawn with the seed",
        )
        parser.add_argument("--workers", type=int, default=1)
        parser.add_argument(
            "--keep", metavar="DIR", help="Keep the scratch databases in DIR"
        )
        parser.add_argument(
            "--dispatch",
            action="store_true",
            help="Render and send every message to the scratch outbox "
            "(slow for letters); default: planned only",
        )
        parser.add_argument("--data-dir", help="The real data sets (../shared/data)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        names = [
            n.strip() for p in options["policy"] for n in p.split(",") if n.strip()
        ]
        if len(set(names)) != len(names):
            raise CommandError("a policy is named twice")
        if options["days"] < 1 or options["workers"] < 1:
            raise CommandError("--days and --workers must be at least 1")
        portfolio = Path(options["portfolio"])
        if not portfolio.exists():
            raise CommandError(f"{portfolio} not found")
        data_dir = Path(
            options["data_dir"]
            or os.environ.get("SHARED_DATA_DIR")
            or Path(settings.BASE_DIR).parent / "shared" / "data"
        )

        # Everything read from the live database, before any scratch work.
        try:
            rule_sets = {
                n: policies.rule_set_export(n)
                for n in names
                if n not in policies.BUILT_IN
            }
        except policies.PolicyError as error:
            raise CommandError(str(error)) from None
        model = (
            policies.live_model(options["format"]) if "personalised" in names else None
        )
        costs = policies.live_costs(options["format"])
        try:
            response = fit(
                portfolio=portfolio, format=options["format"], data_dir=data_dir
            )
        except DataMissing as error:
            raise CommandError(str(error)) from None

        work = Path(options["keep"] or tempfile.mkdtemp(prefix="simulate-"))
        work.mkdir(parents=True, exist_ok=True)
        try:
            result = self._simulate(
                work, names, portfolio, options, response, rule_sets, model, costs
            )
        finally:
            if not options["keep"]:
                shutil.rmtree(work, ignore_errors=True)

        if options["json"]:
            self.stdout.write(json.dumps(result, sort_keys=True))
        else:
            self.stdout.write(_table(result))

    def _simulate(
        self, work, names, portfolio, options, response, rule_sets, model, costs
    ):
        started = time.monotonic()
        file = portfolio
        if options["sample"]:
            file = sample_portfolio(
                portfolio,
                options["format"],
                size=options["sample"],
                seed=options["seed"],
                out=work / f"sample{portfolio.suffix}",
            )
        common = ["--portfolio", str(file), "--format", options["format"]]
        if options["as_of"]:
            common += ["--as-of", options["as_of"].isoformat()]
        base = work / "portfolio.sqlite3"
        prepared = _child(work, base, ["prepare", *common])
        prepare_seconds = time.monotonic() - started

        setup = work / "setup.json"
        setup.write_text(
            json.dumps(
                {
                    "response": response.as_json(),
                    "rule_sets": rule_sets,
                    "model": model,
                    "costs": costs,
                }
            )
        )

        def one(name: str) -> dict:
            begun = time.monotonic()
            scratch = work / f"{_slug(name)}.sqlite3"
            shutil.copyfile(base, scratch)
            args = [
                "replay",
                *common,
                "--source-file",
                str(portfolio),
                "--policy",
                name,
                "--days",
                str(options["days"]),
                "--start",
                prepared["start"],
                "--setup",
                str(setup),
                "--seed",
                str(options["seed"]),
            ]
            if options["dispatch"]:
                args.append("--dispatch")
            figures = _child(work, scratch, args)
            figures["seconds"] = round(time.monotonic() - begun, 1)
            if options["keep"]:
                figures["database"] = str(scratch)
            return figures

        with ThreadPoolExecutor(max_workers=options["workers"]) as pool:
            results = list(pool.map(one, names))
        return {
            "portfolio": str(portfolio),
            "format": options["format"],
            "as_of": options["as_of"].isoformat() if options["as_of"] else None,
            "sample": options["sample"],
            "seed": options["seed"],
            "days": options["days"],
            "start": prepared["start"],
            "imported": prepared["import"],
            "prepare_seconds": round(prepare_seconds, 1),
            "channel_costs": costs,
            "response_model": {
                "persuasion": response.persuasion,
                "segment_persuasion": response.segment_persuasion,
                "fatigue": response.fatigue,
                "weekday": response.weekday,
                "window_days": response.window_days,
                "hazard": response.hazard,
                "full_share": response.full_share,
                "partial_share": response.partial_share,
            },
            "policies": results,
            "seconds": round(time.monotonic() - started, 1),
        }


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower())


def _child(work: Path, database: Path, args: list[str]) -> dict:
    """Run `simulate_policy` in a process whose database is `database`."""
    env = {k: v for k, v in os.environ.items() if k not in LIVE_ONLY}
    env["DATABASE_URL"] = f"sqlite:///{database.resolve()}"
    env["VAR_DIR"] = str(work / database.stem)
    command = [
        sys.executable,
        str(Path(settings.BASE_DIR) / "manage.py"),
        "simulate_policy",
        *args,
        "--scratch",
        str(database.resolve()),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise CommandError(
            f"simulate_policy {' '.join(args[:1])} failed:\n{done.stderr[-3000:]}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _table(result: dict) -> str:
    runs = result["policies"]
    lines = [
        f"{result['portfolio']} ({result['format']}), as of "
        f"{result['as_of'] or 'the end of the file'}, {result['days']} days from "
        f"{result['start']}, seed {result['seed']}"
        + (f", sample of {result['sample']} debtors" if result["sample"] else ""),
    ]
    for run in runs:
        lines.append(f"  {run['policy']}: {run['uses']}")
    width = max(len(label) for _, label in ROWS) + 2
    header = "".ljust(width) + "".join(r["policy"][:18].rjust(20) for r in runs)
    lines += [header, "-" * len(header)]
    lines.append(
        "currency".ljust(width) + "".join(r["currency"].rjust(20) for r in runs)
    )
    for key, label in ROWS:
        lines.append(
            label.ljust(width) + "".join(_cell(r.get(key)).rjust(20) for r in runs)
        )
    channels = sorted({c for r in runs for c in r["contacts"]})
    for channel in channels:
        lines.append(
            f"  {channel}".ljust(width)
            + "".join(str(r["contacts"].get(channel, 0)).rjust(20) for r in runs)
        )
    lines.append(
        f"prepared in {result['prepare_seconds']} s, all in {result['seconds']} s"
    )
    return "\n".join(lines)


def _cell(value) -> str:
    return "-" if value is None else str(value)
