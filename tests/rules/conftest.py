"""Rule sets and rules built as a manager would in the admin."""

import pytest

from rules.models import Condition, Rule, RuleSet


@pytest.fixture
def make_rule_set(db):
    def make(name="Collections policy", creditor=None, **kw):
        return RuleSet.objects.create(
            name=name, creditor=creditor, created_by="user:test", **kw
        )

    return make


@pytest.fixture
def make_rule():
    def make(rule_set, name, conditions=(), priority=100, **effects):
        """`conditions` are (attribute, operator, value) or (group, a, o, v)."""
        rule = Rule.objects.create(
            rule_set=rule_set, name=name, priority=priority, **effects
        )
        for row in conditions:
            group, attribute, operator, value = row if len(row) == 4 else (1, *row)
            Condition.objects.create(
                rule=rule,
                group=group,
                attribute=attribute,
                operator=operator,
                value=value,
            )
        return rule

    return make


@pytest.fixture
def carol_gmbh(creditor):
    """A business customer that reads e-mail and has a postal address."""
    from customers.models import Customer

    return Customer.objects.create(
        creditor=creditor,
        external_id="C-CAROL",
        kind="business",
        name="Carol GmbH",
        email="ap@carol.example",
        street="Marktplatz 2",
        postcode="80331",
        city="München",
        country="DE",
        language="de",
        time_zone="Europe/Berlin",
    )
