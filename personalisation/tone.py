"""Tone that works: which of empathetic, neutral and firm gets people like this
debtor to pay, learned from the product's own messages and what followed them.

For every reminder and notice sent, the outcome is whether all of its claims
were paid in full within `WINDOW_DAYS` of its day. Per segment (kind / age band
/ country, then coarser, as in `habits`) and tone the payment rate is a Beta
posterior, shrunk towards the tone's rate over everyone (`PRIOR_STRENGTH`
messages' worth), so a thin segment reads like the average. The decision takes
the tone with the highest posterior mean among those the step and the rules
allow (never below the step's floor, never above a rule's cap; a rule that sets
the tone wins). Final notices stay firm.

Measured on the newest quarter of a year of messages (held out by time): the
paid rate of the held-out messages whose tone is the one the model would have
chosen, beside the rate of those sent in another tone. This is observational —
the tones were not randomised — so an experiment on tone is the real test; the
metric guards against a model that picks what did worst.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import sklearn

from personalisation.features import age_band
from personalisation.habits import TrainedHabit, segment_key, segment_levels
from personalisation.training import NotEnoughData

WINDOW_DAYS = 14
HISTORY_DAYS = 365
TEST_SHARE = 0.25
PRIOR_STRENGTH = 20.0
MIN_SEGMENT_MESSAGES = 30
MIN_MESSAGES = 200
ALGORITHM = "tone-beta-shrunk-1"
TONES = ["empathetic", "neutral", "firm"]
LEARNED_ACTIONS = ("reminder", "notice")


@dataclass
class Tally:
    sent: dict = field(default_factory=lambda: defaultdict(int))
    paid: dict = field(default_factory=lambda: defaultdict(int))

    def add(self, tone: str, paid: bool) -> None:
        self.sent[tone] += 1
        self.paid[tone] += paid

    @property
    def total(self) -> int:
        return sum(self.sent.values())


@dataclass
class ToneModel:
    segments: dict[str, Tally]
    strength: float = PRIOR_STRENGTH

    def rates(self, segment: str) -> tuple[dict[str, float], str]:
        """Posterior mean paid rate per tone for a segment, and its basis."""
        overall = self.segments.get("", Tally())
        basis, tally = "all debtors", overall
        for key in segment_levels(segment):
            found = self.segments.get(key)
            if found is not None and found.total >= MIN_SEGMENT_MESSAGES:
                basis, tally = key or "all debtors", found
                break
        rates = {}
        for tone in TONES:
            sent = overall.sent.get(tone, 0)
            # The tone's rate over everyone, with a uniform prior under it.
            prior = (overall.paid.get(tone, 0) + 1) / (sent + 2)
            rates[tone] = (tally.paid.get(tone, 0) + self.strength * prior) / (
                tally.sent.get(tone, 0) + self.strength
            )
        return rates, basis


def message_outcomes(*, since: date, until: date) -> list[tuple]:
    """(day, customer, tone, paid within the window) per sent reminder or
    notice, oldest first; the last `WINDOW_DAYS` are left out (not yet known)."""
    from customers.models import Customer
    from messaging.models import Message, MessageItem

    last = until - timedelta(days=WINDOW_DAYS)
    messages = list(
        Message.objects.filter(
            status=Message.Status.SENT,
            action_date__gte=since,
            action_date__lt=last,
            items__action__in=LEARNED_ACTIONS,
        )
        .distinct()
        .order_by("action_date", "id")
        .values_list("id", "action_date", "customer_id", "tone")
    )
    settled: dict[int, list] = defaultdict(list)
    for message_id, settled_on in MessageItem.objects.filter(
        message_id__in=[m[0] for m in messages]
    ).values_list("message_id", "invoice__settled_on"):
        settled[message_id].append(settled_on)
    customers = {
        c.pk: c
        for c in Customer.objects.filter(pk__in={m[2] for m in messages}).only(
            "id", "kind", "birth_year", "country"
        )
    }
    rows = []
    for message_id, day, customer_id, tone in messages:
        end = day + timedelta(days=WINDOW_DAYS)
        days = settled[message_id]
        paid = bool(days) and all(d is not None and d <= end for d in days)
        rows.append((day, customers[customer_id], tone, paid))
    return rows


def _segment(customer, on: date) -> str:
    return segment_key(customer.kind, age_band(customer.age_on(on)), customer.country)


def fit(rows) -> ToneModel:
    segments: dict[str, Tally] = defaultdict(Tally)
    for day, customer, tone, paid in rows:
        for key in segment_levels(_segment(customer, day)):
            segments[key].add(tone, paid)
    return ToneModel(dict(segments))


def train_tone(*, as_of: date) -> TrainedHabit:
    rows = message_outcomes(since=as_of - timedelta(days=HISTORY_DAYS), until=as_of)
    if len(rows) < MIN_MESSAGES:
        raise NotEnoughData(
            f"{len(rows)} sent reminders and notices with a known outcome, fewer "
            f"than the {MIN_MESSAGES} needed"
        )
    if len({tone for _, _, tone, _ in rows}) < 2:
        raise NotEnoughData("every message was sent in the same tone")
    cut = int(len(rows) * (1 - TEST_SHARE))
    train, test = rows[:cut], rows[cut:]
    model = fit(train)
    chosen, other = [], []
    for day, customer, tone, paid in test:
        rates, _ = model.rates(_segment(customer, day))
        (chosen if tone == max(rates, key=rates.get) else other).append(paid)

    def rate(outcomes) -> float | None:
        return round(sum(outcomes) / len(outcomes), 4) if outcomes else None

    overall = model.segments.get("", Tally())
    metrics = {
        "chosen_tone_paid_rate": rate(chosen),
        "other_tone_paid_rate": rate(other),
        "held_out_chosen": len(chosen),
        "held_out_other": len(other),
        "tone_paid_rates": {
            t: round(overall.paid[t] / overall.sent[t], 4)
            for t in TONES
            if overall.sent.get(t)
        },
        "train_rows": len(train),
        "test_rows": len(test),
        "window_days": WINDOW_DAYS,
        "split": "time",
        "observational": True,
        "sklearn": sklearn.__version__,
    }
    return TrainedHabit(
        pipeline=model,
        metrics=metrics,
        window_start=train[0][0],
        window_end=train[-1][0],
        algorithm=ALGORITHM,
        features=["tone", "kind", "age band", "country"],
    )


@dataclass(frozen=True)
class ToneHint:
    version: str
    rates: dict
    basis: str
