"""Settled debtors are erased once their creditor's retention period is over."""

from datetime import date

import pytest
from django_q.models import Schedule

from payments.services import payment_record
from privacy.models import Erasure, RetentionPolicy
from privacy.retention import retention_erase

pytestmark = pytest.mark.django_db


@pytest.fixture
def settled(zora, make_invoice):
    """Zora's only claim, paid on 2025-04-07."""
    invoice = make_invoice(zora, amount="100.00")
    payment_record(
        customer=zora,
        amount=invoice.open_amount,
        currency="EUR",
        received_on=date(2025, 4, 7),
        actor="test",
    )
    invoice.refresh_from_db()
    assert invoice.settled_on == date(2025, 4, 7)
    return invoice


def test_a_debtor_is_erased_the_day_after_the_period(settled, zora, creditor):
    RetentionPolicy.objects.create(creditor=creditor, retention_days=30)

    assert retention_erase(today=date(2025, 5, 7)) == {"erased": 0, "refused": 0}
    assert retention_erase(today=date(2025, 5, 8)) == {"erased": 1, "refused": 0}
    assert retention_erase(today=date(2025, 5, 9)) == {"erased": 0, "refused": 0}

    erasure = Erasure.objects.get(customer=zora)
    assert erasure.actor == "system:retention"


def test_the_default_keeps_ten_years(settled, zora):
    assert retention_erase(today=date(2035, 4, 1))["erased"] == 0
    assert retention_erase(today=date(2035, 4, 6))["erased"] == 1


def test_an_open_claim_keeps_the_debtor(settled, zora, creditor, make_invoice):
    RetentionPolicy.objects.create(creditor=creditor, retention_days=30)
    make_invoice(zora, amount="20.00", number="INV-LATER")

    assert retention_erase(today=date(2026, 1, 1))["erased"] == 0
    assert not Erasure.objects.exists()


def test_the_daily_schedule_exists_once(db):
    from privacy.schedules import ensure_schedule

    ensure_schedule()
    ensure_schedule()

    schedule = Schedule.objects.get(name="privacy-retention-daily")
    assert schedule.func == "privacy.tasks.retention_daily"
    assert schedule.schedule_type == "D"
