"""Each figure on the hand-built March portfolio (tests/reports/conftest.py)."""

from datetime import date
from decimal import Decimal

import pytest

from reports import selectors
from reports.selectors import Scope

pytestmark = pytest.mark.django_db

MARCH = Scope(date(2025, 3, 1), date(2025, 3, 31))


def test_the_fixture_is_what_the_hand_computation_assumes(portfolio):
    """No interest or fees were booked: the balances are the plain differences."""
    open_amounts = {key: claim.open_amount for key, claim in portfolio.items()}

    assert open_amounts == {
        "A": Decimal("500.00"),
        "B": 0,
        "E": 0,
        "F": Decimal("80.00"),
        "C": Decimal("400.00"),
        "D": Decimal("300.00"),
        "G": 0,
    }


def test_collection_rate_by_amount_and_by_claims(portfolio):
    """EUR: 600 of 1,200 entering, B paid of A and B; GBP: nothing of 500 − 100."""
    rates = selectors.collection_rates(MARCH)

    eur, gbp = rates["EUR"], rates["GBP"]
    assert (eur.entering, eur.credited, eur.collected) == (
        Decimal("1000.00") + Decimal("200.00"),
        0,
        Decimal("600.00"),
    )
    assert eur.rate == Decimal("0.5000")
    assert (eur.cases, eur.paid_cases, eur.count_rate) == (2, 1, Decimal("0.5000"))
    assert (gbp.collectable, gbp.collected, gbp.rate) == (Decimal("400.00"), 0, 0)
    assert (gbp.cases, gbp.paid_cases) == (1, 0)
    assert list(rates) == ["EUR", "GBP"]


def test_a_payment_after_the_period_is_not_collected_in_it(portfolio):
    """A's 100.00 of 5 April counts when the period reaches April."""
    april = Scope(date(2025, 3, 1), date(2025, 4, 30))

    assert selectors.collection_rates(april)["EUR"].collected == Decimal("700.00")


def test_aging_at_the_periods_end(portfolio):
    """A is 39 days overdue with 600 (April's 100 not yet paid), F 120 days."""
    aging = selectors.aging(MARCH)

    assert aging["EUR"].amounts == {
        "current": 0,
        "d1_30": 0,
        "d31_60": Decimal("600.00"),
        "d61_90": 0,
        "d90": Decimal("80.00"),
    }
    assert aging["EUR"].counts == {
        "current": 0,
        "d1_30": 0,
        "d31_60": 1,
        "d61_90": 0,
        "d90": 1,
    }
    assert aging["GBP"].amounts["current"] == Decimal("300.00")
    assert aging["GBP"].amounts["d1_30"] == Decimal("400.00")
    assert aging["GBP"].total == Decimal("700.00")


def test_aging_buckets_end_on_their_last_day(portfolio):
    """On 22 April A (due 20 Feb) is 61 days overdue, C (due 10 Mar) 43."""
    aging = selectors.aging(Scope(date(2025, 3, 1), date(2025, 4, 21)))

    assert aging["EUR"].amounts["d31_60"] == Decimal("500.00")  # 60 days on 21 Apr
    aging = selectors.aging(Scope(date(2025, 3, 1), date(2025, 4, 22)))

    assert aging["EUR"].amounts["d61_90"] == Decimal("500.00")
    assert aging["GBP"].amounts["d31_60"] == Decimal("400.00")


def test_dso_is_receivables_over_credit_sales_times_days(portfolio):
    sales = selectors.credit_sales(MARCH)
    aging = selectors.aging(MARCH)

    assert sales == {"EUR": Decimal("200.00"), "GBP": Decimal("300.00")}
    # 680 / 200 × 31 and 700 / 300 × 31.
    assert selectors.dso(aging["EUR"].total, sales["EUR"], MARCH.days) == Decimal(
        "105.4"
    )
    assert selectors.dso(aging["GBP"].total, sales["GBP"], MARCH.days) == Decimal(
        "72.3"
    )
    assert selectors.dso(Decimal(5), Decimal(0), 31) is None


def test_days_to_pay_over_the_claims_paid_in_full(portfolio):
    """G after 3 days, B after 10, E after 69; A is paid in part only."""
    result = selectors.days_to_pay(MARCH)

    assert (result.claims, result.mean, result.median) == (
        3,
        Decimal("27.3"),
        Decimal("10.0"),
    )
    eur = selectors.days_to_pay(Scope(MARCH.date_from, MARCH.date_to, currency="EUR"))
    assert (eur.claims, eur.mean, eur.median) == (2, Decimal("39.5"), Decimal("39.5"))


@pytest.mark.parametrize(
    ("histogram", "median"),
    [([(5, 1)], "5.0"), ([(1, 1), (4, 1)], "2.5"), ([(1, 2), (9, 1)], "1.0")],
)
def test_median_from_the_histogram(histogram, median):
    total = sum(n for _, n in histogram)

    assert selectors._median(histogram, total) == Decimal(median)


def test_collections_per_week_on_claims_in_dunning(portfolio):
    """400 on Monday 10 March and 200 on Saturday 15th fall in one week; E's
    payment has no case and G's neither."""
    weeks = selectors.collections_per_week(MARCH)

    assert list(weeks) == ["EUR"]
    assert weeks["EUR"] == [
        (date(2025, 2, 24), 0),
        (date(2025, 3, 3), 0),
        (date(2025, 3, 10), Decimal("600.00")),
        (date(2025, 3, 17), 0),
        (date(2025, 3, 24), 0),
        (date(2025, 3, 31), 0),
    ]


def test_contact_costs_and_cost_per_unit(portfolio, creditor):
    """E-mail 0.01 + SMS 0.08 + letter 1.10, in the creditor's euros; the
    failed e-mail costs nothing."""
    costs = selectors.contact_costs(MARCH)

    assert costs == {"EUR": Decimal("1.19")}
    # 1.19 / 600.00 = 0.001983…
    assert selectors.cost_per_unit(costs["EUR"], Decimal("600.00")) == Decimal("0.0020")
    assert selectors.cost_per_unit(Decimal("1"), Decimal(0)) is None


def test_funnel_totals_and_breakdowns(portfolio):
    funnel = selectors.funnel(MARCH)

    assert funnel.total.counts == {
        "sent": 3,
        "opened": 2,
        "clicked": 1,
        "visited": 1,
        "paid": 1,
    }
    assert funnel.total.rate("opened") == Decimal("0.6667")

    def counts(key):
        return {
            row.label: [row.counts[stage] for stage in selectors.FUNNEL_STAGES]
            for row in funnel.breakdowns[key]
        }

    assert counts("channel") == {
        "E-mail": [1, 1, 1, 1, 1],
        "Letter": [1, 0, 0, 0, 0],
        "SMS": [1, 1, 0, 0, 0],
    }
    assert counts("step") == {"Reminder": [3, 2, 1, 1, 1]}
    assert counts("tone") == {"firm": [1, 0, 0, 0, 0], "neutral": [2, 2, 1, 1, 1]}
    assert counts("variant") == {"a": [2, 1, 0, 0, 0], "b": [1, 1, 1, 1, 1]}
    assert counts("kind") == {"business": [1, 0, 0, 0, 0], "consumer": [2, 2, 1, 1, 1]}
    assert counts("age") == {"30–44": [2, 2, 1, 1, 1], "unknown": [1, 0, 0, 0, 0]}
    assert counts("country") == {"DE": [2, 2, 1, 1, 1], "GB": [1, 0, 0, 0, 0]}


def test_the_currency_filter_keeps_the_messages_of_its_claims(portfolio):
    funnel = selectors.funnel(Scope(MARCH.date_from, MARCH.date_to, currency="GBP"))

    assert funnel.total.counts["sent"] == 1
    assert [row.label for row in funnel.breakdowns["channel"]] == ["Letter"]


def test_another_creditor_sees_none_of_it(portfolio):
    from customers.models import Creditor

    other = Creditor.objects.create(name="Other", country="DE")
    scope = Scope(MARCH.date_from, MARCH.date_to, creditor_id=other.pk)

    assert selectors.collection_rates(scope) == {}
    assert selectors.aging(scope) == {}
    assert selectors.funnel(scope).total.counts["sent"] == 0
    assert selectors.days_to_pay(scope).claims == 0


def test_contact_costs_follow_the_costs_a_manager_set(portfolio, creditor):
    """The creditor's own letter price replaces the default 1.10."""
    from personalisation.models import ChannelCost

    ChannelCost.objects.create(creditor=creditor, channel="letter", cost="0.80")

    costs = selectors.contact_costs(MARCH)

    assert costs == {"EUR": Decimal("0.89")}
