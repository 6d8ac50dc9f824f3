"""Features of payment propensity: one claim of one debtor on one day.

Every source (the product's own tables, the IBM AR file, the Taiwan credit file)
yields rows with the columns of `FEATURES`, and `frame` turns them into the
model's input; training and scoring both go through `frame`, so the two cannot
drift apart. For the product, `claim_rows` computes the rows from a debtor's
history as it was known on the day, for a training snapshot and for the run.

Protected attributes (sex, marital status and the like) are never features:
`frame` refuses any column that is not in `FEATURES`.
"""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

CATEGORICAL = ["customer_kind", "age_band", "country", "language", "billing_channel"]
NUMERIC = [
    "tenure_days",
    "past_claims",
    "share_paid_late",
    "share_paid_on_time",
    "amount",
    "days_overdue",
    "open_claims",
    "past_disputes",
]
FEATURES = CATEGORICAL + NUMERIC

# Never a feature, not even through a source's own columns.
PROTECTED = frozenset(
    {
        "sex",
        "gender",
        "marital_status",
        "marriage",
        "religion",
        "ethnicity",
        "nationality",
        "disability",
        "education",
    }
)

UNKNOWN = "unknown"


def age_band(age: int | None) -> str:
    if age is None or (isinstance(age, float) and math.isnan(age)):
        return UNKNOWN
    if age < 30:
        return "18-29"
    if age < 45:
        return "30-44"
    if age < 60:
        return "45-59"
    return "60+"


def frame(rows) -> pd.DataFrame:
    """The model's input from rows (dicts) or columns (a dict of lists)."""
    data = pd.DataFrame(rows)
    extra = set(data.columns) - set(FEATURES)
    if extra:
        raise ValueError(f"not features: {sorted(extra)}")
    missing = set(FEATURES) - set(data.columns)
    if missing:
        raise ValueError(f"missing features: {sorted(missing)}")
    data = data[FEATURES]
    for column in CATEGORICAL:
        data[column] = data[column].fillna(UNKNOWN).astype(str)
    for column in NUMERIC:
        data[column] = pd.to_numeric(data[column]).astype("float64")
    return data


# The product's own tables.


@dataclass(frozen=True)
class PastClaim:
    invoice_id: int
    amount: Decimal
    issued_on: date
    due_on: date
    settled_on: date | None
    disputed: bool


@dataclass(frozen=True)
class Snapshot:
    """One claim of a debtor as it stood on `on`."""

    customer: object
    invoice_id: int
    on: date
    days_overdue: int


def load_history(customer_ids) -> dict[int, list[PastClaim]]:
    """Every claim of these debtors (two queries), for `claim_rows`."""
    from dunning.models import Case
    from payments.models import Invoice

    ids = list(customer_ids)
    disputed = set(
        Case.objects.filter(
            invoice__customer_id__in=ids, state=Case.State.DISPUTED
        ).values_list("invoice_id", flat=True)
    )
    history: dict[int, list[PastClaim]] = defaultdict(list)
    rows = (
        Invoice.objects.filter(customer_id__in=ids)
        .exclude(status=Invoice.Status.CANCELLED)
        .values_list(
            "id",
            "customer_id",
            "amount",
            "issued_on",
            "due_on",
            "settled_on",
            "source_facts",
        )
    )
    for pk, customer_id, amount, issued, due, settled, facts in rows:
        history[customer_id].append(
            PastClaim(
                invoice_id=pk,
                amount=amount,
                issued_on=issued,
                due_on=due,
                settled_on=settled,
                disputed=pk in disputed or bool((facts or {}).get("disputed")),
            )
        )
    return history


def claim_rows(
    snapshots: list[Snapshot], history: dict[int, list[PastClaim]]
) -> list[dict]:
    """Feature rows of the snapshots, from what was known on each one's day.

    A past claim counts once it is due before the day: settled by its due date
    is on time, settled later is late, and still unpaid then is neither (it
    counts in the past claims, so both shares fall). A settlement after the day
    is not yet known.
    """
    rows = []
    for snap in snapshots:
        customer, on = snap.customer, snap.on
        claims = history.get(customer.pk, [])
        this = next((c for c in claims if c.invoice_id == snap.invoice_id), None)
        past = [c for c in claims if c.due_on < on and c.invoice_id != snap.invoice_id]
        known = [c for c in past if c.settled_on is not None and c.settled_on <= on]
        on_time = sum(1 for c in known if c.settled_on <= c.due_on)
        late = len(known) - on_time
        first = customer.customer_since or min(
            (c.issued_on for c in claims), default=on
        )
        open_claims = sum(
            1
            for c in claims
            if c.issued_on <= on and (c.settled_on is None or c.settled_on > on)
        )
        rows.append(
            {
                "customer_kind": customer.kind,
                "age_band": age_band(customer.age_on(on)),
                "country": customer.country,
                "language": customer.language,
                "billing_channel": customer.preferred_channel or UNKNOWN,
                "tenure_days": (on - first).days,
                "past_claims": len(past),
                "share_paid_late": late / len(past) if past else np.nan,
                "share_paid_on_time": on_time / len(past) if past else np.nan,
                "amount": float(this.amount) if this is not None else np.nan,
                "days_overdue": snap.days_overdue,
                "open_claims": open_claims,
                "past_disputes": sum(1 for c in past if c.disputed),
            }
        )
    return rows
