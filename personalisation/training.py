"""Training and held-out evaluation of the payment propensity model.

The model predicts the probability that a claim is paid: on time (IBM file),
without default next month (Taiwan file) or within `HORIZON_DAYS` of the day it
was looked at (the product's own claims, from the due date and from each step
taken). A ColumnTransformer (one-hot categories, numbers as they are, missing
values left to the trees) feeds a HistGradientBoosting classifier whose
probabilities are calibrated by isotonic regression on cross-validated
predictions, so that "0.7" means seven in ten pay and the expected recovery
(probability × open amount) is a real amount.

The held-out split is by time where the data have time (IBM, the product: the
latest quarter of snapshots is never trained on) and stratified at random
where they have none (Taiwan).
"""

import csv
import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from django.conf import settings
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

from personalisation.features import (
    CATEGORICAL,
    FEATURES,
    NUMERIC,
    UNKNOWN,
    Snapshot,
    age_band,
    claim_rows,
    frame,
    load_history,
)

logger = logging.getLogger(__name__)

ALGORITHM = "hgb-isotonic-1"
SEED = 0
TEST_SHARE = 0.25
# A week: about the gap between two steps of a plan, so "paid" means paid
# before the next step would be due.
HORIZON_DAYS = 7
# Rules until the product's own history has this many observed snapshots
# with both outcomes among them.
MIN_ROWS = 200


class NotEnoughData(Exception):
    pass


@dataclass
class Dataset:
    source: str
    features: pd.DataFrame
    paid: np.ndarray
    # The day each row was looked at; None where the data have no time.
    days: list[date] | None = None

    def __len__(self) -> int:
        return len(self.paid)


@dataclass
class Trained:
    pipeline: Pipeline
    metrics: dict
    window_start: date | None
    window_end: date | None
    source: str
    algorithm: str = ALGORITHM
    features: list[str] = field(default_factory=lambda: list(FEATURES))


def model_threads():
    """Limits the trees' OpenMP threads (`PERSONALISATION_THREADS`) while
    fitting or scoring."""
    return threadpool_limits(limits=settings.PERSONALISATION_THREADS, user_api="openmp")


def build_pipeline() -> Pipeline:
    encode = ColumnTransformer(
        [
            (
                "categories",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    min_frequency=10,
                    sparse_output=False,
                ),
                CATEGORICAL,
            ),
            ("numbers", "passthrough", NUMERIC),
        ]
    )
    trees = HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.08, max_leaf_nodes=31, random_state=SEED
    )
    model = CalibratedClassifierCV(trees, method="isotonic", cv=3, ensemble=False)
    return Pipeline([("encode", encode), ("model", model)])


# The sources.


def _us_date(text: str) -> date:
    return datetime.strptime(text.strip(), "%m/%d/%Y").date()


def ibm_dataset(path: Path) -> Dataset:
    """One row per invoice on its due date; paid means not a day late."""
    with open(path, encoding="utf-8", newline="") as stream:
        invoices = [
            {
                "customer": row["customerID"],
                "country": f"ibm-{row['countryCode']}",
                "issued_on": _us_date(row["InvoiceDate"]),
                "due_on": _us_date(row["DueDate"]),
                "settled_on": _us_date(row["SettledDate"]),
                "amount": float(row["InvoiceAmount"]),
                "disputed": row["Disputed"] == "Yes",
                "paper": row["PaperlessBill"] == "Paper",
                "late": int(row["DaysLate"]) > 0,
            }
            for row in csv.DictReader(stream)
        ]
    by_customer: dict[str, list[dict]] = {}
    for invoice in invoices:
        by_customer.setdefault(invoice["customer"], []).append(invoice)
    rows, paid, days = [], [], []
    for invoice in sorted(invoices, key=lambda i: i["due_on"]):
        on = invoice["due_on"]
        claims = by_customer[invoice["customer"]]
        past = [c for c in claims if c["due_on"] < on and c is not invoice]
        known = [c for c in past if c["settled_on"] <= on]
        on_time = sum(1 for c in known if not c["late"])
        rows.append(
            {
                # The importer's reading of the file: businesses, English,
                # letters for paper billing (customers/importers/ibm_ar.py).
                "customer_kind": "business",
                "age_band": UNKNOWN,
                "country": invoice["country"],
                "language": "en",
                "billing_channel": "letter" if invoice["paper"] else "email",
                "tenure_days": (on - min(c["issued_on"] for c in claims)).days,
                "past_claims": len(past),
                "share_paid_late": (len(known) - on_time) / len(past)
                if past
                else np.nan,
                "share_paid_on_time": on_time / len(past) if past else np.nan,
                "amount": invoice["amount"],
                "days_overdue": 0,
                "open_claims": sum(
                    1 for c in claims if c["issued_on"] <= on < c["settled_on"]
                ),
                "past_disputes": sum(1 for c in past if c["disputed"]),
            }
        )
        paid.append(0 if invoice["late"] else 1)
        days.append(on)
    return Dataset("ibm", frame(rows), np.array(paid), days)


TAIWAN_STATUS = ["PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6"]


def taiwan_columns(path: Path) -> pd.DataFrame:
    # Two header lines; the second has the real names.
    return pd.read_csv(path, header=1)


def taiwan_dataset(path: Path, raw: pd.DataFrame | None = None) -> Dataset:
    """One card holder each, looked at in September 2005; paid means no
    default in October. SEX, MARRIAGE and EDUCATION are left out."""
    raw = taiwan_columns(path) if raw is None else raw
    earlier = raw[TAIWAN_STATUS[1:]]
    # PAY_x: -2/-1 paid duly (or nothing to pay), 0 revolving, n months late.
    columns = {
        "customer_kind": np.full(len(raw), "consumer", dtype=object),
        "age_band": [age_band(int(a)) for a in raw["AGE"]],
        "country": np.full(len(raw), "TW", dtype=object),
        "language": np.full(len(raw), "zh", dtype=object),
        "billing_channel": np.full(len(raw), UNKNOWN, dtype=object),
        # Unknown in the file; a constant carries no information (an all-NaN
        # column makes the trees' binning fail).
        "tenure_days": np.zeros(len(raw)),
        "past_claims": np.full(len(raw), len(TAIWAN_STATUS) - 1, dtype=float),
        "share_paid_late": (earlier > 0).mean(axis=1).to_numpy(),
        "share_paid_on_time": (earlier < 0).mean(axis=1).to_numpy(),
        "amount": raw["BILL_AMT1"].astype(float).to_numpy(),
        "days_overdue": raw["PAY_0"].clip(lower=0).to_numpy() * 30.0,
        "open_claims": (raw[[f"BILL_AMT{i}" for i in range(1, 7)]] > 0)
        .sum(axis=1)
        .to_numpy(),
        "past_disputes": np.zeros(len(raw)),
    }
    paid = 1 - raw["default payment next month"].to_numpy()
    return Dataset("taiwan", frame(columns), paid, None)


def product_dataset(*, as_of: date, creditor_ids=None) -> Dataset:
    """Snapshots of the product's own claims whose outcome is known on `as_of`:
    each claim on its due date and on each day a step was taken while it was
    unpaid, paid when it was paid by `HORIZON_DAYS` after that day. Debtors
    who object to profiling and creditors with learning off are left out."""
    from customers.models import Customer
    from dunning.models import CaseStep
    from payments.models import Invoice

    last_day = as_of - timedelta(days=HORIZON_DAYS)
    customers = Customer.objects.filter(
        objects_to_profiling=False, creditor__learning_enabled=True
    )
    if creditor_ids is not None:
        customers = customers.filter(creditor_id__in=creditor_ids)
    customers = {c.pk: c for c in customers}
    invoices = list(
        Invoice.objects.filter(customer_id__in=customers.keys())
        .exclude(status=Invoice.Status.CANCELLED)
        .values_list("id", "customer_id", "due_on", "status", "settled_on")
    )
    outcome = {pk: (status, settled) for pk, _, _, status, settled in invoices}
    looks = [(pk, customer_id, due) for pk, customer_id, due, _, _ in invoices]
    looks += list(
        CaseStep.objects.filter(case__invoice_id__in=outcome.keys()).values_list(
            "case__invoice_id", "case__invoice__customer_id", "taken_on"
        )
    )
    due = {pk: due_on for pk, _, due_on, _, _ in invoices}
    snapshots, paid, days = [], [], []
    for pk, customer_id, on in sorted(looks, key=lambda look: look[2]):
        if on > last_day:
            continue
        status, settled = outcome[pk]
        # On its due date every claim counts, those already paid too: that is
        # where paying on time shows. A step's day counts only while unpaid.
        if settled is not None and settled <= on and on != due[pk]:
            continue
        snapshots.append(
            Snapshot(customers[customer_id], pk, on, max((on - due[pk]).days, 0))
        )
        paid.append(
            int(
                status == Invoice.Status.PAID
                and settled is not None
                and settled <= min(on + timedelta(days=HORIZON_DAYS), as_of)
            )
        )
        days.append(on)
    rows = claim_rows(snapshots, load_history(customers.keys()))
    features = frame(rows) if rows else frame({name: [] for name in FEATURES})
    return Dataset("product", features, np.array(paid, dtype=int), days)


def load_dataset(source: str, *, path: Path | None = None, as_of: date) -> Dataset:
    if source == "ibm":
        return ibm_dataset(path)
    if source == "taiwan":
        return taiwan_dataset(path)
    if source == "product":
        return product_dataset(as_of=as_of)
    raise ValueError(f"unknown source {source!r}")


# Training and evaluation.


def split(dataset: Dataset):
    """Indexes of the training and the held-out rows."""
    index = np.arange(len(dataset))
    if dataset.days is None:
        return train_test_split(
            index, test_size=TEST_SHARE, random_state=SEED, stratify=dataset.paid
        )
    order = np.argsort(np.array(dataset.days, dtype="datetime64[D]"), kind="stable")
    cut = int(len(order) * (1 - TEST_SHARE))
    return order[:cut], order[cut:]


def calibration_table(paid, predicted, bins: int = 10) -> list[dict]:
    """Predicted against observed payment rate per decile of the prediction."""
    edges = np.unique(np.quantile(predicted, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, predicted, side="right") - 1, 0, None)
    which = np.minimum(which, len(edges) - 2) if len(edges) > 1 else which * 0
    table = []
    for b in np.unique(which):
        mask = which == b
        table.append(
            {
                "predicted": round(float(predicted[mask].mean()), 4),
                "observed": round(float(paid[mask].mean()), 4),
                "rows": int(mask.sum()),
            }
        )
    return table


def metrics(paid_train, paid_test, predicted) -> dict:
    base_rate = float(np.mean(paid_train))
    return {
        "roc_auc": round(float(roc_auc_score(paid_test, predicted)), 4),
        "brier": round(float(brier_score_loss(paid_test, predicted)), 4),
        "base_rate": round(base_rate, 4),
        "base_rate_brier": round(
            float(brier_score_loss(paid_test, np.full(len(paid_test), base_rate))),
            4,
        ),
        "calibration": calibration_table(np.asarray(paid_test), predicted),
    }


def check_enough(dataset: Dataset) -> None:
    if len(dataset) < MIN_ROWS:
        raise NotEnoughData(
            f"{len(dataset)} observed snapshots, fewer than the {MIN_ROWS} needed"
        )
    if len(set(dataset.paid.tolist())) < 2:
        raise NotEnoughData("every snapshot had the same outcome")
    train_index, test_index = split(dataset)
    for name, index in [("training", train_index), ("held-out", test_index)]:
        if len(set(dataset.paid[index].tolist())) < 2:
            raise NotEnoughData(f"every {name} snapshot had the same outcome")


def train(dataset: Dataset) -> Trained:
    """Fit on the training share and measure on the held-out share.

    The saved model is this fit, not a refit on every row: its metrics are
    then its own, and the nightly comparison with the active model on the
    newest held-out rows compares two models that never saw them.
    """
    check_enough(dataset)
    train_index, test_index = split(dataset)
    started = time.perf_counter()
    with model_threads():
        pipeline = build_pipeline().fit(
            dataset.features.iloc[train_index], dataset.paid[train_index]
        )
        fit_seconds = time.perf_counter() - started
        predicted = pipeline.predict_proba(dataset.features.iloc[test_index])[:, 1]
    result = metrics(dataset.paid[train_index], dataset.paid[test_index], predicted)
    result.update(
        train_rows=len(train_index),
        test_rows=len(test_index),
        fit_seconds=round(fit_seconds, 2),
        split="time" if dataset.days is not None else "stratified random",
        sklearn=sklearn.__version__,
    )
    days = [dataset.days[i] for i in train_index] if dataset.days else []
    return Trained(
        pipeline=pipeline,
        metrics=result,
        window_start=min(days) if days else None,
        window_end=max(days) if days else None,
        source=dataset.source,
    )


def held_out_auc(pipeline, dataset: Dataset) -> float:
    """Another model's ROC AUC on this dataset's held-out share."""
    _, test_index = split(dataset)
    with model_threads():
        predicted = pipeline.predict_proba(dataset.features.iloc[test_index])[:, 1]
    return round(float(roc_auc_score(dataset.paid[test_index], predicted)), 4)
