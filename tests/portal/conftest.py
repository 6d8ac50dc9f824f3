"""Debtor page fixtures: a frozen clock, links, cases and fees as the run books."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db.models import F

# 22:30 UTC on 1 April is already 2 April in Berlin: the creditor's local date.
NOW = datetime(2025, 4, 1, 22, 30, tzinfo=UTC)
CREDITOR_TODAY = date(2025, 4, 2)


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    return NOW


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Failed attempts are counted in the cache: each test starts from none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def test_provider(settings):
    """The built-in test provider is active (tests run with DEBUG off)."""
    settings.PORTAL_PAYMENT_PROVIDER = "test"


@pytest.fixture
def alice_link(alice):
    """Alice's personal link and its raw token."""
    from portal.services import link_create

    return link_create(customer=alice)


def open_case(invoice, *, state="in_dunning"):
    """The claim's case in the default plan "Standard", as the run opens it."""
    from dunning.models import Case, Plan

    return Case.objects.create(
        invoice=invoice,
        customer=invoice.customer,
        creditor=invoice.creditor,
        plan=Plan.objects.get(name="Standard", is_default=True),
        state=state,
        opened_on=invoice.due_on,
    )


def charge_fee(case, *, position: int, taken_on: date):
    """Take a plan step with its fee, booked on the ledger like the run does."""
    from dunning.models import CaseStep
    from payments.models import Invoice, LedgerEntry

    step = case.plan.steps.get(position=position)
    invoice = case.invoice
    case_step = CaseStep.objects.create(
        case=case,
        step=step,
        taken_on=taken_on,
        fee=step.fee,
        open_amount=invoice.open_amount,
        actor="test",
    )
    LedgerEntry.objects.create(
        invoice=invoice,
        kind=LedgerEntry.Kind.FEE,
        component=LedgerEntry.Component.COSTS,
        amount=step.fee,
        booked_on=taken_on,
        case_step=case_step,
        actor="test",
    )
    Invoice.objects.filter(pk=invoice.pk).update(
        open_amount=F("open_amount") + step.fee
    )
    invoice.refresh_from_db()
    return Decimal(step.fee)


def book_interest(invoice, amount: str, *, first_day: date, booked_on: date, rate):
    """Interest on late payment on the whole principal, booked on the ledger."""
    from payments.interest import ACT_365, Accrual, Segment
    from payments.models import Invoice, LedgerEntry

    segment = Segment(
        first_day=first_day,
        last_day=booked_on,
        days=(booked_on - first_day).days + 1,
        principal=invoice.amount,
        rate=Decimal(rate),
        amount=Decimal(amount),
    )
    accrual = Accrual(
        start=first_day,
        end=booked_on,
        currency=invoice.currency,
        day_count=ACT_365,
        segments=(segment,),
        total=Decimal(amount),
    )
    LedgerEntry.objects.create(
        invoice=invoice,
        kind=LedgerEntry.Kind.INTEREST,
        component=LedgerEntry.Component.INTEREST,
        amount=Decimal(amount),
        booked_on=booked_on,
        accrued_from=first_day,
        accrued_to=booked_on,
        details=accrual.as_json(),
        actor="test",
    )
    Invoice.objects.filter(pk=invoice.pk).update(
        open_amount=F("open_amount") + Decimal(amount)
    )
    invoice.refresh_from_db()
