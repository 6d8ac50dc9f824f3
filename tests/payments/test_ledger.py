"""The ledger: allocation (BGB §367), credits, waivers and write-offs, with interest."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from dunning.models import Case
from payments.models import CreditNote, Invoice, LedgerEntry, Payment
from payments.selectors import claim_breakdown
from payments.services import (
    LedgerError,
    charges_waive,
    claim_write_off,
    credit_note_post,
)

from .conftest import balances, book_fee, open_case, pay, use_regime

pytestmark = pytest.mark.django_db
D = Decimal


def refreshed(invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


# -- Interest booked before a payment is allocated ---------------------------


@pytest.fixture
def b2b_claim(bob_ltd, make_invoice, creditor, contract_regime):
    """Bob Ltd owes 1,000.00 due Friday 2025-01-31 at a contractual 12.5 %."""
    use_regime(creditor, contract_regime)
    return make_invoice(bob_ltd, "1000.00", due_on=date(2025, 1, 31), number="B-1")


def test_paid_on_2_march_the_claim_owes_10_27_interest(bob_ltd, b2b_claim):
    """30 days at 12.5 % act/365; paying principal and interest settles it exactly."""
    pay(bob_ltd, "1010.27", date(2025, 3, 2))

    claim = refreshed(b2b_claim)
    assert claim.status == "paid"
    assert claim.open_amount == 0
    interest = LedgerEntry.objects.get(invoice=claim, kind="interest")
    assert interest.amount == D("10.27")
    assert (interest.accrued_from, interest.accrued_to) == (
        date(2025, 2, 1),
        date(2025, 3, 2),
    )
    assert interest.reason == ("interest 12.50 % p.a. on €1,000.00, 30 days (act/365)")
    assert interest.details["segments"][0]["days"] == 30


def test_paid_on_10_february_the_interest_is_3_42(bob_ltd, b2b_claim):
    pay(bob_ltd, "1003.42", date(2025, 2, 10))

    breakdown = claim_breakdown(b2b_claim)
    assert breakdown.interest == D("3.42")
    assert breakdown.open == 0


def test_a_payment_settles_interest_before_principal(bob_ltd, b2b_claim):
    """BGB §367: 1,000.00 paid on 2 March covers 10.27 interest, then 989.73."""
    pay(bob_ltd, "1000.00", date(2025, 3, 2))

    assert balances(b2b_claim) == {
        "costs": 0,
        "interest": 0,
        "principal": D("10.27"),
    }
    assert refreshed(b2b_claim).status == "open"


def test_interest_stops_on_payment_and_runs_on_the_remainder(bob_ltd, b2b_claim):
    """After a partial payment the next booking counts only the open principal."""
    pay(bob_ltd, "400.00", date(2025, 2, 10))  # 3.42 interest, 396.58 principal
    pay(bob_ltd, "100.00", date(2025, 3, 2))

    second = LedgerEntry.objects.filter(invoice=b2b_claim, kind="interest").last()
    assert second.accrued_from == date(2025, 2, 11)
    # 603.42 principal for 20 days at 12.5 %: 4.1329... -> 4.13
    assert second.amount == D("4.13")
    assert second.details["segments"][0]["principal"] == "603.42"


def test_a_payment_dated_before_the_last_booking_books_no_more_interest(
    bob_ltd, b2b_claim
):
    pay(bob_ltd, "10.00", date(2025, 3, 2))
    pay(bob_ltd, "10.00", date(2025, 2, 20))

    assert LedgerEntry.objects.filter(invoice=b2b_claim, kind="interest").count() == 1


def test_interest_is_booked_once_per_period_end(b2b_claim):
    """The unique key interest:<last day> refuses a second row for the same day."""
    row = dict(
        invoice=b2b_claim,
        kind="interest",
        component="interest",
        amount=D("1.00"),
        booked_on=date(2025, 3, 2),
        key="interest:2025-03-02",
        actor="test",
    )
    LedgerEntry.objects.create(**row)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(**row)


def test_consumers_get_no_interest_without_a_consumer_regime(
    alice, b2b_claim, make_invoice
):
    """The regime is chosen per customer kind; consumers have none here."""
    claim = make_invoice(alice, "100.00", due_on=date(2025, 1, 31))

    pay(alice, "100.00", date(2025, 3, 2))

    assert refreshed(claim).status == "paid"
    assert not LedgerEntry.objects.filter(invoice=claim, kind="interest").exists()


def test_disputed_days_bear_no_interest(bob_ltd, b2b_claim):
    """Disputed 11 to 21 February (Berlin dates): 20 of the 30 days count."""
    from django_fsm_log.models import StateLog

    from dunning.services import case_transition

    case = open_case(b2b_claim)
    case_transition(case_id=case.pk, transition="dispute", actor="user:7")
    case_transition(case_id=case.pk, transition="resolve_dispute", actor="user:7")
    logs = StateLog.objects.filter(object_id=case.pk).order_by("id")
    logs.filter(state="disputed").update(timestamp="2025-02-10T23:30:00+00:00")
    logs.filter(source_state="disputed").update(timestamp="2025-02-21T08:00:00+00:00")

    pay(bob_ltd, "100.00", date(2025, 3, 2))

    interest = LedgerEntry.objects.get(invoice=b2b_claim, kind="interest")
    assert [(s["from"], s["to"]) for s in interest.details["segments"]] == [
        ("2025-02-01", "2025-02-10"),
        ("2025-02-21", "2025-03-02"),
    ]
    assert interest.amount == (D(1000) * D("0.125") * 20 / 365).quantize(D("0.01"))


# -- Allocation --------------------------------------------------------------


def test_costs_then_interest_then_principal_oldest_claim_first(alice, make_invoice):
    older = make_invoice(alice, "100.00", due_on=date(2025, 1, 10))
    newer = make_invoice(alice, "100.00", due_on=date(2025, 2, 10))
    book_fee(older, "5.00")
    book_fee(newer, "5.00")

    payment = pay(alice, "150.00", date(2025, 3, 25))

    rows = list(
        payment.entries.order_by("id").values_list("invoice_id", "component", "amount")
    )
    assert rows == [
        (older.id, "costs", D("-5")),
        (older.id, "principal", D("-100")),
        (newer.id, "costs", D("-5")),
        (newer.id, "principal", D("-40")),
    ]
    assert refreshed(older).status == "paid"
    assert refreshed(newer).open_amount == D("60.00")


def test_a_named_claim_is_paid_first(alice, make_invoice):
    older = make_invoice(alice, "100.00", due_on=date(2025, 1, 10))
    newer = make_invoice(alice, "100.00", due_on=date(2025, 2, 10))

    pay(alice, "100.00", date(2025, 3, 25), invoice=newer)

    assert refreshed(newer).status == "paid"
    assert refreshed(older).open_amount == D("100.00")


def test_an_overpayment_becomes_a_customer_credit(alice, make_invoice):
    claim = make_invoice(alice, "100.00")

    payment = pay(alice, "130.00", date(2025, 3, 25))

    assert refreshed(claim).open_amount == 0
    assert payment.unallocated_amount == D("30.00")
    assert sum(e.amount for e in payment.entries.all()) == D("-100.00")


def test_the_creditor_can_allocate_to_principal_first(alice, make_invoice, creditor):
    creditor.allocation_order = "principal,interest,costs"
    creditor.save()
    claim = make_invoice(alice, "100.00")
    book_fee(claim, "5.00")

    pay(alice, "100.00", date(2025, 3, 25))

    assert balances(claim) == {"costs": D("5"), "interest": 0, "principal": 0}
    assert refreshed(claim).status == "open"


def test_a_partial_payment_keeps_the_case_at_its_step(alice, make_invoice):
    claim = make_invoice(alice, "1000.00")
    case_step = book_fee(claim, "2.50", position=2)
    Case.objects.filter(pk=case_step.case_id).update(current_step=case_step.step)

    pay(alice, "200.00", date(2025, 3, 25))

    case = Case.objects.get(pk=case_step.case_id)
    assert case.state == "in_dunning"
    assert case.current_step.position == 2
    assert refreshed(claim).open_amount == D("802.50")


def test_a_payment_in_the_claims_currency_closes_it_whatever_the_exchange_rate(
    alice, make_invoice
):
    """A USD claim booked at 1.0834 USD/EUR is settled by its USD amount."""
    claim = make_invoice(
        alice, "1083.40", currency="USD", source_facts={"eur_rate": "1.0834"}
    )

    pay(alice, "1083.40", date(2025, 3, 25), currency="USD")

    assert refreshed(claim).status == "paid"
    assert claim_breakdown(claim).open == 0


def test_a_payment_in_another_currency_does_not_touch_the_claim(alice, make_invoice):
    claim = make_invoice(alice, "100.00", currency="USD")

    payment = pay(alice, "100.00", date(2025, 3, 25), currency="EUR")

    assert refreshed(claim).open_amount == D("100.00")
    assert payment.unallocated_amount == D("100.00")


# -- Credit notes ------------------------------------------------------------


def test_draft_and_cancelled_credit_notes_do_not_count(alice, make_invoice):
    claim = make_invoice(alice, "100.00")
    for external_id, status in (("CN-D", "draft"), ("CN-X", "cancelled")):
        credit_note_post(
            invoice=claim,
            external_id=external_id,
            amount=D("100.00"),
            currency="EUR",
            issued_on=date(2025, 3, 10),
            actor="import",
            status=status,
        )

    assert refreshed(claim).open_amount == D("100.00")
    assert CreditNote.objects.filter(invoice=claim).count() == 2
    assert not LedgerEntry.objects.filter(invoice=claim, kind="credit").exists()


def test_posting_a_draft_later_books_it_and_a_cleared_claim_closes(alice, make_invoice):
    claim = make_invoice(alice, "100.00")
    case = open_case(claim)
    note = dict(
        invoice=claim,
        external_id="CN-1",
        amount=D("100.00"),
        currency="EUR",
        issued_on=date(2025, 3, 10),
        actor="import",
    )
    credit_note_post(**note, status="draft")

    credit_note_post(**note)

    claim = refreshed(claim)
    assert claim.status == "credited"
    assert claim.open_amount == 0
    assert CreditNote.objects.get(external_id="CN-1").status == "posted"
    case.refresh_from_db()
    assert case.state == "closed_paid"
    # Posting it again changes nothing.
    credit_note_post(**note)
    assert LedgerEntry.objects.filter(invoice=claim, kind="credit").count() == 1


def test_a_credit_note_above_the_open_principal_is_refused(alice, make_invoice):
    claim = make_invoice(alice, "100.00")

    with pytest.raises(LedgerError, match="exceeds the open principal"):
        credit_note_post(
            invoice=claim,
            external_id="CN-2",
            amount=D("100.01"),
            currency="EUR",
            issued_on=date(2025, 3, 10),
            actor="import",
        )
    assert not CreditNote.objects.exists()


# -- Waivers and write-offs --------------------------------------------------


def test_waiving_charges_is_recorded_with_who_and_why(alice, make_invoice):
    claim = make_invoice(alice, "100.00")
    book_fee(claim, "5.00")

    rows = charges_waive(
        invoice=claim,
        actor="user:3",
        reason="goodwill after complaint",
        on=date(2025, 3, 21),
    )

    [row] = rows
    assert (row.kind, row.component, row.amount) == ("waiver", "costs", D("-5.00"))
    assert (row.actor, row.reason) == ("user:3", "goodwill after complaint")
    assert claim_breakdown(claim).waived == D("5.00")
    assert refreshed(claim).open_amount == D("100.00")


def test_a_waiver_needs_a_reason(alice, make_invoice):
    claim = make_invoice(alice, "100.00")
    with pytest.raises(LedgerError, match="reason"):
        charges_waive(invoice=claim, actor="user:3", reason=" ")


def test_charges_left_after_the_principal_are_waived_if_the_creditor_says_so(
    alice, make_invoice, creditor
):
    """Principal first, then the 5.00 fee left over is waived and the case closes."""
    creditor.allocation_order = "principal,interest,costs"
    creditor.waive_charges_after_principal = True
    creditor.save()
    claim = make_invoice(alice, "100.00")
    case_step = book_fee(claim, "5.00")

    pay(alice, "100.00", date(2025, 3, 25))

    claim = refreshed(claim)
    assert claim.status == "paid"
    waiver = LedgerEntry.objects.get(invoice=claim, kind="waiver")
    assert waiver.amount == D("-5.00")
    assert "creditor setting" in waiver.reason
    assert Case.objects.get(pk=case_step.case_id).state == "closed_paid"


def test_charges_stay_claimable_by_default(alice, make_invoice, creditor):
    creditor.allocation_order = "principal,interest,costs"
    creditor.save()
    claim = make_invoice(alice, "100.00")
    book_fee(claim, "5.00")

    pay(alice, "100.00", date(2025, 3, 25))

    assert refreshed(claim).open_amount == D("5.00")
    assert not LedgerEntry.objects.filter(kind="waiver").exists()


def test_a_credit_note_clearing_the_principal_waives_charges_when_configured(
    alice, make_invoice, creditor
):
    creditor.waive_charges_after_principal = True
    creditor.save()
    claim = make_invoice(alice, "100.00")
    book_fee(claim, "5.00")

    credit_note_post(
        invoice=claim,
        external_id="CN-3",
        amount=D("100.00"),
        currency="EUR",
        issued_on=date(2025, 3, 22),
        actor="import",
    )

    assert refreshed(claim).status == "credited"
    assert claim_breakdown(claim).waived == D("5.00")


def test_a_write_off_books_what_is_open_and_closes_the_case(alice, make_invoice):
    claim = make_invoice(alice, "100.00")
    case_step = book_fee(claim, "5.00")

    claim_write_off(
        invoice=claim, actor="user:3", reason="insolvency", on=date(2025, 4, 1)
    )

    claim = refreshed(claim)
    assert (claim.status, claim.open_amount) == ("written_off", 0)
    assert claim_breakdown(claim).written_off == D("105.00")
    assert Case.objects.get(pk=case_step.case_id).state == "closed_written_off"


# -- Database guarantees -----------------------------------------------------


def test_a_steps_fee_cannot_be_booked_twice(alice, make_invoice):
    claim = make_invoice(alice, "100.00")
    case_step = book_fee(claim, "5.00")

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            invoice=claim,
            kind="fee",
            component="costs",
            amount=D("5.00"),
            booked_on=date(2025, 3, 21),
            case_step=case_step,
            actor="test",
        )


def test_a_fee_without_step_or_key_is_refused(alice, make_invoice):
    claim = make_invoice(alice, "100.00")

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            invoice=claim,
            kind="fee",
            component="costs",
            amount=D("5.00"),
            booked_on=date(2025, 3, 21),
            actor="test",
        )


def test_a_payment_row_must_reduce_the_claim(alice, make_invoice):
    claim = make_invoice(alice, "100.00")

    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            invoice=claim,
            kind="payment",
            component="principal",
            amount=D("5.00"),
            booked_on=date(2025, 3, 21),
            actor="test",
        )


def test_the_open_amount_never_goes_negative_in_the_database(alice, make_invoice):
    claim = make_invoice(alice, "100.00")

    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=claim.pk).update(open_amount=D("-1"))
    assert Payment.objects.count() == 0
