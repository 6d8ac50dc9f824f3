"""The debtor page's forms under arbitrary input, through the test client.

The client re-raises any exception a view lets through, so "never a 500" is
checked by every POST. Each example runs in a savepoint that is rolled back, so
every one starts from the same claim in dunning; a refused form must leave every
table as it was and show the debtor why.
"""

from datetime import date

import pytest
from django.contrib.messages import constants, get_messages
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from customers.models import Customer
from dunning.models import Case, Promise
from payments.models import InstalmentPlan, LedgerEntry, Payment
from portal.models import Checkout, ClerkTask, SepaMandate
from portal.services import link_create
from portal.ways_out import debtor_text
from tests.portal.conftest import NOW, charge_fee, open_case

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
IBAN = "DE02120300000000202051"

# What a debtor, a browser extension or an attacker might type.
TEXT = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "1e999999999",
            "-1e-999999999",
            "NaN",
            "Infinity",
            "sNaN",
            "12,50",
            "1.000,00",
            "99999999999999999999999",
            "=1+1",
            "<script>alert(1)</script>",
            "'; DROP TABLE payments_invoice; --",
            "2025-02-30",
            "9999-12-31",
            "0001-01-01",
            "24:00",
            "10:00:00.000000+99:00",
            "x" * 20_000,
        ]
    ),
)


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)


@pytest.fixture(autouse=True)
def test_provider(settings):
    settings.PORTAL_PAYMENT_PROVIDER = "test"


@pytest.fixture
def page(alice, make_invoice):
    """Alice's token and her EUR 250.00 claim at the first notice."""
    invoice = make_invoice(
        alice, amount="250.00", due_on=date(2025, 2, 10), number="R-1"
    )
    case = open_case(invoice)
    charge_fee(case, position=2, taken_on=date(2025, 2, 24))
    Case.objects.filter(pk=case.pk).update(
        current_step=case.plan.steps.get(position=2), last_step_on=date(2025, 2, 24)
    )
    _, token = link_create(customer=alice)
    return token, invoice


def snapshot() -> tuple:
    """Everything a debtor's form can change."""
    counts = tuple(
        model.objects.count()
        for model in (
            Promise,
            InstalmentPlan,
            SepaMandate,
            ClerkTask,
            Checkout,
            LedgerEntry,
            Payment,
        )
    )
    states = tuple(Case.objects.order_by("pk").values_list("state", flat=True))
    customers = tuple(
        Customer.objects.order_by("pk").values_list(
            "preferred_channel", "contact_from", "contact_until", "language"
        )
    )
    return counts, states, customers


def post(url: str, data: dict, after=None) -> tuple[bool, str]:
    """POST in a rolled-back savepoint; (refused, what the debtor is told).

    `after(refused)` runs before the rollback, to look at what was written.
    """
    cache.clear()  # failed attempts are rate limited; each example starts afresh
    with transaction.atomic():
        before = snapshot()
        response = Client().post(url, data)
        assert response.status_code in (200, 302, 400), response.status_code
        notes = [
            (note.level, str(note)) for note in get_messages(response.wsgi_request)
        ]
        refused = response.status_code == 400 or any(
            level == constants.ERROR for level, _ in notes
        )
        if refused:
            assert snapshot() == before, f"a refused form wrote: {data!r}"
        if response.status_code == 302 and refused:
            # Sent back to the overview: the reason travels as an error note.
            assert all(text.strip() for level, text in notes if level >= 40)
        told = response.content.decode() + " ".join(text for _, text in notes)
        if after is not None:
            after(refused)
        transaction.set_rollback(True)
    return refused, told


def assert_told_why(refused: bool, told: str, *expected: str) -> None:
    if refused:
        assert any(text in told for text in expected), told[:500]


def page_texts(key: str) -> list[str]:
    from portal.texts import TEXTS

    return [texts[key] for texts in TEXTS.values()]


@FUZZ
@example(amount="1e999999999", claims=["1"], why="")
@example(amount="", claims=["99999999999999999999"], why="")
@example(amount="12,50", claims=["abc"], why="")
@example(amount="", claims=[], why="\x00")
@given(amount=TEXT, claims=st.lists(TEXT, max_size=3), why=TEXT)
def test_pay(page, amount, claims, why):
    token, invoice = page
    claims = [str(invoice.pk)] if claims == [] else claims

    refused, told = post(
        reverse("portal:pay", args=[token]),
        {"currency": "EUR", "claims": claims, "amount": amount, "left_out_reason": why},
    )

    assert_told_why(
        refused, told, *page_texts("amount_invalid"), *page_texts("refused")
    )


@FUZZ
@example(months="99999999999999999999", iban=IBAN, holder="")
@example(months="3", iban="DE02\x00", holder="\x00")
@given(months=TEXT, iban=TEXT, holder=TEXT)
def test_instalments(page, months, iban, holder):
    token, invoice = page

    refused, told = post(
        reverse("portal:instalments", args=[token, invoice.pk]),
        {"months": months, "iban": iban, "account_holder": holder},
    )

    assert refused or InstalmentPlan.objects.count() == 0


@FUZZ
@example(day="2025-02-30")
@example(day="9999-12-31")
@given(day=TEXT)
def test_promise(page, day):
    token, invoice = page

    refused, told = post(
        reverse("portal:promise", args=[token, invoice.pk]), {"promised_on": day}
    )

    if refused and "-" not in day:
        assert_told_why(refused, told, *page_texts("promise_refused"))


@FUZZ
@example(reason="\x00")
@example(reason=" ")
@given(reason=TEXT)
def test_dispute(page, reason):
    token, invoice = page

    def stored(refused):
        if not refused:
            # As typed, less the control characters a database refuses.
            assert ClerkTask.objects.get().reason == debtor_text(reason, 2000)

    refused, told = post(
        reverse("portal:dispute", args=[token, invoice.pk]),
        {"reason": reason},
        after=stored,
    )

    if not debtor_text(reason, 2000):
        assert refused
        assert_told_why(refused, told, *page_texts("dispute_reason_missing"))


@FUZZ
@example(note="\x00")
@given(note=TEXT)
def test_already_paid(page, note):
    token, invoice = page

    post(reverse("portal:already_paid", args=[token, invoice.pk]), {"note": note})


@FUZZ
@example(channel="pigeon", start="08:00", end="18:00", language="de")
@example(channel="", start="18:00", end="08:00", language="")
@example(channel="", start="24:00", end="", language="xx")
@given(
    channel=st.one_of(st.sampled_from(["email", "sms", "letter", ""]), TEXT),
    start=TEXT,
    end=TEXT,
    language=st.one_of(st.sampled_from(["de", "en", ""]), TEXT),
)
def test_preferences(page, channel, start, end, language):
    token, _ = page

    refused, told = post(
        reverse("portal:preferences", args=[token]),
        {
            "channel": channel,
            "contact_from": start,
            "contact_until": end,
            "language": language,
        },
    )

    assert_told_why(
        refused,
        told,
        *page_texts("preferences_refused"),
        *page_texts("preferences_no_address"),
    )


@FUZZ
@given(language=TEXT)
def test_language(page, language):
    token, _ = page

    post(reverse("portal:language", args=[token]), {"language": language})


def test_a_claim_id_no_column_holds_is_refused_not_an_error(client, page):
    """The path's <int:…> takes any digits; the page refuses them plainly."""
    token, _invoice = page
    too_big = "9" * 25

    response = client.post(
        reverse("portal:dispute", args=[token, too_big]), {"reason": "not mine"}
    )

    assert response.status_code in (302, 400)
    assert not ClerkTask.objects.exists()
