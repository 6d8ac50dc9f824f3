"""What the learned models say about one batch of debtors, read once.

The run, the fallback after a hard bounce and the "what would happen now?"
explanation all decide through `services.decide`; `learned_load` gives them the
same learned inputs, so a debtor's channel, time and options do not depend on
which of them asked. Without active models every part is empty and `decide` is
the rules' alone.
"""

from dataclasses import dataclass
from datetime import date

from personalisation.costs import channel_costs
from personalisation.habits import HabitBook
from personalisation.propensity import score_batch
from personalisation.uplift import UpliftBook


@dataclass
class Learned:
    propensities: dict
    habits: HabitBook
    uplift: UpliftBook
    costs: dict

    def for_customer(self, customer_id: int) -> dict:
        """`decide`'s keyword arguments for one debtor of the batch."""
        return {
            "propensity": self.propensities.get(customer_id),
            "habits": self.habits,
            "uplift": self.uplift,
            "costs": self.costs,
        }


def learned_load(*, creditor, customers: list, items: dict, on: date) -> Learned:
    """`items`: customer id → the debtor's `DueItem`s of the decision."""
    return Learned(
        # One call of the propensity model for the whole batch.
        propensities=score_batch(customers=customers, items=items, on=on),
        # The learned send times and payment methods.
        habits=HabitBook.load(customers, items, on),
        # What a contact on each channel adds.
        uplift=UpliftBook.load(customers, on),
        costs=channel_costs(creditor),
    )
