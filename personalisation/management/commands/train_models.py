"""Train a learned model, print its held-out evaluation and register it."""

import json
import os
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from personalisation.models import ModelVersion
from personalisation.registry import (
    HABIT_SCORES,
    habit_train,
    model_promote,
    propensity_train,
    uplift_train,
)
from personalisation.training import NotEnoughData
from personalisation.uplift import DataMissing

FILES = {
    "ibm": ("ar-ibm-late-payment", "WA_Fn-UseC_-Accounts-Receivable.csv"),
    "taiwan": ("uci-credit-default-taiwan", "default-of-credit-card-clients.csv"),
}


def data_dir() -> Path:
    """../shared/data, or SHARED_DATA_DIR."""
    default = Path(settings.BASE_DIR).parent / "shared" / "data"
    return Path(os.environ.get("SHARED_DATA_DIR", default))


def data_file(source: str) -> Path | None:
    """The real data set of `source` in ../shared/data (or SHARED_DATA_DIR)."""
    if source not in FILES:
        return None
    return data_dir().joinpath(*FILES[source])


class Command(BaseCommand):
    help = (
        "Train a payment propensity model on the product's history or a real "
        "data set, report ROC AUC, Brier score against the base rate and a "
        "calibration table, and register it as a candidate; or a send-time or "
        "payment-method model on the product's history, measured against the "
        "rules on the newest quarter; or the channel uplift from the real files with "
        "a control group, its base rate from --source."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=ModelVersion.Kind.values)
        parser.add_argument(
            "--source", choices=["product", "ibm", "taiwan"], default="product"
        )
        parser.add_argument("--file", type=Path, help="Instead of ../shared/data")
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            help="Use only what was known on this day (product; default today)",
        )
        parser.add_argument(
            "--promote", action="store_true", help="Make it the active model"
        )
        parser.add_argument("--json", action="store_true", help="Metrics as JSON")

    def handle(self, *args, kind, source, file, as_of, promote, json, **options):
        as_of = as_of or timezone.localdate()
        actor = "system:train_models"
        learns_from_files = (
            ModelVersion.Kind.PROPENSITY,
            ModelVersion.Kind.CHANNEL_UPLIFT,
        )
        if kind not in learns_from_files and (source != "product" or file):
            raise CommandError(f"{kind} models learn from the product's history only")
        path = file or data_file(source)
        if path is not None and not path.exists():
            raise CommandError(f"{path} not found")
        try:
            if kind == ModelVersion.Kind.PROPENSITY:
                model = propensity_train(
                    source=source, path=path, as_of=as_of, actor=actor
                )
            elif kind == ModelVersion.Kind.CHANNEL_UPLIFT:
                model = uplift_train(
                    data_dir=data_dir(),
                    source=source,
                    path=path,
                    as_of=as_of,
                    actor=actor,
                )
            else:
                model = habit_train(kind=kind, as_of=as_of, actor=actor)
        except DataMissing as error:
            raise CommandError(str(error)) from error
        except NotEnoughData as error:
            raise CommandError(f"not trained: {error}") from error
        if promote:
            model_promote(model=model, actor="system:train_models")
        self._report(model, as_json=json)

    def _report(self, model, *, as_json: bool) -> None:
        m = model.metrics
        if as_json:
            self.stdout.write(json.dumps({"version": model.version, **m}, indent=2))
            return
        self.stdout.write(f"{model.version} ({model.status})")
        if model.kind == ModelVersion.Kind.CHANNEL_UPLIFT:
            self._report_uplift(m)
            return
        if model.kind in HABIT_SCORES:
            score, rules = HABIT_SCORES[model.kind]
            self.stdout.write(
                f"rows: {m['train_rows']} train, {m['test_rows']} held out "
                f"({m['split']} split)"
            )
            self.stdout.write(
                f"held out: {score} {m[score]} against {rules} {m[rules]}"
                + (f"; log loss {m['log_loss']}" if "log_loss" in m else "")
            )
            return
        self.stdout.write(
            f"rows: {m['train_rows']} train, {m['test_rows']} held out "
            f"({m['split']} split); fit {m['fit_seconds']} s"
        )
        self.stdout.write(
            f"ROC AUC {m['roc_auc']:.4f}  Brier {m['brier']:.4f}  "
            f"base-rate Brier {m['base_rate_brier']:.4f}  "
            f"(base rate paid {m['base_rate']:.4f})"
        )
        self.stdout.write("calibration (predicted / observed / rows):")
        for row in m["calibration"]:
            self.stdout.write(
                f"  {row['predicted']:.3f}  {row['observed']:.3f}  {row['rows']}"
            )

    def _report_uplift(self, m: dict) -> None:
        self.stdout.write(
            "persuasion per contact (95 % bootstrap interval; treated / control rows):"
        )
        for channel, entry in m["channels"].items():
            if "as" in entry:
                self.stdout.write(f"  {channel}: as {entry['as']} (assumption)")
                continue
            figures = {"all": entry["all"], **entry["segments"]}
            for segment, f in figures.items():
                label = segment if segment == "all" else f"{entry['by']} {segment}"
                self.stdout.write(
                    f"  {channel} {label}: {f['persuasion']:.4f} ({f['low']:.4f}–"
                    f"{f['high']:.4f}; {f['treated']} / {f['control']})"
                )
        self.stdout.write(
            f"base rate paid {m['base_rate']:.4f} ({m['base_rate_source']})"
        )
        for assumption in m["assumptions"]:
            self.stdout.write(f"assumption: {assumption}")
