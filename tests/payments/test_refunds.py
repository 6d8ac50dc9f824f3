"""Part of a payment given back: the customer credit first, then what it paid,
principal before fees (the reverse of BGB §367's order)."""

from datetime import date
from decimal import Decimal

import pytest

from dunning.models import Case
from payments.models import Invoice, LedgerEntry, Payment
from payments.services import LedgerError, payment_refund, payment_reverse

from .conftest import balances, book_fee, open_case, pay

pytestmark = pytest.mark.django_db
D = Decimal
REFUNDED_ON = date(2025, 4, 10)


@pytest.fixture
def overpaid(alice, make_invoice):
    """Alice's 80.00 claim with a 5.00 fee, paid with 100.00 on 1 April:
    5.00 costs, 80.00 principal, 15.00 left as her credit; the case closed."""
    claim = make_invoice(alice, amount="80.00", due_on=date(2025, 3, 3))
    open_case(claim)
    book_fee(claim, "5.00")
    payment = pay(alice, "100.00", date(2025, 4, 1))
    claim.refresh_from_db()
    assert claim.status == Invoice.Status.PAID
    assert payment.unallocated_amount == D("15.00")
    return claim, payment


def refund(payment, amount, reason="card refund"):
    return payment_refund(
        payment=payment,
        amount=D(amount),
        refunded_on=REFUNDED_ON,
        actor="test",
        reason=reason,
    )


def test_a_refund_within_the_credit_leaves_the_claim_paid(overpaid):
    claim, payment = overpaid

    assert refund(payment, "10.00") == []

    payment.refresh_from_db()
    assert (payment.unallocated_amount, payment.refunded_amount) == (
        D("5.00"),
        D("10.00"),
    )
    claim.refresh_from_db()
    assert claim.status == Invoice.Status.PAID
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).exists()


def test_a_refund_beyond_the_credit_makes_principal_owed_again(overpaid):
    claim, payment = overpaid

    assert refund(payment, "20.00") == [claim.pk]

    payment.refresh_from_db()
    assert (payment.unallocated_amount, payment.refunded_amount) == (
        D("0.00"),
        D("20.00"),
    )
    assert payment.reversed_on is None
    claim.refresh_from_db()
    assert claim.status == Invoice.Status.OPEN
    assert claim.open_amount == D("5.00")
    assert balances(claim) == {"principal": D("5.00"), "interest": D("0"), "costs": 0}
    row = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REVERSAL)
    assert (row.component, row.amount, row.booked_on) == (
        "principal",
        D("5.00"),
        REFUNDED_ON,
    )
    assert row.reason == f"payment {payment.pk}: €20.00 refunded: card refund"
    assert Case.objects.get(invoice=claim).state == Case.State.IN_DUNNING


def test_more_than_is_left_is_refused_and_nothing_is_written(overpaid):
    claim, payment = overpaid
    refund(payment, "60.00")

    with pytest.raises(LedgerError, match="€40.00 left to refund, not €40.01"):
        refund(payment, "40.01")

    payment.refresh_from_db()
    assert payment.refunded_amount == D("60.00")
    assert sum(
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).values_list(
            "amount", flat=True
        )
    ) == D("45.00")


def test_refunds_of_the_whole_payment_reverse_it(overpaid):
    claim, payment = overpaid
    refund(payment, "60.00")
    refund(payment, "40.00")

    payment.refresh_from_db()
    assert payment.reversed_on == REFUNDED_ON
    claim.refresh_from_db()
    assert claim.open_amount == D("85.00")
    assert balances(claim) == {
        "principal": D("80.00"),
        "interest": D("0"),
        "costs": D("5.00"),
    }
    with pytest.raises(LedgerError, match="€0.00 left to refund"):
        refund(payment, "1.00")


def test_a_reversal_after_a_refund_books_back_only_the_rest(overpaid):
    """The ledger balances: every part of the payment is booked back once."""
    claim, payment = overpaid
    refund(payment, "50.00")

    payment_reverse(
        payment=payment, reversed_on=date(2025, 4, 12), actor="test", reason="MD06"
    )

    claim.refresh_from_db()
    assert claim.open_amount == D("85.00")
    paid = LedgerEntry.objects.filter(payment=payment, kind=LedgerEntry.Kind.PAYMENT)
    back = LedgerEntry.objects.filter(payment=payment, kind=LedgerEntry.Kind.REVERSAL)
    assert sum(back.values_list("amount", flat=True)) == -sum(
        paid.values_list("amount", flat=True)
    )
    assert Payment.objects.get(pk=payment.pk).reversed_on == date(2025, 4, 12)


@pytest.mark.parametrize("amount", ["0", "-5.00"])
def test_a_refund_must_be_positive(overpaid, amount):
    _claim, payment = overpaid

    with pytest.raises(LedgerError, match="must be positive"):
        refund(payment, amount)
