"""Habits: when a debtor reads their messages and how they pay, learned from history.

Two learned policies sit beside the rules of `personalisation.services`:

- *Send time.* The hours and weekdays, in the debtor's own zone, at which they
  opened or clicked a message or visited and used their page. One debtor has few
  such moments, so their counts are shrunk towards their segment's (kind, age
  band, country; coarser when a segment is thin): the posterior share of hour h
  is (n_h + α·p_h) / (n + α), p the segment's share and α `PRIOR_STRENGTH`. A
  debtor with no history gets their segment's best hour; a segment without
  history gets the rules.
- *Payment method.* A multinomial logistic regression (scikit-learn) of the
  method a payment was made with, from the debtor's kind, age band, country, the
  amount, the method of their previous payment and the device they last
  opened their page on (phone, tablet, desktop).

Both are trained from the product's own tables, measured on the newest quarter
of their data (held out by time) against the rules' answer on the same rows,
and registered as `ModelVersion`s of their kind: the decisions use the active
version, and a kind without one is decided by the rules. Nothing here reads a
protected attribute.
"""

import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from personalisation.features import age_band
from personalisation.training import NotEnoughData

logger = logging.getLogger(__name__)

WINDOW_DAYS = 365
TEST_SHARE = 0.25
# The weight of the segment's shares, in events: a debtor's own hour wins once
# they have engaged about this many times at it.
PRIOR_STRENGTH = 8.0
# A segment with fewer events than this borrows from the coarser one.
MIN_SEGMENT_EVENTS = 30
MIN_EVENTS = 200
MIN_PAYMENTS = 100
SEND_TIME_ALGORITHM = "hour-weekday-shrunk-1"
METHOD_ALGORITHM = "logreg-onehot-1"

# The payment options the page offers, and what imported method names mean.
METHODS = ["card", "paypal", "bank_transfer", "direct_debit"]
METHOD_ALIASES = {
    "credit_card": "card",
    "debit_card": "card",
    "cards": "card",
    "transfer": "bank_transfer",
    "bank": "bank_transfer",
    "wire": "bank_transfer",
    "sepa_credit_transfer": "bank_transfer",
    "sepa_debit": "direct_debit",
    "sepa_direct_debit": "direct_debit",
    "debit": "direct_debit",
}
NO_METHOD = "none"
METHOD_FEATURES = [
    "customer_kind",
    "age_band",
    "country",
    "amount_band",
    "previous_method",
    "device",
]
# The device of a page visit (portal.ways_out.device_class); "unknown" also
# for a debtor who never opened their page.
NO_DEVICE = "unknown"


def method_name(text: str) -> str:
    """One of `METHODS` for a method as recorded, or "" when it is none of them."""
    key = "_".join(text.strip().lower().replace("-", " ").split())
    key = METHOD_ALIASES.get(key, key)
    return key if key in METHODS else ""


def segment_key(kind: str, band: str, country: str) -> str:
    return f"{kind}/{band}/{country}"


def segment_levels(key: str) -> list[str]:
    """The segment and its coarser ones: kind/band/country, kind/band, kind, all."""
    kind, band, _country = key.split("/")
    return [key, f"{kind}/{band}", kind, ""]


def _customer_segment(customer, on: date) -> str:
    return segment_key(customer.kind, age_band(customer.age_on(on)), customer.country)


def _amount_band(amount: Decimal | float) -> str:
    value = float(amount)
    if value <= 0:
        return "0"
    # Bands by powers of about three: 1-3, 3-10, 10-30, ...
    return str(int(math.floor(math.log10(value) * 2)))


# Send time.


@dataclass
class Counts:
    hours: list[float] = field(default_factory=lambda: [0.0] * 24)
    weekdays: list[float] = field(default_factory=lambda: [0.0] * 7)

    @property
    def total(self) -> float:
        return sum(self.hours)

    def add(self, moment: datetime) -> None:
        self.hours[moment.hour] += 1
        self.weekdays[moment.weekday()] += 1


@dataclass
class SendTimeModel:
    """Segment shares of engagement by local hour and weekday."""

    segments: dict[str, Counts]
    strength: float = PRIOR_STRENGTH

    def prior(self, segment: str) -> tuple[str, Counts | None]:
        """The finest segment with enough events, and its counts."""
        for key in segment_levels(segment):
            counts = self.segments.get(key)
            if counts is not None and counts.total >= MIN_SEGMENT_EVENTS:
                return key, counts
        return "", None

    def posterior(self, own: Counts, segment: str) -> tuple[list, list, str]:
        """Hour and weekday shares for a debtor with `own` counts."""
        key, prior = self.prior(segment)
        n = own.total
        if prior is None:
            if not n:
                return [], [], ""
            return (
                [h / n for h in own.hours],
                [d / n for d in own.weekdays],
                "own history only",
            )
        alpha, total = self.strength, prior.total
        hours = [
            (own.hours[h] + alpha * prior.hours[h] / total) / (n + alpha)
            for h in range(24)
        ]
        days = [
            (own.weekdays[d] + alpha * prior.weekdays[d] / total) / (n + alpha)
            for d in range(7)
        ]
        return hours, days, key or "all debtors"


def local_moments(rows, zones: dict[int, str]) -> list[tuple[int, datetime]]:
    """(customer id, aware moment in the debtor's zone) for (customer id, moment)."""
    from zoneinfo import ZoneInfo

    cache: dict[str, ZoneInfo] = {}
    out = []
    for customer_id, moment in rows:
        name = zones.get(customer_id)
        if name is None or moment is None:
            continue
        zone = cache.get(name) or cache.setdefault(name, ZoneInfo(name))
        out.append((customer_id, moment.astimezone(zone)))
    return out


def engagement_rows(*, since: datetime, until: datetime, customer_ids=None) -> list:
    """(customer id, moment) of every open, click and page use in the window."""
    from delivery.models import DeliveryEvent
    from portal.models import EngagementEvent

    events = DeliveryEvent.objects.filter(
        kind__in=[DeliveryEvent.Kind.OPENED, DeliveryEvent.Kind.CLICKED],
        occurred_at__gte=since,
        occurred_at__lt=until,
    )
    visits = EngagementEvent.objects.filter(
        kind__in=[
            EngagementEvent.Kind.VISIT,
            EngagementEvent.Kind.PAY_STARTED,
            EngagementEvent.Kind.PROMISED,
            EngagementEvent.Kind.INSTALMENTS_AGREED,
        ],
        created_at__gte=since,
        created_at__lt=until,
    )
    if customer_ids is not None:
        events = events.filter(message__customer_id__in=customer_ids)
        visits = visits.filter(customer_id__in=customer_ids)
    return list(events.values_list("message__customer_id", "occurred_at")) + list(
        visits.values_list("customer_id", "created_at")
    )


def _customers(ids) -> dict:
    from customers.models import Customer

    return {
        c.pk: c
        for c in Customer.objects.filter(pk__in=list(ids)).only(
            "id", "kind", "birth_year", "country", "time_zone"
        )
    }


def _rules_hour(customer) -> int:
    """The hour the rules would choose (`services.choose_send_time`)."""
    from customers.models import Customer

    if customer.contact_from is not None:
        return customer.contact_from.hour
    return 10 if customer.kind == Customer.Kind.BUSINESS else 18


@dataclass
class TrainedHabit:
    """What `registry.model_register` files: the model, how it did, its data."""

    pipeline: object
    metrics: dict
    window_start: date | None
    window_end: date | None
    source: str = "product"
    algorithm: str = SEND_TIME_ALGORITHM
    features: list[str] = field(default_factory=list)


def _near(a: int, b: int) -> bool:
    return min((a - b) % 24, (b - a) % 24) <= 1


def train_send_time(*, as_of: date) -> TrainedHabit:
    """Fit the segment shares on the older three quarters of a year of
    engagement and measure on the newest quarter: how often the debtor's
    predicted best hour is within an hour of when they actually engaged,
    beside the rules' fixed hour, and the log loss of the hour shares."""
    from django.utils import timezone

    until = timezone.make_aware(datetime.combine(as_of, time()))
    since = until - timedelta(days=WINDOW_DAYS)
    rows = engagement_rows(since=since, until=until)
    customers = _customers({c for c, _ in rows})
    moments = sorted(
        local_moments(rows, {pk: c.time_zone for pk, c in customers.items()}),
        key=lambda row: row[1],
    )
    if len(moments) < MIN_EVENTS:
        raise NotEnoughData(
            f"{len(moments)} engagement events, fewer than the {MIN_EVENTS} needed"
        )
    cut = int(len(moments) * (1 - TEST_SHARE))
    train, test = moments[:cut], moments[cut:]

    segments: dict[str, Counts] = defaultdict(Counts)
    own: dict[int, Counts] = defaultdict(Counts)
    for customer_id, moment in train:
        key = _customer_segment(customers[customer_id], moment.date())
        for level in segment_levels(key):
            segments[level].add(moment)
        own[customer_id].add(moment)
    model = SendTimeModel(dict(segments))

    hits = rules_hits = 0
    losses = []
    for customer_id, moment in test:
        customer = customers[customer_id]
        hours, _days, _basis = model.posterior(
            own.get(customer_id, Counts()), _customer_segment(customer, moment.date())
        )
        best = max(range(24), key=hours.__getitem__)
        hits += _near(best, moment.hour)
        rules_hits += _near(_rules_hour(customer), moment.hour)
        losses.append(-math.log(max(hours[moment.hour], 1e-6)))
    metrics = {
        "hit_rate_1h": round(hits / len(test), 4),
        "rules_hit_rate_1h": round(rules_hits / len(test), 4),
        "log_loss": round(float(np.mean(losses)), 4),
        "uniform_log_loss": round(math.log(24), 4),
        "train_rows": len(train),
        "test_rows": len(test),
        "customers": len(customers),
        "segments": len(model.segments),
        "split": "time",
        "sklearn": sklearn.__version__,
    }
    return TrainedHabit(
        pipeline=model,
        metrics=metrics,
        window_start=train[0][1].date(),
        window_end=train[-1][1].date(),
        features=["local hour", "local weekday", "kind", "age band", "country"],
    )


# Payment method.


def payment_rows(*, since: date, until: date) -> pd.DataFrame:
    """One row per payment with a known method, oldest first, with the method
    of the debtor's payment before it."""
    from payments.models import Payment

    payments = (
        Payment.objects.filter(
            received_on__gte=since - timedelta(days=WINDOW_DAYS),
            received_on__lt=until,
            reversed_on__isnull=True,
        )
        .exclude(method="")
        .order_by("received_on", "id")
        .values_list("customer_id", "received_on", "amount", "method")
    )
    rows = [(c, d, a, method_name(m)) for c, d, a, m in payments]
    rows = [row for row in rows if row[3]]
    customers = _customers({row[0] for row in rows})
    visits = _visits(customers, until=until)
    previous: dict[int, str] = {}
    out = []
    for customer_id, received, amount, method in rows:
        customer = customers[customer_id]
        if received >= since:
            # The last visit before the day of the payment.
            devices = [d for day, d in visits.get(customer_id, []) if day < received]
            out.append(
                {
                    "customer_kind": customer.kind,
                    "age_band": age_band(customer.age_on(received)),
                    "country": customer.country,
                    "amount_band": _amount_band(amount),
                    "previous_method": previous.get(customer_id, NO_METHOD),
                    "device": devices[-1] if devices else NO_DEVICE,
                    "method": method,
                    "received_on": received,
                }
            )
        previous[customer_id] = method
    return pd.DataFrame(out)


def _visits(customers, *, until: date) -> dict[int, list[tuple[date, str]]]:
    """Each debtor's page visits before `until`, oldest first: (day, device)."""
    from portal.models import EngagementEvent

    visits: dict[int, list] = defaultdict(list)
    for customer_id, created, details in (
        EngagementEvent.objects.filter(
            customer_id__in=list(customers),
            kind=EngagementEvent.Kind.VISIT,
            created_at__date__lt=until,
        )
        .order_by("created_at", "id")
        .values_list("customer_id", "created_at", "details")
    ):
        device = (details or {}).get("device") or NO_DEVICE
        visits[customer_id].append((created.date(), device))
    return visits


def build_method_pipeline() -> Pipeline:
    encode = ColumnTransformer(
        [("categories", OneHotEncoder(handle_unknown="ignore"), METHOD_FEATURES)]
    )
    return Pipeline(
        [("encode", encode), ("model", LogisticRegression(max_iter=1000, C=1.0))]
    )


def _rules_method(kind: str, band: str) -> str:
    """The first method of the rules' ranking (`services.choose_payment_options`)."""
    from personalisation.services import rules_method_scores

    scores = rules_method_scores(kind, band)
    return max(scores, key=scores.get)


def train_payment_method(*, as_of: date) -> TrainedHabit:
    """Fit on the older three quarters of a year of payments, measure on the
    newest quarter: top-1 accuracy beside the rules' first method and the most
    common method, and the log loss."""
    data = payment_rows(since=as_of - timedelta(days=WINDOW_DAYS), until=as_of)
    if len(data) < MIN_PAYMENTS:
        raise NotEnoughData(
            f"{len(data)} payments with a known method, fewer than the "
            f"{MIN_PAYMENTS} needed"
        )
    cut = int(len(data) * (1 - TEST_SHARE))
    train, test = data.iloc[:cut], data.iloc[cut:]
    if train["method"].nunique() < 2:
        raise NotEnoughData("every training payment used the same method")
    pipeline = build_method_pipeline().fit(train[METHOD_FEATURES], train["method"])
    probabilities = pipeline.predict_proba(test[METHOD_FEATURES])
    classes = list(pipeline.classes_)
    predicted = [classes[i] for i in probabilities.argmax(axis=1)]
    actual = test["method"].tolist()
    rules = [
        _rules_method(kind, band)
        for kind, band in zip(test["customer_kind"], test["age_band"], strict=True)
    ]
    common = train["method"].value_counts().idxmax()

    def share(hits) -> float:
        return round(float(np.mean(list(hits))), 4)

    # Log loss over the held-out payments with a method the model knows.
    known = np.array([m in classes for m in actual])
    loss = (
        round(
            float(
                log_loss(np.array(actual)[known], probabilities[known], labels=classes)
            ),
            4,
        )
        if known.any()
        else None
    )
    metrics = {
        "accuracy": share(p == a for p, a in zip(predicted, actual, strict=True)),
        "rules_accuracy": share(r == a for r, a in zip(rules, actual, strict=True)),
        "most_common_accuracy": share(common == a for a in actual),
        "log_loss": loss,
        "classes": classes,
        "method_shares": {
            m: round(float(s), 4)
            for m, s in train["method"].value_counts(normalize=True).items()
        },
        "train_rows": len(train),
        "test_rows": len(test),
        "split": "time",
        "sklearn": sklearn.__version__,
    }
    return TrainedHabit(
        pipeline=pipeline,
        metrics=metrics,
        window_start=train["received_on"].min(),
        window_end=train["received_on"].max(),
        algorithm=METHOD_ALGORITHM,
        features=list(METHOD_FEATURES),
    )


# The run: one book per batch.


@dataclass(frozen=True)
class SendTimeHint:
    version: str
    hours: list
    weekdays: list
    basis: str
    events: int


@dataclass(frozen=True)
class MethodHint:
    version: str
    probabilities: dict


@dataclass
class HabitBook:
    """The learned send-time and method hints of one batch's debtors.

    A debtor missing from `send_times` or `methods` is decided by the rules;
    `why_not` says why for those the models were not asked about.
    """

    send_times: dict[int, SendTimeHint] = field(default_factory=dict)
    methods: dict[int, MethodHint] = field(default_factory=dict)
    # personalisation/tone.py: the tones' paid rates of each debtor's segment.
    tones: dict = field(default_factory=dict)
    why_not: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, customers, items: dict, on: date) -> "HabitBook":
        """At most five queries when a model is active, none otherwise."""
        from customers.models import Creditor
        from personalisation.models import ModelVersion
        from personalisation.propensity import opted_out_reason
        from personalisation.registry import active_model

        book = cls()
        send_model = active_model(ModelVersion.Kind.SEND_TIME)
        method_model = active_model(ModelVersion.Kind.PAYMENT_METHOD)
        tone_model = active_model(ModelVersion.Kind.TONE)
        if send_model is None and method_model is None and tone_model is None:
            return book
        learning = dict(
            Creditor.objects.filter(
                pk__in={c.creditor_id for c in customers}
            ).values_list("pk", "learning_enabled")
        )
        asked = []
        for customer in customers:
            why = opted_out_reason(customer, learning)
            if why:
                book.why_not[customer.pk] = why
            else:
                asked.append(customer)
        if not asked:
            return book
        if send_model is not None:
            book._send_times(send_model, asked, on)
        if method_model is not None:
            book._methods(method_model, asked, items, on)
        if tone_model is not None:
            book._tones(tone_model, asked, on)
        return book

    def _send_times(self, loaded, customers, on: date) -> None:
        from django.utils import timezone

        until = timezone.make_aware(datetime.combine(on, time()))
        rows = engagement_rows(
            since=until - timedelta(days=WINDOW_DAYS),
            until=until,
            customer_ids=[c.pk for c in customers],
        )
        own: dict[int, Counts] = defaultdict(Counts)
        for customer_id, moment in local_moments(
            rows, {c.pk: c.time_zone for c in customers}
        ):
            own[customer_id].add(moment)
        model: SendTimeModel = loaded.pipeline
        for customer in customers:
            counts = own.get(customer.pk, Counts())
            hours, days, basis = model.posterior(
                counts, _customer_segment(customer, on)
            )
            if hours:
                self.send_times[customer.pk] = SendTimeHint(
                    loaded.version, hours, days, basis, int(counts.total)
                )

    def _tones(self, loaded, customers, on: date) -> None:
        """No query: the tone model holds the segments' rates."""
        from personalisation.tone import ToneHint

        for customer in customers:
            segment = segment_key(
                customer.kind, age_band(customer.age_on(on)), customer.country
            )
            rates, basis = loaded.pipeline.rates(segment)
            self.tones[customer.pk] = ToneHint(loaded.version, rates, basis)

    def _methods(self, loaded, customers, items: dict, on: date) -> None:
        from payments.models import Payment

        last: dict[int, str] = {}
        for customer_id, method in (
            Payment.objects.filter(
                customer_id__in=[c.pk for c in customers], reversed_on__isnull=True
            )
            .exclude(method="")
            .order_by("received_on", "id")
            .values_list("customer_id", "method")
        ):
            name = method_name(method)
            if name:
                last[customer_id] = name
        visits = _visits([c.pk for c in customers], until=on + timedelta(days=1))
        rows = [
            {
                "customer_kind": c.kind,
                "age_band": age_band(c.age_on(on)),
                "country": c.country,
                "amount_band": _amount_band(
                    sum((i.open_amount for i in items.get(c.pk, [])), Decimal(0))
                ),
                "previous_method": last.get(c.pk, NO_METHOD),
                "device": (visits.get(c.pk) or [(None, NO_DEVICE)])[-1][1],
            }
            for c in customers
        ]
        probabilities = loaded.pipeline.predict_proba(
            pd.DataFrame(rows, columns=METHOD_FEATURES)
        )
        classes = list(loaded.pipeline.classes_)
        for customer, row in zip(customers, probabilities, strict=True):
            self.methods[customer.pk] = MethodHint(
                loaded.version,
                {m: round(float(p), 4) for m, p in zip(classes, row, strict=True)},
            )
