"""Ledger fixtures: interest regimes, cases and fees as the run books them."""

from datetime import date
from decimal import Decimal

import pytest


@pytest.fixture
def contract_regime(db):
    """A contractual 12.50 % a year, act/365, for consumers and businesses."""
    from payments.models import InterestRegime

    return InterestRegime.objects.create(
        code="contract-12-5",
        name="Contract 12.5 %",
        consumer_points=Decimal("12.50"),
        business_points=Decimal("12.50"),
        day_count="act/365",
    )


@pytest.fixture
def bgb_288(db):
    """The seeded German statutory regime (base rate + 5 / + 9, €40 for B2B)."""
    from payments.models import InterestRegime

    return InterestRegime.objects.get(code="de-bgb-288")


def use_regime(creditor, regime, *, kind="business"):
    setattr(creditor, f"{kind}_interest_regime", regime)
    creditor.save()


def open_case(invoice, *, state="in_dunning", opened_on=None):
    from dunning.models import Case, Plan

    return Case.objects.create(
        invoice=invoice,
        customer=invoice.customer,
        creditor=invoice.creditor,
        plan=Plan.objects.get(name="Standard", is_default=True),
        state=state,
        opened_on=opened_on or invoice.due_on,
    )


def book_fee(invoice, amount, *, position=2, on=date(2025, 3, 20)):
    """A step's fee on the ledger, the way the run books it."""
    from django.db.models import F

    from dunning.models import Case, CaseStep
    from payments.models import Invoice, LedgerEntry

    case = Case.objects.filter(invoice=invoice).first() or open_case(invoice)
    step = case.plan.steps.get(position=position)
    case_step = CaseStep.objects.create(
        case=case, step=step, taken_on=on, open_amount=invoice.open_amount, actor="t"
    )
    LedgerEntry.objects.create(
        invoice=invoice,
        kind="fee",
        component="costs",
        amount=Decimal(amount),
        booked_on=on,
        case_step=case_step,
        actor="test",
    )
    Invoice.objects.filter(pk=invoice.pk).update(
        open_amount=F("open_amount") + Decimal(amount)
    )
    invoice.refresh_from_db()
    return case_step


def pay(customer, amount, on, **kw):
    from payments.services import payment_record

    return payment_record(
        customer=customer,
        amount=Decimal(amount),
        currency=kw.pop("currency", "EUR"),
        received_on=on,
        actor=kw.pop("actor", "user:7"),
        **kw,
    )


def balances(invoice) -> dict:
    from payments.services import component_balances

    return component_balances([invoice.id])[invoice.id]
