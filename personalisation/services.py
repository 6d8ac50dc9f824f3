"""Personalisation: which channel, send time, tone and payment options fit a debtor.

This is the rule-based policy ("rules-v1"). Every answer carries the reason it was
chosen and the scores of the alternatives, so that it can be explained afterwards.
The learned policies of a later version plug in beside it with the same output.

A manager's rule (`rules.engine.RuleOutcome`, passed as `rule`) narrows the
answers: it restricts or prefers channels, sets or caps the tone and chooses the
payment options. Consent, a usable address and the step's tone floor still win
over a rule.
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


def choose_channel(
    customer: Customer, items: list[DueItem], action: str, rule=None
) -> Choice:
    """Consent and a usable address first, then the plan's order and the cost."""
    allowed: list[str] = []
    for item in sorted(items, key=lambda i: -ACTION_SEVERITY.index(i.step.action)):
        for channel in item.step.channels:
            if channel not in allowed:
                allowed.append(channel)
    only = list(rule.channels) if rule is not None else []
    if only:
        # The rule's channels replace the plan's: kept in the plan's order,
        # then those the plan does not list.
        allowed = [c for c in allowed if c in only] + [
            c for c in only if c not in allowed
        ]

    scores = {}
    reachable = []
    for rank, channel in enumerate(allowed):
        if not customer.has_consent(channel):
            scores[channel] = "no consent"
            continue
        problem = customer.address_problem(channel)
        if problem:
            scores[channel] = problem
            continue
        # Lower is better: the plan's order first, cost as the tie-breaker.
        scores[channel] = float(rank) + float(CHANNEL_COST[channel])
        reachable.append(channel)

    if not reachable:
        why = "no allowed channel has both consent and an address"
        if only:
            why = f"{rule.label} allows only {', '.join(only)}; {why}"
        return Choice("", why, scores)

    preferred = rule.preferred_channel if rule is not None else ""
    if preferred and preferred in reachable:
        return Choice(preferred, f"{rule.label} prefers {preferred}", scores)
    if only and len(reachable) == 1:
        why = f"{rule.label} allows only {', '.join(only)}; {reachable[0]} is reachable"
        return Choice(reachable[0], why, scores)
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


def choose_tone(
    customer: Customer, items: list[DueItem], action: str, rule=None
) -> Choice:
    floor = Tone.EMPATHETIC
    for item in items:
        floor = firmer_tone(floor, item.step.tone_floor)

    if action in (Step.Action.FINAL_NOTICE, Step.Action.HANDOVER):
        base, why = Tone.FIRM, "a final notice is firm"
    elif customer.kind == Customer.Kind.BUSINESS:
        base, why = Tone.NEUTRAL, "business customers get a neutral tone"
    else:
        base, why = Tone.EMPATHETIC, "a consumer's first contacts are empathetic"
    if rule is not None and rule.tone:
        base, why = rule.tone, f"{rule.label} sets the tone {rule.tone}"
    cap = rule.tone_cap if rule is not None else ""
    if cap and TONE_ORDER.index(base) > TONE_ORDER.index(cap):
        base, why = cap, f"{why}, capped at {cap} by {rule.label}"

    tone = firmer_tone(base, floor)
    if tone != base:
        why = f"{why}, raised to the step's floor {floor}"
    scores = {
        t: int(TONE_ORDER.index(t) >= TONE_ORDER.index(floor)) for t in TONE_ORDER
    }
    return Choice(tone, why, scores)


def choose_payment_options(
    customer: Customer, items: list[DueItem], on: date, rule=None
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
    chosen = list(rule.payment_options) if rule is not None else []
    if chosen:
        # The rule decides which options; the ranking above decides the order.
        options = [o for o in options if o in chosen] + [
            o for o in chosen if o not in options
        ]
        why = f"{rule.label} offers {', '.join(chosen)}; ranked as {why}"
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
    customer: Customer, items: list[DueItem], on: date, now: datetime, rule=None
) -> Decision:
    """The rule-based decision for one debtor's actions due on `on` (unsaved).

    `rule` is the outcome of the manager's rules for these claims (or None when
    no rule engine was asked); the rule that matched and why the others did not
    are kept in `reasons["rule"]` and `scores["rules"]`.
    """
    action = max((i.step.action for i in items), key=ACTION_SEVERITY.index)
    channel = choose_channel(customer, items, action, rule)
    tone = choose_tone(customer, items, action, rule)
    options = choose_payment_options(customer, items, on, rule)
    send_time = choose_send_time(customer, on, now)
    decision = Decision(
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
    if rule is not None:
        decision.reasons["rule"] = rule.reason()
        decision.scores["rules"] = rule.as_json()
    return decision
