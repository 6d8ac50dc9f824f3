"""Named back-office users in their roles, and a claim in dunning."""

from datetime import timedelta

import pytest

from tests.admin.helpers import open_case


@pytest.fixture
def login(client):
    def log_in(user):
        client.force_login(user)
        return client

    return log_in


@pytest.fixture
def today(creditor):
    """The creditor's local date; case work is judged against it."""
    return creditor.local_today()


@pytest.fixture
def claim(alice, make_invoice, today):
    """A claim of EUR 120 that fell due three weeks ago."""
    return make_invoice(alice, amount="120.00", due_on=today - timedelta(days=21))


@pytest.fixture
def case(claim):
    return open_case(claim)


@pytest.fixture
def cases(alice, make_invoice, today):
    """Make n cases in dunning (or another state), each with its own claim."""

    def make(n, state="in_dunning"):
        return [
            open_case(
                make_invoice(alice, amount="50.00", due_on=today - timedelta(days=40)),
                state=state,
            )
            for _ in range(n)
        ]

    return make
