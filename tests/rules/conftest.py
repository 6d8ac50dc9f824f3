"""Customers for the rule tests; rule sets and rules are in tests/conftest.py."""

import pytest


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
