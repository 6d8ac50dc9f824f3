"""Properties of the ledger under random sequences of payments, fees and credits.

Each example books three claims of one business debtor (12.5 % contractual
interest, §367 allocation) and applies a random sequence of: payments (named or
not), dunning runs (step fees, interest), repeated step fees, credit notes and
waivers, on increasing dates. After every operation:

- a payment's allocations add up to the payment minus the customer credit;
- no claim and no component of a claim is ever negative;
- each claim's cached open amount equals the sum of its ledger rows;
- a step's fee and the compensation are charged at most once per claim;
- a claim with nothing open is settled, an open one is not.
"""

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from customers.models import Creditor, Customer
from dunning.models import Case, Plan
from dunning.run import run_dunning
from payments.models import InterestRegime, Invoice, LedgerEntry, Payment
from payments.services import (
    LedgerError,
    charges_waive,
    component_balances,
    credit_note_post,
    invoice_create,
    payment_record,
)

START = date(2025, 1, 6)
CENTS = Decimal("0.01")

amounts = st.integers(min_value=1, max_value=150_000).map(lambda c: Decimal(c) * CENTS)
claim_index = st.integers(min_value=0, max_value=2)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), amounts, st.none() | claim_index),
        st.tuples(st.just("run"), st.integers(0, 3)),
        st.tuples(st.just("fee_again"), claim_index),
        st.tuples(st.just("credit"), claim_index, amounts),
        st.tuples(st.just("waive"), claim_index),
    ),
    min_size=1,
    max_size=8,
)


class LedgerPropertyTests(TestCase):
    def setUp(self):
        self.creditor = Creditor.objects.create(
            name="Property GmbH", country="DE", time_zone="Europe/Berlin"
        )
        regime = InterestRegime.objects.create(
            code="contract", name="Contract", business_points=Decimal("12.5")
        )
        self.creditor.business_interest_regime = regime
        self.creditor.save()
        # No address and no consent: the run plans messages it cannot send.
        self.customer = Customer.objects.create(
            creditor=self.creditor,
            external_id="C-1",
            kind="business",
            name="Prop Ltd",
            consent_email=False,
            consent_letter=False,
        )
        self.claims = [
            invoice_create(
                creditor=self.creditor,
                customer=self.customer,
                external_id=f"P-{n}",
                number=f"P-{n}",
                currency="EUR",
                amount=amount,
                issued_on=START - timedelta(days=30),
                due_on=START + timedelta(days=n),
                actor="test",
            )
            for n, amount in enumerate(
                [Decimal("1000.00"), Decimal("250.50"), Decimal("19.99")]
            )
        ]
        self.plan = Plan.objects.get(is_default=True)

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(ops=operations, gaps=st.lists(st.integers(0, 20), min_size=8, max_size=8))
    def test_the_ledger_stays_consistent(self, ops, gaps):
        day = START
        for op, gap in zip(ops, gaps, strict=False):
            day += timedelta(days=gap)
            rows_before = LedgerEntry.objects.count()
            try:
                self.apply(op, day)
            except LedgerError:
                # A refused change writes nothing.
                self.assertEqual(LedgerEntry.objects.count(), rows_before)
            self.check_invariants()

    def apply(self, op, day):
        kind, *args = op
        if kind == "pay":
            amount, named = args
            invoice = self.claims[named] if named is not None else None
            payment_record(
                customer=self.customer,
                amount=amount,
                currency="EUR",
                received_on=day,
                invoice=invoice,
                actor="test",
            )
        elif kind == "run":
            run_dunning(actor="system:test", run_date=day + timedelta(days=args[0]))
        elif kind == "fee_again":
            self.fee_again(self.claims[args[0]], day)
        elif kind == "credit":
            index, amount = args
            credit_note_post(
                invoice=self.claims[index],
                external_id=f"CN-{LedgerEntry.objects.count()}",
                amount=amount,
                currency="EUR",
                issued_on=day,
                actor="test",
            )
        elif kind == "waive":
            charges_waive(
                invoice=self.claims[args[0]], actor="test", reason="property", on=day
            )

    def fee_again(self, invoice, day):
        """Charging a step already taken again is refused by the database."""
        charged = LedgerEntry.objects.filter(
            invoice=invoice, kind="fee", case_step__isnull=False
        ).first()
        if charged is None:
            return
        with self.assertRaises(IntegrityError), transaction.atomic():
            LedgerEntry.objects.create(
                invoice=invoice,
                kind="fee",
                component="costs",
                amount=Decimal("1.00"),
                booked_on=day,
                case_step_id=charged.case_step_id,
                actor="test",
            )

    def check_invariants(self):
        ids = [claim.id for claim in self.claims]
        # Summed in Python: SQLite's SUM works in floating point.
        sums = Counter()
        for invoice_id, amount in LedgerEntry.objects.filter(
            invoice_id__in=ids
        ).values_list("invoice_id", "amount"):
            sums[invoice_id] += amount
        components = component_balances(ids)
        for invoice in Invoice.objects.filter(id__in=ids):
            self.assertEqual(invoice.open_amount, sums[invoice.id])
            self.assertGreaterEqual(invoice.open_amount, 0)
            for owed in components[invoice.id].values():
                self.assertGreaterEqual(owed, 0)
            if invoice.open_amount == 0:
                self.assertIn(invoice.status, ("paid", "credited"))
            else:
                self.assertEqual(invoice.status, "open")
            if invoice.status != "open":
                case = Case.objects.filter(invoice=invoice).first()
                self.assertTrue(case is None or case.state == "closed_paid")

        for payment in Payment.objects.all():
            allocated = -sum(e.amount for e in payment.entries.all())
            self.assertEqual(allocated + payment.unallocated_amount, payment.amount)
            self.assertGreaterEqual(payment.unallocated_amount, 0)

        fees = Counter(
            LedgerEntry.objects.filter(kind="fee").values_list(
                "invoice_id", "case_step_id", "key"
            )
        )
        self.assertTrue(all(count == 1 for count in fees.values()), fees)
