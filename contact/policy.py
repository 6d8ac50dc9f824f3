"""Applying the contact policy: at planning (`place_contact`) and right before
sending (`dispatch_check`).

Both count the same contacts: the debtor's messages that are planned, being sent
or sent, each at its moment (when it was sent, else when it is scheduled). Planned
messages count too, so that two runs a day apart cannot both fill the same week.
A cap is a rolling window: "7 in 7 days" holds for every 7-day stretch, also one
that reaches into messages planned for later.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q
from django.db.models.functions import Coalesce

from contact.models import ContactPolicy
from core.calendar import closed_day_reason, next_open_time

# A message that finds no allowed slot within this time is not planned at all.
HORIZON = timedelta(days=60)


@dataclass(frozen=True)
class AppliedPolicy:
    """The policy that governs one debtor's contacts, and why it is that one."""

    policy: ContactPolicy
    source: str

    @property
    def label(self) -> str:
        return f"contact policy {self.policy.name!r} ({self.source})"


@dataclass(frozen=True)
class Contact:
    at: datetime
    channel: str
    message_id: int


@dataclass
class Placement:
    """Where the policy puts a message: channel and time, or nowhere."""

    channel: str
    send_at: datetime | None
    reason: str
    blocked: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DispatchCheck:
    """Whether a message may go out now; if not, when and on which channel it may
    (both None: not within the horizon, so it should be cancelled)."""

    allowed: bool
    send_at: datetime | None
    channel: str | None
    reason: str


def _contacts(messages, since: datetime):
    """(customer id, Contact) for the messages that count, from `since` on."""
    from messaging.models import Message

    counted = [Message.Status.PLANNED, Message.Status.SENDING, Message.Status.SENT]
    rows = (
        messages.filter(status__in=counted)
        .alias(moment=Coalesce("sent_at", "scheduled_at"))
        .filter(moment__gte=since)
        .values_list("customer_id", "pk", "channel", "sent_at", "scheduled_at")
    )
    for customer_id, pk, channel, sent_at, scheduled_at in rows:
        yield customer_id, Contact(sent_at or scheduled_at, channel, pk)


class ContactBook:
    """The policies, and the contacts of a batch of debtors, read once.

    Personalisation decides for many debtors in a row (the run, the dry-run);
    `ContactBook.load` reads every policy in one query and the batch's contacts
    in one query per `CHUNK` debtors, instead of two queries per debtor.
    """

    CHUNK = 500

    def __init__(self, policies: list[ContactPolicy], histories: dict):
        self.histories = histories
        self.by_creditor = {p.creditor_id: p for p in policies if p.creditor_id}
        self.default = next((p for p in policies if p.product_default), None)

    @classmethod
    def load(cls, customer_ids, *, on: date) -> "ContactBook":
        """For decisions on `on` or later: contacts back to the longest window
        any policy looks at before that day."""
        from messaging.models import Message

        policies = list(ContactPolicy.objects.select_related("creditor"))
        longest = max(
            p.longest_window_days() for p in [*policies, ContactPolicy.built_in()]
        )
        # A day more: `on` starts earlier in UTC for debtors east of it.
        since = datetime.combine(on - timedelta(days=longest + 1), time(0), UTC)
        histories: dict[int, list[Contact]] = {}
        ids = sorted(set(customer_ids))
        for first in range(0, len(ids), cls.CHUNK):
            chunk = ids[first : first + cls.CHUNK]
            messages = Message.objects.filter(customer_id__in=chunk)
            for customer_id, contact in _contacts(messages, since):
                histories.setdefault(customer_id, []).append(contact)
        return cls(policies, histories)

    def policy_for(self, customer, rule=None) -> AppliedPolicy:
        """The rule's policy, else the creditor's, else the product default."""
        named = getattr(rule, "contact_policy", None) if rule is not None else None
        if named is not None:
            return AppliedPolicy(named, f"set by {rule.label}")
        policy = self.by_creditor.get(customer.creditor_id)
        if policy is not None:
            return AppliedPolicy(policy, f"{policy.creditor}'s policy")
        if self.default is not None:
            return AppliedPolicy(self.default, "product default")
        return AppliedPolicy(ContactPolicy.built_in(), "no policy configured")

    def history(self, customer_id: int) -> list[Contact]:
        return self.histories.get(customer_id, [])


def policy_by_id(policy_id, customer) -> AppliedPolicy:
    """The policy a decision recorded, or today's one if it was deleted since."""
    policy = ContactPolicy.objects.filter(pk=policy_id).first() if policy_id else None
    if policy is not None:
        return AppliedPolicy(policy, f"{policy.scope}, as at planning")
    policies = ContactPolicy.objects.filter(
        Q(creditor_id=customer.creditor_id) | Q(product_default=True)
    ).select_related("creditor")
    return ContactBook(list(policies), {}).policy_for(customer)


def contact_history(customer_id: int, since: datetime, *, exclude=None) -> list:
    """One debtor's contacts from `since` on, planned ones included."""
    from messaging.models import Message

    messages = Message.objects.filter(customer_id=customer_id)
    if exclude is not None:
        messages = messages.exclude(pk=exclude)
    return [contact for _, contact in _contacts(messages, since)]


def history_since(policy: ContactPolicy, start: datetime) -> datetime:
    return start - timedelta(days=policy.longest_window_days())


def shown(moment: datetime, zone) -> str:
    return f"{moment.astimezone(zone):%a %d %b %Y %H:%M %Z}"


class Calendar:
    """The debtor's clock and calendar under one policy."""

    def __init__(self, policy: ContactPolicy, zone, country: str, region: str):
        self.policy, self.zone = policy, zone
        self.country, self.region = country, region

    def next_open(self, moment: datetime) -> datetime:
        return next_open_time(
            moment.astimezone(self.zone),
            self.policy.send_from,
            self.policy.send_until,
            self.country,
            self.region,
            weekends=self.policy.weekends,
            holidays=self.policy.public_holidays,
        )

    def closed_reason(self, moment: datetime) -> str:
        """Why `moment` is outside the policy's hours or days, or ""."""
        local = moment.astimezone(self.zone)
        day = closed_day_reason(
            local.date(),
            self.country,
            self.region,
            weekends=self.policy.weekends,
            holidays=self.policy.public_holidays,
        )
        if day:
            return f"{local:%d %b %Y} is {day}"
        if not self.policy.send_from <= local.time() < self.policy.send_until:
            return (
                f"{local:%H:%M} is outside the sending hours "
                f"{self.policy.window_text()} ({self.zone.key})"
            )
        return ""


def _cap_lifts(times: list[datetime], at: datetime, most: int, days: int):
    """When the cap of `most` contacts in `days` stops blocking a contact at
    `at` (a moment after `at`), or None if `at` keeps within it.

    Among the windows that hold `at`, the fullest starts at `at` itself or at an
    earlier contact less than a window before it, so only those are counted.
    """
    span = timedelta(days=days)
    starts = sorted({t for t in times if at - span < t <= at} | {at})
    for start in starts:
        inside = sum(1 for t in times if start <= t < start + span)
        if inside + 1 > most:
            return start + span
    return None


def _shared_block(policy: ContactPolicy, history: list[Contact], at: datetime):
    """(reason, lifts at) for the limits on all channels together, or None."""
    if policy.min_gap_hours:
        gap = timedelta(hours=policy.min_gap_hours)
        near = [c.at for c in history if abs(c.at - at) < gap]
        if near:
            return (
                f"another contact is less than {policy.min_gap_hours} hours away "
                "(minimum gap)",
                max(near) + gap,
            )
    cap = policy.total_cap()
    if cap:
        lifts = _cap_lifts([c.at for c in history], at, *cap)
        if lifts:
            return f"{cap[0]} contacts in {cap[1]} days reached (total cap)", lifts
    return None


def _channel_block(policy, history: list[Contact], channel: str, at: datetime):
    """(reason, lifts at) for the channel's own cap, or None."""
    cap = policy.channel_cap(channel)
    if not cap:
        return None
    times = [c.at for c in history if c.channel == channel]
    lifts = _cap_lifts(times, at, *cap)
    if lifts:
        return f"{cap[0]} {channel} contacts in {cap[1]} days reached", lifts
    return None


def _earliest(policy, history, calendar: Calendar, start: datetime, channel=None):
    """(moment, why the first try was blocked) of the first allowed slot from
    `start` on, checking the channel's own cap too when `channel` is given;
    moment is None when no slot is free within the horizon."""
    at = calendar.next_open(start)
    first = calendar.closed_reason(start) if at != start else ""
    deadline = start + HORIZON
    while at <= deadline:
        block = _shared_block(policy, history, at)
        if block is None and channel:
            block = _channel_block(policy, history, channel, at)
        if block is None:
            return at, first
        first = first or block[0]
        at = calendar.next_open(block[1])
    return None, first


def place_contact(
    applied: AppliedPolicy,
    history: list[Contact],
    channels: list[str],
    start: datetime,
    calendar: Calendar,
) -> Placement:
    """The channel and moment for a message the plan wants on `channels[0]` at
    `start`.

    `channels` are the reachable channels the policy allows, best first. The
    total cap and the minimum gap move the message to a later slot; a channel's
    own cap does too, or switches to the next channel whose cap allows the same
    slot when the policy says so.
    """
    policy, zone = applied.policy, calendar.zone
    blocked: dict[str, str] = {}
    if policy.when_capped == ContactPolicy.WhenCapped.OTHER_CHANNEL:
        at, why = _earliest(policy, history, calendar, start)
        if at is not None:
            for channel in channels:
                block = _channel_block(policy, history, channel, at)
                if block is None:
                    return _placed(
                        applied, zone, channel, at, start, why, channels, blocked
                    )
                blocked[channel] = block[0]
    for channel in channels:
        at, why = _earliest(policy, history, calendar, start, channel)
        if at is not None:
            return _placed(applied, zone, channel, at, start, why, channels, blocked)
        blocked[channel] = f"no free slot within {HORIZON.days} days ({why})"
    reason = (
        f"{applied.label}: no allowed channel has a free slot within "
        f"{HORIZON.days} days from {shown(start, zone)}"
    )
    return Placement("", None, reason, blocked)


def _placed(applied, zone, channel, at, start, why, channels, blocked) -> Placement:
    parts = []
    if channel != channels[0]:
        parts.append(
            f"{channels[0]}: {blocked[channels[0]]}; switched to {channel} "
            "as the policy says"
        )
    if at != start:
        parts.append(f"moved from {shown(start, zone)} to {shown(at, zone)}: {why}")
    reason = "; ".join(parts) or "within every limit"
    return Placement(channel, at, f"{applied.label}: {reason}", blocked)


def _ranked_channels(message, policy: ContactPolicy) -> list[str]:
    """The message's channel, then the others the decision found reachable,
    best first, that still have consent, an address and the policy's leave."""
    scores = (message.decision.scores or {}).get("channel", {})
    others = sorted(
        (c for c, s in scores.items() if isinstance(s, int | float)),
        key=lambda c: scores[c],
    )
    customer = message.customer
    return [message.channel] + [
        c
        for c in others
        if c != message.channel
        and policy.channel_enabled(c)
        and customer.has_consent(c)
        and customer.has_address_for(c)
    ]


def dispatch_check(message, now: datetime) -> DispatchCheck:
    """Whether `message` may go out at `now` under the contact policy.

    A message planned days ago may meet a policy that changed, contacts planned
    since, or a dispatcher that runs late into quiet hours. The policy is the
    one its decision recorded (a rule's override survives); the message itself
    is not counted among the contacts.
    """
    customer = message.customer
    recorded = (message.decision.scores or {}).get("contact_policy", {})
    applied = policy_by_id(recorded.get("policy_id"), customer)
    policy = applied.policy
    calendar = Calendar(policy, customer.zone, customer.country, customer.subdivision)
    history = contact_history(
        customer.pk, history_since(policy, now), exclude=message.pk
    )

    channels, prefix = _ranked_channels(message, policy), ""
    if not policy.channel_enabled(message.channel):
        channels = channels[1:]
        prefix = f"{message.channel} is disallowed by the policy now; "
        if not channels:
            reason = f"{prefix}no other channel reaches the debtor ({applied.label})"
            return DispatchCheck(False, None, None, reason)
    placement = place_contact(applied, history, channels, now, calendar)
    reason = prefix + placement.reason
    if placement.send_at is None:
        return DispatchCheck(False, None, None, reason)
    if placement.send_at == now and placement.channel == message.channel:
        return DispatchCheck(True, now, message.channel, reason)
    return DispatchCheck(False, placement.send_at, placement.channel, reason)
