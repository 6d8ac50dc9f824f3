"""Personalisation: which channel, send time, tone and payment options fit a debtor.

This is the rule-based policy ("rules-v1"). Every answer carries the reason it was
chosen and the scores of the alternatives, so that it can be explained afterwards.
The learned policies of a later version plug in beside it with the same output.

A manager's rule (`rules.engine.RuleOutcome`, passed as `rule`) narrows the
answers: it restricts or prefers channels, sets or caps the tone and chooses the
payment options. Consent, a usable address and the step's tone floor still win
over a rule.

The contact policy (`contact.policy`; the rule's own one if it names one) has the
last word on channel and time: its hours and days place the send time, the
channels it disallows are skipped, and its caps and minimum gap move the message
to a later slot or another channel. What it changed is in
`reasons["contact_policy"]` and `scores["contact_policy"]`.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from contact.models import ContactPolicy
from contact.policy import (
    AppliedPolicy,
    Calendar,
    ContactBook,
    place_contact,
)
from core.calendar import closed_day_reason, next_open_time, wall_time
from customers.models import Channel, Customer
from dunning.models import TONE_ORDER, Step, Tone, firmer_tone
from personalisation.costs import DEFAULT_COSTS
from personalisation.models import Decision
from portal.texts import page_language

POLICY = "rules-v1"
# The rules' answers, with the channel weighed by a propensity model's
# expected net recovery (personalisation/propensity.py).
POLICY_SCORED = "rules-v1+propensity"


ACTION_SEVERITY = [
    Step.Action.REMINDER,
    Step.Action.NOTICE,
    Step.Action.FINAL_NOTICE,
    Step.Action.HANDOVER,
]

# Open amount (in the claim's currency) from which an instalment plan is offered.
INSTALMENT_THRESHOLD = Decimal("200")
# Below this predicted payment probability the debtor is likely in hardship:
# instalments are offered from `HARDSHIP_MINIMUM` open, under the threshold too.
HARDSHIP_PROBABILITY = 0.3
HARDSHIP_MINIMUM = Decimal("50")
# A reminder may wait this many days for a weekday the debtor engages on
# clearly more (`WEEKDAY_GAIN` times today's share), once they have
# `WEEKDAY_MIN_EVENTS` events of their own.
WEEKDAY_WAIT_DAYS = 2
WEEKDAY_GAIN = 1.5
WEEKDAY_MIN_EVENTS = 5


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
    customer: Customer,
    items: list[DueItem],
    action: str,
    rule=None,
    contact: AppliedPolicy | None = None,
    costs: dict | None = None,
) -> Choice:
    """Consent, a usable address and the contact policy's leave first, then the
    plan's order and the cost (`personalisation.costs`)."""
    costs = costs or DEFAULT_COSTS
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
        if contact is not None and not contact.policy.channel_enabled(channel):
            scores[channel] = f"disallowed by the {contact.label}"
            continue
        # Lower is better: the plan's order first, cost as the tie-breaker.
        scores[channel] = float(rank) + float(costs[channel])
        reachable.append(channel)

    if not reachable:
        why = "no allowed channel has both consent and an address"
        if any(str(s).startswith("disallowed by") for s in scores.values()):
            why += " and the contact policy's leave"
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


def weigh_recovery(
    channel: Choice,
    items: list[DueItem],
    action: str,
    rule,
    propensity,
    costs=None,
    uplift=None,
) -> tuple[Choice, dict | None, dict | None]:
    """The channel weighed by what it is expected to bring, and the scores of
    the propensity and of the uplift (None where not asked).

    With a channel uplift hint (`uplift.UpliftHint`) a contact's expected net
    gain is persuasion(channel, segment) × (1 − p) × open amount − its cost,
    p the payment propensity (the model's base rate when unscored): the best
    positive channel is chosen. Without one, the expected net recovery
    (p × open amount − cost), which is the same for every channel but its
    cost: a channel that costs more than it is expected to bring in gives way
    to the next one worth its cost. Either way a final notice keeps its
    letter as proof of dispatch and a channel a rule prefers stays; under the
    uplift the debtor's own preferred channel stays too."""
    costs = costs or DEFAULT_COSTS
    scores = None
    if propensity is not None:
        scores = _recovery_scores(channel, propensity, costs)
    if uplift is not None:
        choice, gain = _weigh_uplift(
            channel, items, action, rule, propensity, uplift, costs
        )
        return choice, scores, gain
    if scores is None or propensity.probability is None:
        return channel, scores, None
    net = {c: Decimal(v) for c, v in scores["expected_net_recovery"].items()}
    chosen = channel.value
    keep = action in (Step.Action.FINAL_NOTICE, Step.Action.HANDOVER) or (
        rule is not None and rule.preferred_channel == chosen
    )
    if not chosen or keep or net[chosen] > 0:
        return channel, scores, None
    worth = sorted((c for c in net if net[c] > 0), key=channel.scores.get)
    if not worth:
        return channel, scores, None
    why = (
        f"{channel.reason}; but {chosen} costs more than the expected recovery "
        f"({propensity.expected_recovery}), so {worth[0]}"
    )
    return Choice(worth[0], why, channel.scores), scores, None


def _reachable(channel: Choice) -> list[str]:
    return [c for c, s in channel.scores.items() if isinstance(s, float)]


def _keeps(channel: Choice, action: str, rule, preferred: str = "") -> bool:
    """Whether the channel stays whatever it is expected to bring: a final
    notice's letter, or a channel a rule or the debtor prefers."""
    chosen = channel.value
    final = action in (Step.Action.FINAL_NOTICE, Step.Action.HANDOVER)
    return (
        (final and chosen == Channel.LETTER)
        or (rule is not None and rule.preferred_channel == chosen)
        or (bool(preferred) and preferred == chosen)
    )


def _recovery_scores(channel: Choice, propensity, costs) -> dict:
    if propensity.probability is None:
        return {"status": "rules", "reason": propensity.reason}
    reachable = _reachable(channel)
    net = {
        c: (propensity.expected_recovery - costs[c]).quantize(Decimal("0.01"))
        for c in reachable
    }
    return {
        "version": propensity.version,
        "probability": propensity.probability,
        "by_claim": {str(k): v for k, v in propensity.by_claim.items()},
        "expected_recovery": str(propensity.expected_recovery),
        "expected_net_recovery": {c: str(v) for c, v in net.items()},
        "costs": {c: str(costs[c]) for c in reachable},
    }


def _weigh_uplift(
    channel: Choice, items, action, rule, propensity, uplift, costs
) -> tuple[Choice, dict]:
    total = sum((i.open_amount for i in items), Decimal(0))
    scored = propensity is not None and propensity.probability is not None
    if scored:
        # Σ (1 − p) × amount over the claims: what would stay unpaid.
        probability = propensity.probability
        unpaid = total - propensity.expected_recovery
    else:
        probability = uplift.base_rate
        unpaid = total * (1 - Decimal(str(probability)))
    reachable = _reachable(channel)
    gain = {
        c: (Decimal(str(uplift.persuasion[c])) * unpaid - costs[c]).quantize(
            Decimal("0.01")
        )
        for c in reachable
    }
    scores = {
        "version": uplift.version,
        "probability": probability,
        "probability_from": "propensity" if scored else "base rate",
        "unpaid_without_contact": str(unpaid.quantize(Decimal("0.01"))),
        "persuasion": {c: uplift.persuasion[c] for c in reachable},
        "segments": {c: uplift.segments[c] for c in reachable},
        "costs": {c: str(costs[c]) for c in reachable},
        "expected_net_gain": {c: str(v) for c, v in gain.items()},
    }
    chosen = channel.value
    if not chosen:
        return channel, scores
    # The highest gain; on a tie the rules' order (lower score first).
    best = min(reachable, key=lambda c: (-gain[c], channel.scores[c]))
    figures = (
        f"{uplift.persuasion[best]:.3f} persuasion × {scores['unpaid_without_contact']}"
        f" unpaid otherwise − {format(costs[best].normalize(), 'f')}"
    )
    if gain[best] <= 0:
        why = (
            f"{channel.reason}; no channel is expected to bring its cost "
            f"(at best {best}: {figures})"
        )
    elif best == chosen:
        why = f"{channel.reason}; it also brings the most: {gain[best]} ({figures})"
    elif _keeps(channel, action, rule, uplift.preferred):
        why = f"{channel.reason}; kept, though {best} would bring {gain[best]}"
    else:
        why = (
            f"{channel.reason}; but {uplift.version} expects {best} to bring "
            f"{gain[best]} ({figures}), {chosen} {gain[chosen]}, so {best}"
        )
        return Choice(best, why, channel.scores), scores
    return Choice(chosen, why, channel.scores), scores


def choose_tone(
    customer: Customer, items: list[DueItem], action: str, rule=None, hint=None
) -> Choice:
    """The rules' tone by step and kind of debtor, or with a tone hint
    (`tone.ToneHint`) for a reminder or notice the tone people like this
    debtor paid after most; never below the step's floor or above a rule's
    cap, and a rule that sets the tone wins."""
    floor = Tone.EMPATHETIC
    for item in items:
        floor = firmer_tone(floor, item.step.tone_floor)
    cap = rule.tone_cap if rule is not None else ""

    if action in (Step.Action.FINAL_NOTICE, Step.Action.HANDOVER):
        base, why = Tone.FIRM, "a final notice is firm"
    elif hint is not None and not (rule is not None and rule.tone):
        allowed = [
            t
            for t in TONE_ORDER
            if TONE_ORDER.index(t) >= TONE_ORDER.index(floor)
            and (not cap or TONE_ORDER.index(t) <= TONE_ORDER.index(cap))
        ] or [floor]
        tone = max(allowed, key=lambda t: (hint.rates[t], -TONE_ORDER.index(t)))
        rates = ", ".join(f"{t} {hint.rates[t]:.2f}" for t in TONE_ORDER)
        why = (
            f"{hint.version}: debtors like this one ({hint.basis}) paid most after "
            f"a {tone} message (paid rates {rates}; allowed {', '.join(allowed)})"
        )
        scores = {t: round(hint.rates[t], 4) for t in TONE_ORDER}
        return Choice(tone, why, {"model": hint.version, "rates": scores})
    elif customer.kind == Customer.Kind.BUSINESS:
        base, why = Tone.NEUTRAL, "business customers get a neutral tone"
    else:
        base, why = Tone.EMPATHETIC, "a consumer's first contacts are empathetic"
    if rule is not None and rule.tone:
        base, why = rule.tone, f"{rule.label} sets the tone {rule.tone}"
    if cap and TONE_ORDER.index(base) > TONE_ORDER.index(cap):
        base, why = cap, f"{why}, capped at {cap} by {rule.label}"

    tone = firmer_tone(base, floor)
    if tone != base:
        why = f"{why}, raised to the step's floor {floor}"
    scores = {
        t: int(TONE_ORDER.index(t) >= TONE_ORDER.index(floor)) for t in TONE_ORDER
    }
    return Choice(tone, why, scores)


def rules_method_scores(kind: str, band: str) -> dict[str, float]:
    """The rules' shares of the payment methods for a kind of debtor."""
    if kind == Customer.Kind.BUSINESS:
        return {"bank_transfer": 0.7, "direct_debit": 0.2, "card": 0.1}
    young = band in ("18-29", "30-44")
    return {
        "card": 0.45 if young else 0.25,
        "paypal": 0.3 if young else 0.15,
        "bank_transfer": 0.2 if young else 0.5,
        "direct_debit": 0.05 if young else 0.1,
    }


def choose_payment_options(
    customer: Customer,
    items: list[DueItem],
    on: date,
    rule=None,
    hint=None,
    propensity=None,
) -> Choice:
    """Methods ordered by how likely this debtor is to use them: the payment
    method model's probabilities (`habits.MethodHint`) when it was asked, the
    rules' shares for this kind of debtor otherwise. Instalments are offered
    from a threshold, or lower when the propensity model predicts hardship."""
    total = sum((i.open_amount for i in items), Decimal(0))
    band = _age_band(customer, on)
    if hint is not None:
        scores = dict(hint.probabilities)
        best = max(scores, key=scores.get)
        why = (
            f"{hint.version} predicts {best} with probability {scores[best]:.2f} "
            "from this debtor's past payments and people like them"
        )
    elif customer.kind == Customer.Kind.BUSINESS:
        scores = rules_method_scores(customer.kind, band)
        why = "businesses pay by bank transfer"
    else:
        scores = rules_method_scores(customer.kind, band)
        why = f"consumers aged {band} pay most often with the first option"
    options = sorted(scores, key=lambda m: -scores[m])
    if customer.kind == Customer.Kind.CONSUMER:
        probability = getattr(propensity, "probability", None)
        if total >= INSTALMENT_THRESHOLD:
            options.append("instalments")
            why += f"; instalments offered from {INSTALMENT_THRESHOLD} open"
        elif (
            probability is not None
            and probability < HARDSHIP_PROBABILITY
            and total >= HARDSHIP_MINIMUM
        ):
            options.append("instalments")
            why += (
                f"; instalments offered: payment predicted with probability "
                f"{probability:.2f} only, a sign of hardship"
            )
    chosen = list(rule.payment_options) if rule is not None else []
    if chosen:
        # The rule decides which options; the ranking above decides the order.
        options = [o for o in options if o in chosen] + [
            o for o in chosen if o not in options
        ]
        why = f"{rule.label} offers {', '.join(chosen)}; ranked as {why}"
    return Choice(options, why, scores)


def allowed_window(customer: Customer, policy: ContactPolicy) -> tuple[time, time, str]:
    """The hours that both the contact policy and the debtor's own window (set
    on their page) allow; the policy's alone when the two do not overlap."""
    start, end = policy.send_from, policy.send_until
    if customer.contact_from is not None:
        start = max(start, customer.contact_from)
    if customer.contact_until is not None:
        end = min(end, customer.contact_until)
    if start < end:
        return start, end, ""
    own = (
        f"{customer.contact_from or start:%H:%M}–{customer.contact_until or end:%H:%M}"
    )
    why = (
        f"; the customer's window {own} lies outside the contact policy's hours "
        f"{policy.window_text()}, which win"
    )
    return policy.send_from, policy.send_until, why


def _within_hours(hour: time, start: time, end: time, label: str) -> tuple[time, str]:
    """The preferred hour, or the nearest time from `start` to `end` allows."""
    hours = f"{label} {start:%H:%M}–{end:%H:%M}"
    if hour < start:
        return start, f"; before {hours}"
    if hour >= end:
        hour_before = datetime.combine(date(2000, 1, 1), end)
        slot = max((hour_before - timedelta(hours=1)).time(), start)
        return slot, f"; after {hours}, {slot:%H:%M}"
    return hour, ""


def _learned_hour(hint, start: time, end: time) -> tuple[time | None, str]:
    """The allowed slot (a full hour, or the window's start) at whose hour the
    debtor engages most, by the send-time model's shrunk shares; None when
    they never engage inside the allowed hours."""
    slots = [start] + [time(h) for h in range(24) if start < time(h) < end]
    best = max(slots, key=lambda t: (hint.hours[t.hour], -t.hour))
    share = hint.hours[best.hour]
    if share <= 0:
        return None, (
            f"{hint.version}: this debtor and people like them engage only "
            f"outside the allowed hours {start:%H:%M}–{end:%H:%M}"
        )
    basis = f"shrunk towards {hint.basis}" if hint.events else f"as {hint.basis}"
    why = (
        f"{hint.version}: of the allowed hours {start:%H:%M}–{end:%H:%M}, this "
        f"debtor engages most around {best:%H:%M} (share {share:.2f}; "
        f"{hint.events} own events, {basis})"
    )
    return best, why


def choose_send_time(
    customer: Customer,
    on: date,
    now: datetime,
    policy: ContactPolicy | None = None,
    hint=None,
    may_wait: bool = False,
) -> Choice:
    """A day and hour in the debtor's own zone that the contact policy allows:
    inside its hours and the debtor's own window, on a working day unless it
    allows weekends or holidays.

    With a send-time hint (`habits.SendTimeHint`) the hour is the one the
    debtor engages at most; when `may_wait` (a reminder, which has no deadline
    to keep), the day may also move up to `WEEKDAY_WAIT_DAYS` to a weekday the
    debtor clearly engages on more. Without one the rules guess by kind.
    """
    policy = policy or ContactPolicy.built_in()
    zone, country, region = customer.zone, customer.country, customer.subdivision
    days = {"weekends": policy.weekends, "holidays": policy.public_holidays}
    start, end, outside = allowed_window(customer, policy)
    scores = {"zone": customer.time_zone, "window": f"{start:%H:%M}–{end:%H:%M}"}
    hour, learned = _learned_hour(hint, start, end) if hint else (None, "")
    if hour is not None:
        why = learned + outside
        scores.update(
            model=hint.version,
            basis=hint.basis,
            events=hint.events,
            hour_shares=[round(h, 4) for h in hint.hours],
            weekday_shares=[round(d, 4) for d in hint.weekdays],
        )
    else:
        hint = None
        if customer.contact_from is not None:
            # The debtor's own window (set on the debtor page) outranks the
            # guess by kind; the contact policy's hours still bound it.
            hour = customer.contact_from
            why = f"the customer asked to be contacted from {hour:%H:%M}"
        elif customer.kind == Customer.Kind.BUSINESS:
            hour, why = time(10, 0), "businesses read mail at 10:00 on working days"
        else:
            hour, why = time(18, 0), "consumers read messages after work, at 18:00"
        own = (start, end) != (policy.send_from, policy.send_until)
        label = "the hours allowed" if own else "the contact policy's hours"
        hour, clamped = _within_hours(hour, start, end, label)
        why = (f"{learned}; so the rules: " if learned else "") + why
        why += outside + clamped
    scores["hour"] = hour.hour

    def open_from(day: date) -> date:
        while closed_day_reason(day, country, region, **days):
            day += timedelta(days=1)
        return day

    day = open_from(on)
    if day != on:
        closed = closed_day_reason(on, country, region, **days)
        why += f"; {on} is {closed}, moved to {day}"
    if may_wait and hint is not None and hint.events >= WEEKDAY_MIN_EVENTS:
        candidates = [day]
        while (candidates[-1] - on).days < WEEKDAY_WAIT_DAYS:
            following = open_from(candidates[-1] + timedelta(days=1))
            if (following - on).days > WEEKDAY_WAIT_DAYS:
                break
            candidates.append(following)
        best = max(
            candidates, key=lambda d: (hint.weekdays[d.weekday()], -d.toordinal())
        )
        today = hint.weekdays[day.weekday()]
        if best != day and hint.weekdays[best.weekday()] > WEEKDAY_GAIN * today:
            why += (
                f"; waits for {best:%A} {best}, when the debtor engages "
                f"{hint.weekdays[best.weekday()]:.2f} against {today:.2f} on {day:%A}"
            )
            day = best

    send_at = wall_time(day, hour, zone)
    local_now = now.astimezone(zone)
    if send_at < now and day == local_now.date():
        opens = next_open_time(local_now, start, end, country, region, **days)
        if opens == local_now:
            send_at, why = now, why + "; the slot has passed, sending now"
        else:
            send_at = opens
            why += "; the slot has passed and it is quiet time, next allowed morning"
    return Choice(send_at, why, scores)


def choose_contact(
    customer: Customer,
    channel: Choice,
    send_time: Choice,
    contact: AppliedPolicy,
    history: list,
) -> Choice:
    """Where the contact policy's caps and minimum gap put the message: a
    `contact.policy.Placement` with the channel and send time to use."""
    policy = contact.policy
    scores = {
        "policy_id": policy.pk,
        "policy": policy.name,
        "source": contact.source,
        "hours": policy.window_text(),
        "days": policy.days_text(),
    }
    if not channel.value:
        return Choice(None, f"{contact.label}: no channel to place", scores)
    start = send_time.value
    scores["contacts_counted"] = {
        c: sum(1 for h in history if h.channel == c)
        for c in sorted({h.channel for h in history})
    }
    others = sorted(
        (c for c, s in channel.scores.items() if isinstance(s, float)),
        key=lambda c: channel.scores[c],
    )
    ranked = [channel.value] + [c for c in others if c != channel.value]
    calendar = Calendar(policy, customer.zone, customer.country, customer.subdivision)
    placement = place_contact(contact, history, ranked, start, calendar)
    scores["blocked"] = placement.blocked
    return Choice(placement, placement.reason, scores)


def decide(
    customer: Customer,
    items: list[DueItem],
    on: date,
    now: datetime,
    rule=None,
    contacts: ContactBook | None = None,
    propensity=None,
    habits=None,
    costs: dict | None = None,
    experiments=None,
    uplift=None,
) -> Decision:
    """The rule-based decision for one debtor's actions due on `on` (unsaved).

    `rule` is the outcome of the manager's rules for these claims (or None when
    no rule engine was asked); the rule that matched and why the others did not
    are kept in `reasons["rule"]` and `scores["rules"]`. `contacts` holds the
    contact policies and the debtor's contacts so far, loaded for the whole
    batch (`ContactBook.load`); without it they are read for this debtor alone.
    `propensity` is the debtor's `propensity.Propensity` scored for the batch
    (`propensity.score_batch`); without it the decision is the rules' alone.
    `habits` is the batch's `habits.HabitBook`: the learned send time and
    payment methods of the debtors it has hints for. `costs` are the
    creditor's channel costs (`costs.channel_costs`), the defaults without.
    `experiments` is the batch's `experiments.allocation.ExperimentBook`: an
    experiment's arm replaces the variant, channel or payment options it varies.
    `uplift` is the batch's `uplift.UpliftBook`: the channel is weighed by what
    a contact on each one adds for the debtors it has a hint for.
    """
    contacts = contacts or ContactBook.load([customer.pk], on=on)
    action = max((i.step.action for i in items), key=ACTION_SEVERITY.index)
    contact = contacts.policy_for(customer, rule)
    channel = choose_channel(customer, items, action, rule, contact, costs)
    hint = uplift.hints.get(customer.pk) if uplift is not None else None
    recovery = gain = None
    if propensity is not None or hint is not None:
        channel, recovery, gain = weigh_recovery(
            channel, items, action, rule, propensity, costs, uplift=hint
        )
    allotment = None
    if experiments is not None:
        # Before the contact policy, which still places the arm's channel.
        allotment = experiments.allot(customer, items, action)
    if allotment is not None:
        channel = allotment.channel(channel, action)
    tone_hint = habits.tones.get(customer.pk) if habits is not None else None
    tone = choose_tone(customer, items, action, rule, hint=tone_hint)
    send_hint = habits.send_times.get(customer.pk) if habits is not None else None
    method_hint = habits.methods.get(customer.pk) if habits is not None else None
    options = choose_payment_options(
        customer, items, on, rule, hint=method_hint, propensity=propensity
    )
    send_time = choose_send_time(
        customer,
        on,
        now,
        contact.policy,
        hint=send_hint,
        may_wait=action == Step.Action.REMINDER,
    )
    if allotment is not None:
        # Before the contact policy, which still places the arm's hour.
        send_time = allotment.send_time(send_time, customer, contact.policy, now)
    placed = choose_contact(
        customer, channel, send_time, contact, contacts.history(customer.pk)
    )
    placement = placed.value
    if placement is not None and placement.channel != channel.value:
        why = (
            placed.reason
            if not placement.channel
            else f"{channel.reason}; {placed.reason}"
        )
        channel = Choice(placement.channel, why, channel.scores)
    if placement is not None and placement.send_at not in (None, send_time.value):
        send_time = Choice(
            placement.send_at,
            f"{send_time.reason}; moved by the contact policy",
            send_time.scores,
        )
    decision = Decision(
        customer=customer,
        action=action,
        channel=channel.value,
        send_at=send_time.value,
        tone=tone.value,
        variant="a",
        # "de-AT" reads German, "fr" English: as on the debtor page.
        language=page_language(customer.language),
        payment_options=options.value,
        reasons={
            "channel": channel.reason,
            "send_time": send_time.reason,
            "tone": tone.reason,
            "payment_options": options.reason,
            "contact_policy": placed.reason,
        },
        scores={
            "channel": channel.scores,
            "send_time": send_time.scores,
            "tone": tone.scores,
            "payment_options": options.scores,
            "contact_policy": placed.scores,
        },
        policy=POLICY,
    )
    if recovery is not None:
        decision.reasons["propensity"] = propensity.reason
        decision.scores["propensity"] = recovery
        if propensity.version:
            decision.model_version = propensity.version
            decision.policy = POLICY_SCORED
    if gain is not None:
        decision.scores["uplift"] = gain
    # A send-time hint whose hours all lie outside the window was not used.
    learned = {
        "time": send_time.scores.get("model"),
        "method": method_hint.version if method_hint is not None else None,
        "uplift": gain["version"] if gain is not None else None,
        "tone": tone.scores.get("model"),
    }
    for name, version in learned.items():
        if version:
            decision.model_versions[name] = version
            decision.policy += f"+{name}"
    if decision.model_version:
        decision.model_versions["propensity"] = decision.model_version
    if rule is not None:
        decision.reasons["rule"] = rule.reason()
        decision.scores["rules"] = rule.as_json()
    if allotment is not None:
        allotment.apply(decision)
    return decision
