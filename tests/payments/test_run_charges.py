"""What the dunning run charges: step fees, interest and statutory compensation."""

from datetime import date
from decimal import Decimal

import pytest

from customers.models import Customer
from dunning.models import Plan, Step
from dunning.run import run_dunning
from messaging.models import MessageItem
from payments.models import InterestRegime, Invoice, LedgerEntry
from payments.selectors import claim_breakdown

from .conftest import pay, use_regime

pytestmark = pytest.mark.django_db
D = Decimal


def run(on):
    return run_dunning(actor="system:test", run_date=on)


def one_step_plan(creditor, **step):
    """A plan whose only step is due 30 days after the due date."""
    plan = Plan.objects.create(name="One step", creditor=creditor)
    Step.objects.create(
        plan=plan,
        position=1,
        name="Notice",
        action="notice",
        days=30,
        channels=["email", "letter"],
        **step,
    )
    creditor.default_plan = plan
    creditor.save()
    return plan


def test_fee_50_and_interest_0_percent_make_1050(alice, make_invoice, creditor):
    """Invoice 1,000.00 due 30 days ago, step fee 50.00, interest 0 %: 1,050.00."""
    zero = InterestRegime.objects.create(code="zero", name="Contract 0 %")
    use_regime(creditor, zero, kind="consumer")
    one_step_plan(creditor, fee=D("50.00"))
    claim = make_invoice(alice, "1000.00", due_on=date(2025, 3, 3))

    run(date(2025, 4, 2))

    breakdown = claim_breakdown(claim)
    assert (breakdown.fees, breakdown.interest, breakdown.open) == (
        D("50.00"),
        D("0"),
        D("1050.00"),
    )
    assert MessageItem.objects.get(invoice=claim).open_amount == D("1050.00")


def test_a_percentage_fee_on_a_yen_claim_is_rounded_to_whole_yen(creditor):
    """2 % of ¥1,935 is ¥38.70: the fee is ¥39."""
    one_step_plan(creditor, fee_kind="percent", fee_percent=D("2"))
    kenji = Customer.objects.create(
        creditor=creditor,
        external_id="C-JP",
        name="Kenji Sato",
        email="kenji@example.jp",
        country="JP",
        language="en",
        time_zone="Asia/Tokyo",
    )
    from payments.services import invoice_create

    claim = invoice_create(
        creditor=creditor,
        customer=kenji,
        external_id="JP-1",
        number="JP-1",
        currency="JPY",
        amount=D("1935"),
        issued_on=date(2025, 2, 1),
        due_on=date(2025, 3, 3),
        actor="test",
    )

    summary = run(date(2025, 4, 2))

    assert LedgerEntry.objects.get(invoice=claim, kind="fee").amount == D("39")
    assert summary["fees_charged"]["by_currency"] == {"JPY": "39"}
    assert Invoice.objects.get(pk=claim.pk).open_amount == D("1974")


def test_a_percentage_fee_is_kept_between_its_minimum_and_maximum(
    alice, bob_ltd, make_invoice, creditor
):
    """1 % with at least 5.00 and at most 25.00."""
    one_step_plan(
        creditor,
        fee_kind="percent",
        fee_percent=D("1"),
        fee_minimum=D("5.00"),
        fee_maximum=D("25.00"),
    )
    small = make_invoice(alice, "120.00")
    large = make_invoice(bob_ltd, "9000.00")

    run(date(2025, 4, 2))

    fees = dict(
        LedgerEntry.objects.filter(kind="fee").values_list("invoice_id", "amount")
    )
    assert fees == {small.id: D("5.00"), large.id: D("25.00")}


def test_the_percentage_is_of_the_open_principal(alice, make_invoice, creditor):
    """After 400.00 paid, 2 % of the 600.00 left is 12.00."""
    one_step_plan(creditor, fee_kind="percent", fee_percent=D("2"))
    claim = make_invoice(alice, "1000.00")
    pay(alice, "400.00", date(2025, 3, 20))

    run(date(2025, 4, 2))

    assert LedgerEntry.objects.get(invoice=claim, kind="fee").amount == D("12.00")


def test_business_debtors_owe_interest_and_40_euro_once(
    bob_ltd, make_invoice, creditor, bgb_288
):
    """BGB §288: base rate 2.27 % + 9 points, and €40 flat once per claim."""
    use_regime(creditor, bgb_288)
    claim = make_invoice(bob_ltd, "1000.00", due_on=date(2025, 1, 31))

    run(date(2025, 2, 3))  # friendly reminder, 3 days late
    run(date(2025, 2, 14))  # first notice with its 2.50 fee
    run(date(2025, 2, 14))  # again: nothing new

    rows = list(
        LedgerEntry.objects.filter(invoice=claim)
        .exclude(kind="principal")
        .order_by("id")
        .values_list("kind", "key", "amount")
    )
    # 1,000 x 11.27 % x 3/365 = 0.926 and x 11/365 = 3.396
    assert rows == [
        ("interest", "interest:2025-02-03", D("0.93")),
        ("fee", "compensation", D("40")),
        ("interest", "interest:2025-02-14", D("3.40")),
        ("fee", "", D("2.5")),
    ]
    assert Invoice.objects.get(pk=claim.pk).open_amount == D("1046.83")
    compensation = LedgerEntry.objects.get(invoice=claim, key="compensation")
    assert "BGB §288" in compensation.reason


def test_consumers_owe_no_flat_compensation(alice, make_invoice, creditor, bgb_288):
    """Base rate + 5 points for consumers, no €40."""
    use_regime(creditor, bgb_288, kind="consumer")
    claim = make_invoice(alice, "1000.00", due_on=date(2025, 1, 31))

    run(date(2025, 2, 3))

    assert not LedgerEntry.objects.filter(invoice=claim, kind="fee").exists()
    interest = LedgerEntry.objects.get(invoice=claim, kind="interest")
    # 1,000 x 7.27 % x 3/365 = 0.5975...
    assert interest.amount == D("0.60")
    assert interest.details["segments"][0]["rate"] == "7.27"


@pytest.mark.parametrize(
    ("amount", "compensation"),
    [("999.99", "40"), ("1000.00", "70"), ("9999.99", "70"), ("10000.00", "100")],
)
def test_uk_compensation_depends_on_the_size_of_the_debt(
    bob_ltd, make_invoice, creditor, amount, compensation
):
    """Late Payment Act: £40 under £1,000, £70 under £10,000, £100 from £10,000."""
    use_regime(creditor, InterestRegime.objects.get(code="uk-late-payment"))
    claim = make_invoice(bob_ltd, amount, currency="GBP", due_on=date(2025, 1, 31))

    run(date(2025, 2, 3))

    fee = LedgerEntry.objects.get(invoice=claim, key="compensation")
    assert fee.amount == D(compensation)
    interest = LedgerEntry.objects.get(invoice=claim, kind="interest")
    # Bank Rate on 31 December 2024 (4.75 %) + 8 points.
    assert interest.details["segments"][0]["rate"] == "12.75"


def test_a_claim_in_another_currency_gets_no_euro_compensation(
    bob_ltd, make_invoice, creditor, bgb_288
):
    use_regime(creditor, bgb_288)
    claim = make_invoice(bob_ltd, "1000.00", currency="USD", due_on=date(2025, 1, 31))

    run(date(2025, 2, 3))

    assert not LedgerEntry.objects.filter(invoice=claim, key="compensation").exists()


def test_the_letter_after_a_partial_payment_claims_the_remainder(bob_ltd, make_invoice):
    """Invoice 1,000.00 with 200.00 paid: the letter shows 1,000.00, 200.00, 800.00."""
    from messaging.models import Message
    from messaging.rendering import build_context, render

    claim = make_invoice(bob_ltd, "1000.00", due_on=date(2025, 3, 3))
    pay(bob_ltd, "200.00", date(2025, 3, 4), currency="EUR")

    run(date(2025, 3, 6))

    message = Message.objects.get(customer=bob_ltd)
    assert message.channel == "letter"
    context = build_context(message, "http://testserver/p/x/")
    [row] = context["items"]
    assert row["number"] == claim.number
    assert row["display"]["principal"] == "€1,000.00"
    assert row["display"]["paid"] == "€200.00"
    assert row["display"]["open"] == "€800.00"
    _, text, html = render(message, context)
    for shown in ("€1,000.00", "€200.00", "€800.00"):
        assert shown in html
