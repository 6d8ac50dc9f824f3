"""Evaluating conditions: each type's operators, groups, priority, explanations."""

from datetime import date
from decimal import Decimal

import pytest

from rules.attributes import ClaimContext, customer_aggregates
from rules.engine import RuleBook, row_holds
from rules.validation import parse_condition

pytestmark = pytest.mark.django_db

ON = date(2025, 4, 1)


def holds(attribute, operator, value, actual) -> bool:
    return row_holds(parse_condition(attribute, operator, value), actual)


def test_number_and_money_operators():
    assert holds("days_overdue", "gt", "30", Decimal(31))
    assert not holds("days_overdue", "gt", "30", Decimal(30))
    assert holds("days_overdue", "gte", "30", Decimal(30))
    assert holds("days_overdue", "lt", "30", Decimal(29))
    assert holds("days_overdue", "lte", "30", Decimal(30))
    assert holds("days_overdue", "eq", "30", Decimal(30))
    assert holds("days_overdue", "ne", "30", Decimal(31))
    assert holds("customer_open_total", "gt", "5,000", Decimal("5000.01"))
    assert not holds("customer_open_total", "gt", "5000", Decimal("5000.00"))


def test_choice_operators():
    assert holds("customer_kind", "eq", "business", "business")
    assert holds("customer_kind", "ne", "business", "consumer")
    assert holds("step_action", "in", "notice, final_notice", "final_notice")
    assert not holds("step_action", "not_in", "notice, final_notice", "notice")


def test_text_operators_ignore_case():
    assert holds("segment", "eq", "VIP", "vip")
    assert holds("segment", "contains", "country", "ibm-country-406")
    assert holds("country", "in", "de, at", "AT")
    assert holds("language", "not_in", "de", "en")


def test_bool_operator():
    assert holds("first_invoice", "eq", "yes", True)
    assert not holds("first_invoice", "eq", "no", True)


def test_an_unknown_value_matches_no_operator():
    """A customer without a birth year is neither young nor old."""
    assert not holds("age", "lt", "30", None)
    assert not holds("age", "ne", "30", None)


def _context(invoice, late_days=20):
    figures = customer_aggregates([invoice.customer_id], ON)
    return ClaimContext(
        invoice=invoice,
        on=ON,
        late_days=late_days,
        figures=figures[invoice.customer_id],
    )


def test_the_first_rule_in_priority_order_applies_and_the_others_are_explained(
    alice, make_invoice, make_rule_set, make_rule
):
    """Lower priority numbers run first; every other rule says why it did not apply."""
    invoice = make_invoice(alice, "300.00", due_on=date(2025, 3, 3))
    rule_set = make_rule_set()
    make_rule(
        rule_set,
        "Large claims",
        [("claim_amount", "gte", "1000")],
        priority=10,
        tone="firm",
    )
    make_rule(
        rule_set,
        "Consumers",
        [("customer_kind", "eq", "consumer")],
        priority=30,
        tone="empathetic",
    )
    make_rule(
        rule_set,
        "Late consumers",
        [("customer_kind", "eq", "consumer"), ("days_overdue", "gt", "14")],
        priority=20,
        tone_cap="neutral",
    )
    rule_set.status = "active"
    rule_set.save()

    outcome = RuleBook.active().evaluate(_context(invoice))

    assert outcome.rule.name == "Late consumers"
    assert outcome.tone_cap == "neutral"
    checks = {c["name"]: c for c in outcome.checks}
    assert [c["priority"] for c in outcome.checks] == [10, 20, 30]
    assert checks["Large claims"]["why"] == (
        "did not match: claim amount (as invoiced) is 300, ≥ 1000 does not hold"
    )
    assert checks["Consumers"]["matched"] is True
    assert "comes first" in checks["Consumers"]["why"]
    assert "Late consumers" in outcome.reason()
    assert "Large claims" in outcome.reason()


def test_groups_are_joined_by_or(alice, make_invoice, make_rule_set, make_rule):
    """Either group suffices; rows inside a group must all hold."""
    invoice = make_invoice(alice, "50.00", due_on=date(2025, 3, 3))
    rule_set = make_rule_set(status="active")
    make_rule(
        rule_set,
        "Big or very late",
        [
            (1, "claim_amount", "gt", "1000"),
            (2, "days_overdue", "gt", "10"),
            (2, "customer_kind", "eq", "consumer"),
        ],
        waive_fee=True,
    )

    late = RuleBook.active().evaluate(_context(invoice, late_days=20))
    early = RuleBook.active().evaluate(_context(invoice, late_days=5))

    assert late.waive_fee is True
    assert early.rule is None
    assert "group 1:" in early.checks[0]["why"]
    assert "group 2: days overdue is 5, > 10 does not hold" in early.checks[0]["why"]


def test_customer_figures_come_from_the_customers_claims(alice, make_invoice):
    """Open total per currency, share paid on time and the risk heuristic."""
    from payments.services import payment_record

    make_invoice(alice, "100.00", due_on=date(2025, 1, 10))
    make_invoice(alice, "40.00", due_on=date(2025, 2, 10))
    make_invoice(alice, "7000.00", due_on=date(2025, 3, 10))
    # The first claim is paid late, the second on time; the third stays open.
    payment_record(
        customer=alice,
        amount=Decimal("100.00"),
        currency="EUR",
        received_on=date(2025, 1, 20),
        actor="test",
    )
    payment_record(
        customer=alice,
        amount=Decimal("40.00"),
        currency="EUR",
        received_on=date(2025, 2, 1),
        actor="test",
    )

    figures = customer_aggregates([alice.id], ON)[alice.id]

    assert figures.open_by_currency == {"EUR": Decimal("7000.00")}
    assert figures.paid_on_time_share == Decimal("50.0")
    # One late payment and one claim overdue now, of three known claims.
    assert figures.risk_score == Decimal("66.7")


def test_simulating_more_claims_asks_no_more_queries(
    creditor, make_invoice, make_rule_set, make_rule, django_assert_max_num_queries
):
    """Customer figures and cases are read per batch, not per claim (no N+1)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from customers.models import Customer
    from payments.models import Invoice
    from rules.services import simulate

    rule_set = make_rule_set(status="active")
    make_rule(
        rule_set,
        "Big business",
        [("customer_open_total", "gt", "50"), ("risk_score", "gte", "0")],
        tone="firm",
    )

    def add(n, start):
        for i in range(start, start + n):
            customer = Customer.objects.create(
                creditor=creditor,
                external_id=f"C-{i}",
                kind="business",
                name=f"Customer {i}",
                email=f"c{i}@example.com",
            )
            make_invoice(customer, "100.00", due_on=date(2025, 3, 3))

    def measure():
        invoices = Invoice.objects.select_related("customer", "creditor")
        with CaptureQueriesContext(connection) as queries:
            simulate(list(invoices), on=ON, now=timezone.now(), rules=RuleBook.active())
        return len(queries)

    add(3, 0)
    few = measure()
    add(12, 3)

    with django_assert_max_num_queries(few):
        measure()
