"""The claim's breakdown in `claim_show --json`, the admin and messages."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from customers.models import Customer
from payments.models import ReferenceRate, ReferenceRateValue
from payments.selectors import claim_breakdown, interest_accrued
from payments.services import invoice_create

from .conftest import pay, use_regime

pytestmark = pytest.mark.django_db
D = Decimal


def claim_show(*args) -> str:
    out = StringIO()
    call_command("claim_show", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def partly_paid(bob_ltd, make_invoice, creditor, contract_regime):
    """B-1: 1,000.00 due 2025-01-31 at 12.5 %, 400.00 paid on 2 March."""
    use_regime(creditor, contract_regime)
    claim = make_invoice(bob_ltd, "1000.00", due_on=date(2025, 1, 31), number="B-1")
    pay(bob_ltd, "400.00", date(2025, 3, 2))
    return claim


def test_claim_show_json_has_the_breakdown_with_interest_rate_and_days(partly_paid):
    facts = json.loads(claim_show("B-1", "--as-of", "2025-03-02", "--json"))

    assert (facts["principal"], facts["paid"], facts["credited"]) == (
        "1000.00",
        "400.00",
        "0.00",
    )
    assert (facts["fees"], facts["interest"], facts["open"]) == (
        "0.00",
        "10.27",
        "610.27",
    )
    [period] = facts["interest_periods"]
    assert period["from"] == "2025-02-01"
    assert period["to"] == "2025-03-02"
    assert period["days"] == 30
    assert period["amount"] == "10.27"
    assert period["segments"][0]["rate"] == "12.50"
    assert facts["interest_accrued"] is None


def test_claim_show_shows_interest_accruing_since_the_last_booking(partly_paid):
    """Ten more days on the 610.27 left: not booked yet, but shown."""
    facts = json.loads(claim_show("B-1", "--as-of", "2025-03-12", "--json"))

    accrued = facts["interest_accrued"]
    assert (accrued["from"], accrued["to"], accrued["days"]) == (
        "2025-03-03",
        "2025-03-12",
        10,
    )
    # §367: the 400.00 paid 10.27 interest first, 610.27 principal is left.
    assert accrued["segments"][0]["principal"] == "610.27"
    assert accrued["amount"] == "2.09"
    assert facts["open"] == "610.27"


def test_claim_show_text_prints_rate_and_days(partly_paid):
    text = claim_show("B-1", "--as-of", "2025-03-02")

    assert (
        "Interest:           €10.27 (12.50 % p.a. on €1,000.00, 30 days (act/365))\n"
        in text
    )
    assert "Paid:               €400.00\n" in text
    assert "Open balance:       €610.27\n" in text


def test_the_admin_claim_page_shows_the_breakdown(admin_client, partly_paid):
    url = reverse("admin:payments_invoice_change", args=[partly_paid.pk])

    response = admin_client.get(url)

    page = response.content.decode()
    assert response.status_code == 200
    for label, shown in (
        ("Principal", "€1,000.00"),
        ("Paid", "€400.00"),
        ("Credited", "€0.00"),
        ("Fees", "€0.00"),
        ("Open balance", "€610.27"),
    ):
        assert f'<th scope="row">{label}</th><td>{shown}</td>' in page
    assert "€10.27 (12.50 % p.a. on €1,000.00, 30 days (act/365))" in page


def test_letters_get_the_interest_rate_and_days_in_the_readers_language(partly_paid):
    breakdown = claim_breakdown(partly_paid)

    assert breakdown.interest_text("en") == (
        "12.50 % p.a. on €1,000.00, 30 days (act/365)"
    )
    assert breakdown.interest_text("de") == (
        "12,50 % p. a. auf 1.000,00\xa0€, 30 Tage (act/365)"
    )


def test_a_yen_claim_shows_no_decimals_anywhere(creditor):
    """¥1,935 in claim_show, JSON and the breakdown, never ¥1,935.00."""
    kenji = Customer.objects.create(
        creditor=creditor, external_id="C-JP", name="Kenji Sato", country="JP"
    )
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

    text = claim_show("JP-1", "--as-of", "2025-03-20")
    facts = json.loads(claim_show("JP-1", "--as-of", "2025-03-20", "--json"))

    assert "Principal:          ¥1,935\n" in text
    assert ".00" not in text
    assert facts["principal"] == facts["open"] == "1935"
    assert claim_breakdown(claim).formatted("ja")["open"] == "￥1,935"


# -- Base rates: editable, effective only from their date --------------------


@pytest.fixture
def consumer_claim(alice, make_invoice, creditor, bgb_288):
    """Alice, a consumer: base rate + 5 points on 1,000.00 due 2025-12-01."""
    use_regime(creditor, bgb_288, kind="consumer")
    return make_invoice(alice, "1000.00", due_on=date(2025, 12, 1))


def test_a_new_rate_for_a_future_half_year_changes_interest_only_from_then(
    admin_client, consumer_claim, monkeypatch
):
    """The admin adds 2.00 % from 1 July 2026: days before keep 6.27 %."""
    on = date(2026, 7, 10)
    before = interest_accrued(consumer_claim, on)
    to_june = interest_accrued(consumer_claim, date(2026, 6, 30)).total
    [segment] = before.segments
    assert (segment.first_day, segment.last_day, segment.rate) == (
        date(2025, 12, 2),
        date(2026, 7, 10),
        D("6.27"),
    )

    german = ReferenceRate.objects.get(code="de-base")
    response = admin_client.post(
        reverse("admin:payments_referenceratevalue_add"),
        {"reference": german.pk, "valid_from": "2026-07-01", "rate": "2.00"},
    )
    assert response.status_code == 302

    after = interest_accrued(consumer_claim, on)
    first, second = after.segments
    assert (first.last_day, first.rate, first.days) == (
        date(2026, 6, 30),
        D("6.27"),
        211,
    )
    assert (second.first_day, second.rate, second.days) == (
        date(2026, 7, 1),
        D("7.00"),
        10,
    )
    # Up to 30 June nothing changed; 1,000 x 6.27 % x 211/365 = 36.2458
    assert interest_accrued(consumer_claim, date(2026, 6, 30)).total == to_june
    assert to_june == D("36.25")
    # 36.2458 + 1,000 x 7 % x 10/365 = 1.9178
    assert after.total == D("38.16")


def test_the_seeded_german_base_rates_are_the_published_ones():
    rates = dict(
        ReferenceRateValue.objects.filter(
            reference__code="de-base", valid_from__year__gte=2023
        ).values_list("valid_from", "rate")
    )

    assert rates == {
        date(2023, 1, 1): D("1.62"),
        date(2023, 7, 1): D("3.12"),
        date(2024, 1, 1): D("3.62"),
        date(2024, 7, 1): D("3.37"),
        date(2025, 1, 1): D("2.27"),
        date(2025, 7, 1): D("1.27"),
        date(2026, 1, 1): D("1.27"),
    }


def test_regimes_and_rates_are_editable_in_the_admin(admin_client, bgb_288):
    for url in (
        reverse("admin:payments_interestregime_change", args=[bgb_288.pk]),
        reverse("admin:payments_referencerate_changelist"),
        reverse("admin:payments_referenceratevalue_changelist"),
        reverse("admin:payments_interestregime_changelist"),
    ):
        assert admin_client.get(url).status_code == 200

    response = admin_client.post(
        reverse("admin:payments_interestregime_add"),
        {
            "name": "Contract 9 %",
            "code": "contract-9",
            "legal_basis": "framework agreement §7",
            "reference": "",
            "consumer_points": "9",
            "business_points": "9",
            "day_count": "30/360",
            "compensation_tiers-TOTAL_FORMS": "0",
            "compensation_tiers-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    from payments.models import InterestRegime

    assert InterestRegime.objects.get(code="contract-9").day_count == "30/360"


def test_interest_accrued_is_none_for_a_claim_without_a_regime(alice, make_invoice):
    claim = make_invoice(alice, "100.00")

    assert interest_accrued(claim, date(2026, 1, 1)) is None


def test_days_are_counted_in_the_creditors_local_date(partly_paid, monkeypatch):
    """At 23:30 UTC on 11 March it is 12 March in Berlin: ten days accrued."""
    monkeypatch.setattr(
        "django.utils.timezone.now", lambda: datetime(2025, 3, 11, 23, 30, tzinfo=UTC)
    )

    facts = json.loads(claim_show("B-1", "--json"))

    assert facts["as_of"] == "2025-03-12"
    assert facts["interest_accrued"]["days"] == 10


def test_the_breakdown_as_json_is_serialisable(partly_paid):
    payload = claim_breakdown(partly_paid).as_json()

    assert json.loads(json.dumps(payload))["interest_periods"][0]["to"] == "2025-03-02"
    assert payload["open"] == "610.27"
