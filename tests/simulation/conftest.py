"""A small portfolio in the IBM file's own format, and a rule set that never
contacts anyone."""

import csv
from datetime import date, timedelta

import pytest

HEADER = [
    "countryCode",
    "customerID",
    "PaperlessDate",
    "invoiceNumber",
    "InvoiceDate",
    "DueDate",
    "InvoiceAmount",
    "Disputed",
    "SettledDate",
    "PaperlessBill",
    "DaysToSettle",
    "DaysLate",
]
AS_OF = date(2012, 12, 31)


def _us(day: date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


@pytest.fixture
def small_portfolio(tmp_path):
    """Twelve customers with two claims each, all open on `AS_OF` (settled
    in February 2013 in the file, so the import leaves them open)."""
    path = tmp_path / "ar.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADER)
        for customer in range(12):
            for number in range(2):
                issued = date(2012, 11, 1) + timedelta(days=customer + 7 * number)
                due = issued + timedelta(days=30)
                settled = date(2013, 2, 10) + timedelta(days=customer)
                writer.writerow(
                    [
                        "391",
                        f"{customer:04d}-SMALL",
                        _us(date(2012, 1, 1)),
                        f"{customer:04d}{number:03d}",
                        _us(issued),
                        _us(due),
                        f"{100 + 10 * customer}.50",
                        "No",
                        _us(settled),
                        "Electronic" if customer % 2 else "Paper",
                        (settled - issued).days,
                        (settled - due).days,
                    ]
                )
    return path


@pytest.fixture
def quiet_rule_set(db):
    """A rule set that skips every step: the policy that never contacts."""
    from rules.models import Condition, Rule, RuleSet

    rule_set = RuleSet.objects.create(name="Quiet", created_by="user:test")
    rule = Rule.objects.create(
        rule_set=rule_set, priority=10, name="Skip every step", skip_step=True
    )
    Condition.objects.create(
        rule=rule, attribute="claim_amount", operator="gt", value="0"
    )
    return rule_set
