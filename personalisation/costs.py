"""What a contact costs per channel, in the creditor's own currency.

Every reader of channel costs (the channel decision, the simulation, the results
dashboard) asks here, so that the figures they weigh and report are the same.
A manager sets them in the admin (`ChannelCost`): a creditor's own figure
outranks the general one, which outranks the defaults below.
"""

from decimal import Decimal

from django.db.models import Q

from customers.models import Channel

# A letter costs postage and printing; an e-mail almost nothing.
DEFAULT_COSTS = {
    Channel.EMAIL: Decimal("0.01"),
    Channel.SMS: Decimal("0.08"),
    Channel.WHATSAPP: Decimal("0.05"),
    Channel.LETTER: Decimal("1.10"),
}


def channel_costs(creditor=None) -> dict[str, Decimal]:
    """The cost of one contact per channel for `creditor` (one query)."""
    creditor_id = creditor.pk if creditor is not None else None
    return channel_costs_for([creditor_id])[creditor_id]


def channel_costs_for(creditor_ids) -> dict[int | None, dict[str, Decimal]]:
    """creditor id → its costs per channel, for many creditors in one query
    (None: the general figures)."""
    from personalisation.models import ChannelCost

    ids = {i for i in creditor_ids if i is not None}
    general = {str(k): v for k, v in DEFAULT_COSTS.items()}
    own: dict[int, dict[str, Decimal]] = {i: {} for i in ids}
    rows = ChannelCost.objects.filter(
        Q(creditor__isnull=True) | Q(creditor_id__in=ids)
    ).values_list("channel", "cost", "creditor_id")
    for channel, cost, creditor_id in rows:
        if creditor_id is None:
            general[channel] = cost
        else:
            own[creditor_id][channel] = cost
    # A creditor's own figure outranks the general one.
    costs = {i: {**general, **own[i]} for i in ids}
    costs[None] = general
    return costs
