"""Personalisation: which channel, send time, tone and payment options fit a debtor.

This is the rule-based policy ("rules-v1"). Every answer carries the reason it was
chosen and the scores of the alternatives, so that it can be explained afterwards.
The learned policies of a later version plug in beside it with the same output.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from core.calendar import is_working_day
from customers.models import Channel, Customer
from dunning.models import TONE_ORDER, Step, Tone, firmer_tone
from personalisation.models import Decision

POLICY = "rules-v1"

# Quiet hours in the debtor's zone: nothing is sent outside [08:00, 20:00).
QUIET_START = time(8, 0)
QUIET_END = time(20, 0)

# Relative cost of a contact per channel, used to break ties in favour of the
# cheaper channel. A letter costs postage and printing.
CHANNEL_COST = {
    Channel.EMAIL: Decimal("0.01"),
    Channel.SMS: Decimal("0.08"),
    Channel.WHATSAPP: Decimal("0.05"),
    Channel.LETTER: Decimal("1.10"),
}

ACTION_SEVERITY = [
    Step.Action.REMINDER,
    Step.Action.NOTICE,
    Step.Action.FINAL_NOTICE,
    Step.Action.HANDOVER,
]

# Open amount (in the claim's currency) from which an instalment plan is offered.
INSTALMENT_THRESHOLD = Decimal("200")


@dataclass
class DueItem:
    """One claim whose step is due today, as personalisation sees it."""

    invoice_id: int
    step: Step
    open_amount: Decimal
    currency: str
    days_overdue: int


@dataclass
class Choice:
    value: object
    reason: str
    scores: dict = field(default_factory=dict)


def _age_band(customer: Customer, on: date) -> str:
    age = customer.age_on(on)
    if age is None:
        return "unknown"
    if age < 30:
        return "18-29"
    if age < 45:
        return "30-44"
    if age < 60:
        return "45-59"
    return "60+"


def choose_channel(customer: Customer, items: list[DueItem], action: str) -> Choice:
    """Consent and a usable address first, then the plan's order and the cost."""
    allowed: list[str] = []
    for item in sorted(items, key=lambda i: -ACTION_SEVERITY.index(i.step.action)):
        for channel in item.step.channels:
            if channel not in allowed:
                allowed.append(channel)

    scores = {}
    reachable = []
    for rank, channel in enumerate(allowed):
        if not customer.has_consent(channel):
            scores[channel] = "no consent"
            continue
        if not customer.has_address_for(channel):
            scores[channel] = "no address"
            continue
        # Lower is better: the plan's order first, cost as the tie-breaker.
        scores[channel] = float(rank) + float(CHANNEL_COST[channel])
        reachable.append(channel)

    if not reachable:
        return Choice("", "no allowed channel has both consent and an address", scores)

    if action in (Step.Action.FINAL_NOTICE, Step.Action.HANDOVER) and (
        Channel.LETTER in reachable
    ):
        return Choice(
            Channel.LETTER, "a final notice goes by letter as proof of dispatch", scores
        )
    if customer.preferred_channel in reachable:
        return Choice(
            customer.preferred_channel,
            f"the customer prefers {customer.preferred_channel}",
            scores,
        )
    best = min(reachable, key=lambda c: scores[c])
    return Choice(best, f"{best} is the plan's first reachable channel", scores)


def choose_tone(customer: Customer, items: list[DueItem], action: str) -> Choice:
    floor = Tone.EMPATHETIC
    for item in items:
        floor = firmer_tone(floor, item.step.tone_floor)

    if action in (Step.Action.FINAL_NOTICE, Step.Action.HANDOVER):
        base, why = Tone.FIRM, "a final notice is firm"
    elif customer.kind == Customer.Kind.BUSINESS:
        base, why = Tone.NEUTRAL, "business customers get a neutral tone"
    else:
        base, why = Tone.EMPATHETIC, "a consumer's first contacts are empathetic"

    tone = firmer_tone(base, floor)
    if tone != base:
        why = f"{why}, raised to the step's floor {floor}"
    scores = {
        t: int(TONE_ORDER.index(t) >= TONE_ORDER.index(floor)) for t in TONE_ORDER
    }
    return Choice(tone, why, scores)


def choose_payment_options(
    customer: Customer, items: list[DueItem], on: date
) -> Choice:
    """Methods ordered by how likely this kind of debtor is to use them."""
    total = sum((i.open_amount for i in items), Decimal(0))
    band = _age_band(customer, on)
    if customer.kind == Customer.Kind.BUSINESS:
        scores = {"bank_transfer": 0.7, "direct_debit": 0.2, "card": 0.1}
        why = "businesses pay by bank transfer"
    else:
        young = band in ("18-29", "30-44")
        scores = {
            "card": 0.45 if young else 0.25,
            "paypal": 0.3 if young else 0.15,
            "bank_transfer": 0.2 if young else 0.5,
            "direct_debit": 0.05 if young else 0.1,
        }
        why = f"consumers aged {band} pay most often with the first option"
    options = sorted(scores, key=lambda m: -scores[m])
    if customer.kind == Customer.Kind.CONSUMER and total >= INSTALMENT_THRESHOLD:
        options.append("instalments")
        why += f"; instalments offered from {INSTALMENT_THRESHOLD} open"
    return Choice(options, why, scores)


def choose_send_time(customer: Customer, on: date, now: datetime) -> Choice:
    """A working day and hour in the debtor's own zone, never in quiet hours."""
    zone = customer.zone
    if customer.kind == Customer.Kind.BUSINESS:
        hour, why = time(10, 0), "businesses read mail at 10:00 on working days"
    else:
        hour, why = time(18, 0), "consumers read messages after work, at 18:00"

    day = on
    while not is_working_day(day, customer.country):
        day += timedelta(days=1)
    if day != on:
        why += f"; moved from {on} to the next working day"

    send_at = datetime.combine(day, hour, tzinfo=zone)
    local_now = now.astimezone(zone)
    if send_at < now and day == local_now.date():
        # Today's slot has passed: send now if that is outside quiet hours.
        if QUIET_START <= local_now.time() < QUIET_END:
            send_at, why = now, why + "; the slot has passed, sending now"
        else:
            day = day + timedelta(days=1)
            while not is_working_day(day, customer.country):
                day += timedelta(days=1)
            send_at = datetime.combine(day, QUIET_START, tzinfo=zone)
            why += "; the slot has passed and it is quiet time, next morning"
    return Choice(send_at, why, {"hour": hour.hour, "zone": customer.time_zone})


def decide(
    customer: Customer, items: list[DueItem], on: date, now: datetime
) -> Decision:
    """The rule-based decision for one debtor's actions due on `on` (unsaved)."""
    action = max((i.step.action for i in items), key=ACTION_SEVERITY.index)
    channel = choose_channel(customer, items, action)
    tone = choose_tone(customer, items, action)
    options = choose_payment_options(customer, items, on)
    send_time = choose_send_time(customer, on, now)
    return Decision(
        customer=customer,
        action=action,
        channel=channel.value,
        send_at=send_time.value,
        tone=tone.value,
        variant="a",
        language=customer.language if customer.language in ("en", "de") else "en",
        payment_options=options.value,
        reasons={
            "channel": channel.reason,
            "send_time": send_time.reason,
            "tone": tone.reason,
            "payment_options": options.reason,
        },
        scores={
            "channel": channel.scores,
            "send_time": send_time.scores,
            "tone": tone.scores,
            "payment_options": options.scores,
        },
        policy=POLICY,
    )
