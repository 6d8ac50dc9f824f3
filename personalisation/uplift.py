"""Channel uplift: what one contact on each channel adds to the chance of payment.

The payment propensity says how likely a debtor is to pay; it says nothing about
what a message changes, and so it values every channel alike. This model holds
the persuasion rate per channel, π = (p₁ − p₀) / (1 − p₀) (DellaVigna and
Kaplan): the share of those who would not have acted without the contact who act
because of it. The expected net gain of a contact is then
π × (1 − p) × open amount − the channel's cost, p the payment propensity.

The rates come from the real files with a control group: Hillstrom's randomised
e-mail test (a site visit within two weeks), by whether the customer is new
within the year, and the no-show file's SMS reminders (the patient came), within
lead-time bands and by age band. Each figure has its counts and a bootstrap 95 %
interval. No file has a letter or a WhatsApp message with a control group: a
letter is taken to persuade like an e-mail and WhatsApp like an SMS, and the
metrics say so. The simulation's debtor-response model reads the same figures
(`simulation.response`), and nothing here reads a protected attribute: age
bands are the product's own segments, as for the payment methods.
"""

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from personalisation.features import UNKNOWN, age_band

logger = logging.getLogger(__name__)

ALGORITHM = "persuasion-by-segment-1"
FILES = {
    "hillstrom": ("hillstrom-email", "hillstrom.csv"),
    "noshow": ("noshow-sms-reminders", "KaggleV2-May-2016.csv"),
}
# No SMS was ever sent for a booking made fewer days ahead.
MIN_LEAD_DAYS = 3
LEAD_BANDS = [MIN_LEAD_DAYS - 1, 7, 14, 30, 60, 10_000]
# A stratum needs this many rows on each side to be compared.
MIN_ROWS = 100
# Debtors are adults: the no-show file's children stay out of every figure.
ADULT_AGE = 18
BOOTSTRAP_REPLICATES = 1000
BOOTSTRAP_SEED = 0
ALL = "all"
# Hillstrom's `newbie`: a customer new within the last twelve months.
NEW_CUSTOMER_DAYS = 365

# Which segment of the debtor each measured channel's rate depends on.
SEGMENT_OF = {"email": "tenure", "sms": "age"}
# The channels without a real control group, and whose figure they borrow.
BORROWED = {"letter": "email", "whatsapp": "sms"}
ASSUMPTIONS = [
    "a letter persuades like an e-mail (no real file has a letter with a "
    "control group)",
    "WhatsApp persuades like an SMS (no real file has WhatsApp)",
    "a site visit within two weeks of the e-mail (Hillstrom) and coming to "
    "the appointment after an SMS reminder (no-show file) stand for paying "
    "after a reminder",
    "the no-show file's SMS was not randomised: the comparison is within "
    "lead-time bands, which decided who got one",
]


class DataMissing(Exception):
    pass


def data_file(data_dir: Path, name: str, files: dict = FILES) -> Path:
    path = Path(data_dir).joinpath(*files[name])
    if not path.exists():
        raise DataMissing(f"{path} not found (set SHARED_DATA_DIR)")
    return path


def persuasion(treated, control):
    """Share of those who would not act without the contact who act with it."""
    return (treated - control) / (1 - control)


def hillstrom_effect(data_dir: Path) -> dict:
    """E-mail vs none, randomised: visit and purchase within two weeks."""
    data = pd.read_csv(data_file(data_dir, "hillstrom"))
    mailed = data[data["segment"] != "No E-Mail"]
    control = data[data["segment"] == "No E-Mail"]
    result = {"rows_mailed": len(mailed), "rows_control": len(control)}
    for outcome in ("visit", "conversion"):
        treated, base = float(mailed[outcome].mean()), float(control[outcome].mean())
        result[outcome] = {
            "mailed": round(treated, 5),
            "control": round(base, 5),
            "uplift": round(treated - base, 5),
            "persuasion": round(persuasion(treated, base), 5),
        }
    return result


def _noshow(data_dir: Path) -> pd.DataFrame:
    """The bookings made at least `MIN_LEAD_DAYS` ahead, with their lead-time
    band, whether the patient came and their age."""
    data = pd.read_csv(
        data_file(data_dir, "noshow"),
        usecols=["ScheduledDay", "AppointmentDay", "Age", "SMS_received", "No-show"],
    )
    scheduled = pd.to_datetime(data["ScheduledDay"]).dt.normalize()
    lead = (pd.to_datetime(data["AppointmentDay"]) - scheduled).dt.days
    data = data.assign(lead=lead, came=(data["No-show"] == "No").astype(float))
    data = data[data["lead"] >= MIN_LEAD_DAYS]
    return data.assign(band=pd.cut(data["lead"], LEAD_BANDS))


def noshow_effect(data_dir: Path) -> dict:
    """SMS reminder vs none among bookings made at least 3 days ahead (no SMS
    was ever sent for shorter lead times), compared within lead-time bands and
    weighted by the reminded bookings of each band; every age."""
    data = _noshow(data_dir)
    rows, weighted, weights = [], 0.0, 0
    for band, group in data.groupby("band", observed=True):
        sent = group[group["SMS_received"] == 1]
        none = group[group["SMS_received"] == 0]
        if len(sent) < MIN_ROWS or len(none) < MIN_ROWS:
            continue
        treated, base = float(sent["came"].mean()), float(none["came"].mean())
        rows.append(
            {
                "lead_days": str(band),
                "sms": len(sent),
                "no_sms": len(none),
                "came_sms": round(treated, 4),
                "came_no_sms": round(base, 4),
            }
        )
        weighted += persuasion(treated, base) * len(sent)
        weights += len(sent)
    return {"bands": rows, "persuasion": round(weighted / weights, 5)}


# The estimate: one figure per channel and segment, with its interval.


def _cells(frame: pd.DataFrame, *, treated, outcome: str, strata=None) -> list:
    """(treated rows, treated who acted, control rows, control who acted) per
    stratum with at least `MIN_ROWS` on each side."""
    groups = frame.groupby(strata, observed=True) if strata else [(ALL, frame)]
    cells = []
    for _key, group in groups:
        sent, none = group[treated(group)], group[~treated(group)]
        if len(sent) >= MIN_ROWS and len(none) >= MIN_ROWS:
            cells.append(
                (
                    len(sent),
                    int(sent[outcome].sum()),
                    len(none),
                    int(none[outcome].sum()),
                )
            )
    return cells


def _weighted(sent_rate, none_rate, weights):
    """π per stratum, weighted by its treated rows (last axis: the strata)."""
    return (persuasion(sent_rate, none_rate) * weights).sum(axis=-1) / weights.sum()


def figure(cells: list, *, rng: np.random.Generator) -> dict | None:
    """The stratified persuasion rate of `cells` with a 95 % interval from a
    stratified bootstrap: the rows are resampled within each arm of each
    stratum, which for a yes/no outcome is a binomial draw of its count."""
    if not cells:
        return None
    array = np.array(cells, dtype=float)
    sent, sent_yes, none, none_yes = array.T
    point = float(_weighted(sent_yes / sent, none_yes / none, sent))
    size = (BOOTSTRAP_REPLICATES, len(array))
    boot_sent = rng.binomial(sent.astype(int), sent_yes / sent, size=size) / sent
    boot_none = rng.binomial(none.astype(int), none_yes / none, size=size) / none
    boots = _weighted(boot_sent, boot_none, sent)
    low, high = np.percentile(boots, [2.5, 97.5])
    return {
        "persuasion": round(point, 5),
        "low": round(float(low), 5),
        "high": round(float(high), 5),
        "treated": int(sent.sum()),
        "treated_acted": int(sent_yes.sum()),
        "control": int(none.sum()),
        "control_acted": int(none_yes.sum()),
        "strata": len(array),
    }


def _email(data_dir: Path, rng) -> dict:
    data = pd.read_csv(
        data_file(data_dir, "hillstrom"), usecols=["newbie", "segment", "visit"]
    )
    data = data.assign(tenure=data["newbie"].map({1: "new", 0: "established"}))

    def mailed(frame):
        return frame["segment"] != "No E-Mail"

    segments = {}
    for tenure, group in data.groupby("tenure"):
        segments[tenure] = figure(
            _cells(group, treated=mailed, outcome="visit"), rng=rng
        )
    return {
        "by": SEGMENT_OF["email"],
        "source": "Hillstrom, randomised: a site visit within two weeks, mailed "
        "vs not; new = a customer for under a year (newbie)",
        ALL: figure(_cells(data, treated=mailed, outcome="visit"), rng=rng),
        "segments": {k: v for k, v in segments.items() if v is not None},
    }


def _sms(data_dir: Path, rng) -> dict:
    data = _noshow(data_dir)
    data = data[data["Age"] >= ADULT_AGE]
    data = data.assign(age=data["Age"].map(age_band))

    def reminded(frame):
        return frame["SMS_received"] == 1

    segments = {}
    for band, group in data.groupby("age"):
        segments[band] = figure(
            _cells(group, treated=reminded, outcome="came", strata="band"), rng=rng
        )
    return {
        "by": SEGMENT_OF["sms"],
        "source": "No-show file, adults, bookings made 3 days or more ahead: "
        "came after an SMS reminder vs none, within lead-time bands 3-7, 8-14, "
        "15-30, 31-60, 61+ days, weighted by the reminded bookings",
        ALL: figure(
            _cells(data, treated=reminded, outcome="came", strata="band"), rng=rng
        ),
        "segments": {k: v for k, v in segments.items() if v is not None},
    }


def estimate(data_dir: Path) -> dict:
    """The persuasion rates from the real files in `data_dir`, as plain data
    (it travels as JSON to the simulation's scratch processes)."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    channels = {"email": _email(data_dir, rng), "sms": _sms(data_dir, rng)}
    for channel, like in BORROWED.items():
        channels[channel] = {"as": like}
    return {
        "channels": channels,
        "assumptions": list(ASSUMPTIONS),
        "bootstrap": {
            "replicates": BOOTSTRAP_REPLICATES,
            "seed": BOOTSTRAP_SEED,
            "interval": 0.95,
        },
    }


def rates(estimate: dict) -> dict[str, dict]:
    """channel → {"by": segment kind, "rates": {segment → π}}, π at least 0
    (a contact is taken never to put anyone off) and the borrowed channels
    filled in."""
    measured = {}
    for channel, entry in estimate["channels"].items():
        if "as" in entry:
            continue
        figures = {ALL: entry[ALL], **entry["segments"]}
        measured[channel] = {
            "by": entry["by"],
            "rates": {k: max(0.0, f["persuasion"]) for k, f in figures.items() if f},
        }
    for channel, entry in estimate["channels"].items():
        if "as" in entry:
            measured[channel] = measured[entry["as"]]
    return measured


def rate_of(table: dict, channel: str, segments: dict) -> tuple[float, str]:
    """The persuasion of `channel` for a debtor in `segments` (kind → segment)
    and the segment it was read for: the debtor's own when measured, else all."""
    entry = table.get(channel)
    if entry is None:
        return 0.0, ""
    own = segments.get(entry["by"], UNKNOWN)
    if own in entry["rates"]:
        return entry["rates"][own], own
    return entry["rates"][ALL], ALL


def segments_of(customer, on: date) -> dict[str, str]:
    """The debtor's segments the rates are measured for."""
    since = customer.customer_since
    if since is None:
        tenure = UNKNOWN
    elif on - since < timedelta(days=NEW_CUSTOMER_DAYS):
        tenure = "new"
    else:
        tenure = "established"
    return {"age": age_band(customer.age_on(on)), "tenure": tenure}


@dataclass
class ChannelUplift:
    """What the registry files as the model: the rates and the payment base
    rate to use for a debtor the propensity model did not score."""

    table: dict
    base_rate: float

    def persuasion(self, channel: str, segments: dict) -> tuple[float, str]:
        return rate_of(self.table, channel, segments)


@dataclass
class TrainedUplift:
    """What `registry.model_register` files: the model, its figures, its data."""

    pipeline: ChannelUplift
    metrics: dict
    source: str
    window_start: date | None = None
    window_end: date | None = None
    algorithm: str = ALGORITHM
    features: list[str] = field(
        default_factory=lambda: ["age band (SMS)", "customer for under a year (e-mail)"]
    )


def train(*, estimate: dict, base_rate: float, source: str) -> TrainedUplift:
    """The model from an `estimate`; `base_rate` is the share of claims paid in
    `source`'s history, for debtors without a propensity score."""
    table = rates(estimate)
    metrics = {
        **estimate,
        "persuasion": {c: t["rates"] for c, t in table.items()},
        "base_rate": round(base_rate, 4),
        "base_rate_source": source,
    }
    return TrainedUplift(ChannelUplift(table, base_rate), metrics, source)


# The run: one book per batch.


@dataclass(frozen=True)
class UpliftHint:
    version: str
    # Channel → persuasion rate for this debtor, and the segment it is for.
    persuasion: dict[str, float]
    segments: dict[str, str]
    base_rate: float
    # The debtor's own preferred channel, which the uplift does not overrule.
    preferred: str = ""


@dataclass
class UpliftBook:
    """The channel uplift of one batch's debtors; a debtor missing from
    `hints` is decided without it (`why_not` says why, when it was asked)."""

    hints: dict[int, UpliftHint] = field(default_factory=dict)
    why_not: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, customers, on: date) -> "UpliftBook":
        """Two queries when a model is active, one otherwise."""
        from customers.models import Channel, Creditor
        from personalisation.models import ModelVersion
        from personalisation.propensity import opted_out_reason
        from personalisation.registry import active_model

        book = cls()
        loaded = active_model(ModelVersion.Kind.CHANNEL_UPLIFT)
        if loaded is None:
            return book
        learning = dict(
            Creditor.objects.filter(
                pk__in={c.creditor_id for c in customers}
            ).values_list("pk", "learning_enabled")
        )
        model: ChannelUplift = loaded.pipeline
        for customer in customers:
            why = opted_out_reason(customer, learning)
            if why:
                book.why_not[customer.pk] = why
                continue
            segments = segments_of(customer, on)
            figures = {c: model.persuasion(c, segments) for c in Channel.values}
            book.hints[customer.pk] = UpliftHint(
                loaded.version,
                {c: rate for c, (rate, _) in figures.items()},
                {c: segment for c, (_, segment) in figures.items()},
                model.base_rate,
                customer.preferred_channel,
            )
        return book
