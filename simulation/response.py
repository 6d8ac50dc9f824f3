"""The debtor-response model of the simulation, fitted on the real data sets.

Two parts. The *base hazard* is the daily probability that a debtor pays a claim
without any contact of ours, by days relative to the due date, times a factor of
the debtor's own: it comes from the portfolio's own history (IBM: when each
invoice was really settled; Taiwan: the monthly repayment of each card holder).
The *contact effect* is a persuasion rate per channel: the share of debtors who
would not have acted without the message and act because of it (DellaVigna and
Kaplan's definition, (p1 − p0) / (1 − p0)), estimated from the randomised or
comparable real files (`personalisation.uplift`: the same figures the
channel uplift model is trained from, per age band for SMS), reduced for the
k-th contact by the fatigue seen in the bank's phone campaign and weighted by
weekday. docs/SIMULATION.md lists every figure with its source and says which
parts are assumptions.
"""

import csv
import hashlib
import math
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from personalisation import uplift
from personalisation.uplift import (
    DataMissing,
    data_file,
    hillstrom_effect,
    noshow_effect,
    segments_of,
)

# Days relative to the due date at which the base hazard changes; a bucket runs
# from its edge to the next one (the first from the issue date).
EDGES = (-10_000, 1, 8, 15, 31)
# Hillstrom tracked visits and purchases for two weeks after the e-mail; a
# persuaded debtor pays within the same window.
WINDOW_DAYS = 14
# Shrinkage of a debtor's own factor towards 1, in expected payments.
PRIOR_EVENTS = 5.0
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
# The fatigue table ends here; later contacts share its last figure.
MAX_CONTACTS = 10

FILES = {
    "bank": ("uci-bank-marketing", "bank-full.csv"),
    "bank_additional": ("uci-bank-marketing", "bank-additional-full.csv"),
}


def _file(data_dir: Path, name: str) -> Path:
    return data_file(data_dir, name, FILES)


def bank_effects(data_dir: Path) -> dict:
    """Fatigue by number of contacts, cellular vs landline, and the weekday,
    from the bank's phone campaign (observational: success by contact count
    also reflects who needed many calls)."""
    full = pd.read_csv(_file(data_dir, "bank"), sep=";", usecols=["campaign", "y"])
    full = full.assign(success=(full["y"] == "yes").astype(float))
    capped = full["campaign"].clip(upper=MAX_CONTACTS)
    by_count = full.groupby(capped)["success"].mean()
    first = float(by_count.loc[1])
    fatigue = [
        round(min(1.0, float(by_count.loc[k]) / first), 4) for k in by_count.index
    ]

    extra = pd.read_csv(
        _file(data_dir, "bank_additional"),
        sep=";",
        usecols=["contact", "day_of_week", "y"],
    )
    extra = extra.assign(success=(extra["y"] == "yes").astype(float))
    by_contact = extra.groupby("contact")["success"].mean()
    by_day = extra.groupby("day_of_week")["success"].mean()
    mean_day = float(by_day.loc[list(WEEKDAYS)].mean())
    return {
        "success_by_contacts": {
            str(k): round(float(v), 4) for k, v in by_count.items()
        },
        "fatigue": fatigue,
        "success_cellular": round(float(by_contact.loc["cellular"]), 4),
        "success_telephone": round(float(by_contact.loc["telephone"]), 4),
        "weekday": {d: round(float(by_day.loc[d]) / mean_day, 4) for d in WEEKDAYS},
    }


# The base hazard from the portfolio's own history.


def _us_date(text: str) -> date:
    return datetime.strptime(text.strip(), "%m/%d/%Y").date()


def _bucket(days: int) -> int:
    index = 0
    for position, edge in enumerate(EDGES):
        if days >= edge:
            index = position
    return index


def _exposure(start: int, end: int) -> list[int]:
    """Days at risk per bucket for a claim observed from day `start` to `end`
    relative to its due date (inclusive)."""
    days = [0] * len(EDGES)
    bounds = list(EDGES[1:]) + [10_000_000]
    for index, edge in enumerate(EDGES):
        low, high = max(start, edge), min(end, bounds[index] - 1)
        if high >= low:
            days[index] = high - low + 1
    return days


def ibm_hazard(path: Path) -> dict:
    """Each invoice is at risk from its issue date until it was settled;
    hazard per bucket = settlements / days at risk, and each customer's factor
    is its settlements over the settlements its days at risk predict."""
    events = [0] * len(EDGES)
    exposure = [0] * len(EDGES)
    claims = []
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            issued, due = _us_date(row["InvoiceDate"]), _us_date(row["DueDate"])
            settled = (_us_date(row["SettledDate"]) - due).days
            start = (issued - due).days
            days = _exposure(start, settled)
            claims.append((row["customerID"], days))
            events[_bucket(settled)] += 1
            exposure = [a + b for a, b in zip(exposure, days, strict=True)]
    hazard = [e / x if x else 0.0 for e, x in zip(events, exposure, strict=True)]
    observed, expected = {}, {}
    for customer, days in claims:
        observed[customer] = observed.get(customer, 0) + 1
        expected[customer] = expected.get(customer, 0.0) + sum(
            h * d for h, d in zip(hazard, days, strict=True)
        )
    factors = {
        c: round((observed[c] + PRIOR_EVENTS) / (expected[c] + PRIOR_EVENTS), 4)
        for c in observed
    }
    return {
        "source": "ibm-ar",
        "unit": "claim",
        "hazard": [round(h, 6) for h in hazard],
        "settlements": events,
        "days_at_risk": exposure,
        "factors": factors,
        "full_share": 1.0,
        "partial_share": 1.0,
    }


def taiwan_hazard(path: Path) -> dict:
    """A holder's monthly probability of paying is the share of holders with
    the same September repayment status (PAY_0) who did not default next
    month; spread evenly over 30 days. Whether a payment clears the bill, and
    what share of it a part payment pays, come from the six months of bills
    and payments."""
    data = pd.read_csv(path, header=1)
    paid = 1 - data["default payment next month"]
    status = data["PAY_0"].clip(-2, 3)
    monthly = paid.groupby(status).mean()
    daily = 1 - (1 - monthly) ** (1 / 30)
    overall = float(1 - (1 - paid.mean()) ** (1 / 30))
    factors = {
        str(holder): round(float(daily.loc[s]) / overall, 4)
        for holder, s in zip(data["ID"], status, strict=True)
    }
    # PAY_AMT(k) is paid in the month after the statement BILL_AMT(k + 1).
    ratios = []
    for k in range(1, 6):
        bill, pay = data[f"BILL_AMT{k + 1}"], data[f"PAY_AMT{k}"]
        mask = (bill > 0) & (pay > 0)
        ratios.append((pay[mask] / bill[mask]).clip(upper=1))
    ratio = pd.concat(ratios)
    return {
        "source": "uci-credit-default",
        "unit": "customer",
        "hazard": [round(overall, 6)] * len(EDGES),
        "monthly_by_status": {
            str(int(k)): round(float(v), 4) for k, v in monthly.items()
        },
        "factors": factors,
        "full_share": round(float((ratio >= 1).mean()), 4),
        "partial_share": round(float(ratio[ratio < 1].median()), 4),
    }


HAZARDS = {"ibm-ar": ibm_hazard, "uci-credit-default": taiwan_hazard}


@dataclass
class ResponseModel:
    """What the simulated debtors do; plain data so that it travels as JSON to
    the scratch processes and the same seed gives the same figures."""

    # Per bucket of days relative to the due date (EDGES).
    hazard: list[float]
    # Debtor (external id) → factor on the hazard; 1 for one not listed.
    factors: dict[str, float]
    # "claim": each claim is paid on its own; "customer": a payment goes to
    # the debtor's open claims, oldest first.
    unit: str
    # Share of payments that pay everything open; the others pay this share.
    full_share: float
    partial_share: float
    # Channel → persuasion rate of one contact, for a debtor of no measured
    # segment; `segment_persuasion` (`uplift.rates`) has the segments' own.
    persuasion: dict[str, float]
    # Relative persuasion of the 1st, 2nd … contact (last figure onwards).
    fatigue: list[float] = field(default_factory=lambda: [1.0])
    weekday: dict[str, float] = field(default_factory=dict)
    window_days: int = WINDOW_DAYS
    segment_persuasion: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)

    def daily_hazard(self, debtor: str, days_late: int) -> float:
        return min(1.0, self.hazard[_bucket(days_late)] * self.factors.get(debtor, 1.0))

    def persuasion_of(
        self, channel: str, contact_number: int, on: date, customer=None
    ) -> float:
        fatigue = self.fatigue[min(contact_number, len(self.fatigue)) - 1]
        day = WEEKDAYS[on.weekday()] if on.weekday() < 5 else None
        weight = self.weekday.get(day, 1.0) if day else 1.0
        rate = self.persuasion.get(channel, 0.0)
        if customer is not None and channel in self.segment_persuasion:
            rate, _ = uplift.rate_of(
                self.segment_persuasion, channel, segments_of(customer, on)
            )
        return min(1.0, rate * fatigue * weight)

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "ResponseModel":
        return cls(**data)


def fit(*, portfolio: Path, format: str, data_dir: Path) -> ResponseModel:
    """The response model for `portfolio` from the real files in `data_dir`."""
    if format not in HAZARDS:
        raise DataMissing(
            f"no base hazard for format {format!r}: the simulation knows the "
            f"payment history of {', '.join(sorted(HAZARDS))}"
        )
    base = HAZARDS[format](Path(portfolio))
    email = hillstrom_effect(data_dir)
    sms = noshow_effect(data_dir)
    bank = bank_effects(data_dir)
    # Only e-mail and SMS have a real control group; a letter is taken to
    # persuade like an e-mail and WhatsApp like an SMS (assumptions).
    estimate = uplift.estimate(data_dir)
    table = uplift.rates(estimate)
    factors = base.pop("factors")
    return ResponseModel(
        hazard=base["hazard"],
        factors=factors,
        unit=base["unit"],
        full_share=base["full_share"],
        partial_share=base["partial_share"],
        persuasion={c: t["rates"][uplift.ALL] for c, t in table.items()},
        fatigue=bank["fatigue"],
        weekday=bank["weekday"],
        segment_persuasion=table,
        sources={
            "base": base,
            "email": email,
            "sms": sms,
            "bank": bank,
            "uplift": estimate,
        },
    )


def uniform(seed: int, *keys) -> float:
    """A uniform draw in [0, 1) fixed by the seed and the keys: the same claim
    on the same day draws the same number under every policy, so policies
    differ by what they do, not by luck."""

    digest = hashlib.blake2b(repr((seed, *keys)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def pay_day_offset(seed: int, *keys, window: int) -> int:
    return math.floor(uniform(seed, "when", *keys) * window)
