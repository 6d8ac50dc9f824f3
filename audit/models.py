"""History of every configuration change: who, when, before and after.

django-simple-history keeps a copy of the row after each save and delete of the
models registered here. The history tables belong to this app, so tracking a
model changes nothing in the app that owns it. Register configuration only:
claims, payments and cases have their own audit rows (ledger, state log).
"""

import simple_history

from contact.models import ContactPolicy
from customers.models import Creditor
from dunning.models import Plan, Step
from messaging.models import MessageTemplate
from payments.models import (
    CompensationTier,
    InterestRegime,
    ReferenceRate,
    ReferenceRateValue,
)
from personalisation.models import ChannelCost
from rules.models import Condition, Rule, RuleSet

TRACKED = [
    Plan,
    Step,
    Creditor,
    InterestRegime,
    CompensationTier,
    ReferenceRate,
    ReferenceRateValue,
    MessageTemplate,
    RuleSet,
    Rule,
    Condition,
    ContactPolicy,
    ChannelCost,
]

for _model in TRACKED:
    simple_history.register(_model, app="audit")
