"""What a contact costs per channel, in the creditor's own currency.

Every reader of channel costs (the channel decision, the simulation, the results
dashboard) asks here, so that the figures they weigh and report are the same.
A manager sets them in the admin (`ChannelCost`): a creditor's own figure
outranks the general one, which outranks the defaults below.
"""

from decimal import Decimal

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
    from django.db.models import Q

    from personalisation.models import ChannelCost

    costs = {str(k): v for k, v in DEFAULT_COSTS.items()}
    scope = Q(creditor__isnull=True)
    if creditor is not None:
        scope |= Q(creditor=creditor)
    # The general rows first, so that the creditor's own overwrite them.
    for channel, cost, _ in sorted(
        ChannelCost.objects.filter(scope).values_list("channel", "cost", "creditor_id"),
        key=lambda row: row[2] is not None,
    ):
        costs[channel] = cost
    return costs
