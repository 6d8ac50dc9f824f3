"""The policies a simulation compares, set up in a scratch database.

`standard`: the product's default plan with the rules alone, no model.
`personalised`: the same plan with an active payment propensity model, an
active channel uplift model built from the very estimate the response model
uses, and learning on. Any other name is a rule set of the live database, exported by
name as JSON (with the plans its rules assign) and activated in the scratch
database on top of the standard set-up.
"""

import logging
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.forms.models import model_to_dict

from customers.models import Creditor
from dunning.models import Plan, Step
from personalisation.models import ModelVersion
from rules.models import Condition, Rule, RuleSet

logger = logging.getLogger(__name__)

BUILT_IN = ("standard", "personalised")
ACTOR = "system:simulate"
# The propensity source trained from the same real file as the portfolio.
TRAINING_SOURCE = {"ibm-ar": "ibm", "uci-credit-default": "taiwan"}

_RULE_FIELDS = [
    "priority",
    "name",
    "enabled",
    "tone",
    "tone_cap",
    "channels",
    "preferred_channel",
    "payment_options",
    "waive_fee",
    "skip_step",
    "hold_for_review",
    "description",
]


class PolicyError(Exception):
    pass


def _fields(instance, exclude=("id",)) -> dict:
    data = model_to_dict(instance)
    return {
        f.name: data[f.name]
        for f in instance._meta.concrete_fields
        if f.name not in exclude and not f.is_relation and f.name in data
    }


def rule_set_export(name: str) -> dict:
    """The newest rule set called `name` with its rules, conditions and the
    plans they assign, as plain data (read from the live database)."""
    rule_set = RuleSet.objects.filter(name=name).order_by("-version", "-id").first()
    if rule_set is None:
        known = sorted(set(RuleSet.objects.values_list("name", flat=True)))
        raise PolicyError(
            f"no policy or rule set called {name!r}; built in: "
            f"{', '.join(BUILT_IN)}; rule sets: {', '.join(known) or 'none'}"
        )
    plans, rules, left_out = {}, [], []
    for rule in rule_set.rules.select_related("plan").prefetch_related("conditions"):
        if rule.plan is not None and rule.plan.pk not in plans:
            steps = [
                _fields(step, exclude=("id", "plan"))
                for step in rule.plan.steps.order_by("position")
            ]
            plans[rule.plan.pk] = {"name": rule.plan.name, "steps": steps}
        if rule.contact_policy_id:
            left_out.append(f"the contact policy of rule {rule.name!r}")
        rules.append(
            {
                **{f: getattr(rule, f) for f in _RULE_FIELDS},
                "plan": rule.plan_id,
                "conditions": [
                    {
                        "group": c.group,
                        "attribute": c.attribute,
                        "operator": c.operator,
                        "value": c.value,
                    }
                    for c in rule.conditions.order_by("group", "id")
                ],
            }
        )
    return {
        "name": rule_set.name,
        "version": rule_set.version,
        "status": rule_set.status,
        "plans": {str(k): v for k, v in plans.items()},
        "rules": rules,
        # A rule's own contact policy is not carried: the scratch database
        # has the product default policy only.
        "left_out": left_out,
    }


@transaction.atomic
def rule_set_load(data: dict) -> RuleSet:
    """Create the exported rule set in the scratch database and activate it
    for every creditor there."""
    from rules.services import rule_set_activate

    plans = {}
    for key, plan in data["plans"].items():
        created = Plan.objects.create(
            name=f"{plan['name']} (from {data['name']})",
            description="Copied from the live database by simulate",
        )
        Step.objects.bulk_create(Step(plan=created, **s) for s in plan["steps"])
        plans[key] = created
    rule_set = RuleSet.objects.create(
        name=data["name"],
        description=f"Version {data['version']} ({data['status']}) of the live set",
        created_by=ACTOR,
    )
    for row in data["rules"]:
        rule = Rule.objects.create(
            rule_set=rule_set,
            plan=plans.get(str(row["plan"])) if row["plan"] else None,
            **{f: row[f] for f in _RULE_FIELDS},
        )
        Condition.objects.bulk_create(
            Condition(rule=rule, **condition) for condition in row["conditions"]
        )
    return rule_set_activate(rule_set_id=rule_set.pk, actor=ACTOR)


def model_activate(*, format: str, portfolio: Path, as_of: date, model: dict | None):
    """An active propensity model in the scratch registry: the live one named
    in `model` (its file is shared, never changed), else one trained now from
    the same real file. Returns a line saying which."""
    from personalisation import registry

    if model is not None:
        version = ModelVersion.objects.create(
            **{k: v for k, v in model.items() if k not in ("status", "activated_at")}
        )
        registry.model_promote(model=version, actor=ACTOR, reason="live model")
        return f"the live database's newest propensity model {version.version}"
    source = TRAINING_SOURCE.get(format)
    if source is None:
        raise PolicyError(f"no propensity training source for format {format!r}")
    version = registry.propensity_train(
        source=source, as_of=as_of, actor=ACTOR, path=portfolio
    )
    registry.model_promote(model=version, actor=ACTOR, reason="trained for simulate")
    return (
        f"{version.version}, trained now on {source} "
        f"(held-out ROC AUC {version.metrics.get('roc_auc')})"
    )


def uplift_activate(*, estimate: dict, base_rate: float, source: str) -> str:
    """An active channel uplift model in the scratch registry, from the same
    estimate as the debtor-response model, so that the policy weighs the
    effects it is simulated under."""
    from personalisation import registry, uplift

    trained = uplift.train(estimate=estimate, base_rate=base_rate, source=source)
    version = registry.model_register(
        kind=ModelVersion.Kind.CHANNEL_UPLIFT,
        trained=trained,
        actor=ACTOR,
        reason="the simulation's own persuasion estimate",
    )
    registry.model_promote(model=version, actor=ACTOR, reason="built for simulate")
    return version.version


def live_model(format: str) -> dict | None:
    """The newest propensity model of the live registry trained on the same
    source as the portfolio, if its file is still there."""
    source = TRAINING_SOURCE.get(format)
    model = (
        ModelVersion.objects.filter(kind=ModelVersion.Kind.PROPENSITY, source=source)
        .order_by("-trained_at", "-id")
        .first()
    )
    if model is None or not Path(model.path).exists():
        return None
    data = _fields(model)
    for key in ("trained_at", "window_start", "window_end", "retired_at"):
        if data.get(key) is not None:
            data[key] = data[key].isoformat()
    return data


def live_costs(format: str) -> dict[str, str]:
    """The channel costs the live database sets for the creditor the import
    would use (or the general ones), so that the scratch run weighs and reports
    the same figures."""
    from customers.importers import FORMATS
    from personalisation.costs import channel_costs

    name = FORMATS[format].DEFAULT_CREDITOR.name
    creditor = Creditor.objects.filter(name=name).first()
    return {c: str(cost) for c, cost in channel_costs(creditor).items()}


def costs_load(costs: dict[str, str]) -> None:
    from personalisation.models import ChannelCost

    ChannelCost.objects.bulk_create(
        ChannelCost(channel=c, cost=Decimal(v), note="from the live database")
        for c, v in costs.items()
    )


def configure(
    *,
    policy: str,
    format: str,
    portfolio: Path,
    as_of: date,
    rule_set: dict | None = None,
    model: dict | None = None,
    costs: dict | None = None,
    uplift: dict | None = None,
) -> str:
    """Set the scratch database up for `policy`; returns what it uses.
    `uplift` is the response model's persuasion estimate
    (`personalisation.uplift.estimate`)."""
    if costs:
        costs_load(costs)
    learning = policy == "personalised"
    Creditor.objects.update(learning_enabled=learning)
    if policy == "standard":
        return "the default plan, rules only, no model"
    if policy == "personalised":
        which = model_activate(
            format=format, portfolio=portfolio, as_of=as_of, model=model
        )
        if uplift is None:
            return f"the default plan with learning on and {which}"
        propensity = ModelVersion.objects.get(
            kind=ModelVersion.Kind.PROPENSITY, status=ModelVersion.Status.ACTIVE
        )
        weighed = uplift_activate(
            estimate=uplift,
            base_rate=propensity.metrics["base_rate"],
            source=propensity.source,
        )
        return f"the default plan with learning on, {which} and {weighed}"
    if rule_set is None:
        raise PolicyError(f"rule set {policy!r} was not exported")
    loaded = rule_set_load(rule_set)
    extra = (
        f"; not carried: {', '.join(rule_set['left_out'])}"
        if rule_set["left_out"]
        else ""
    )
    return f"rule set {loaded.name} ({len(rule_set['rules'])} rules), no model{extra}"
