"""The debtor's ways out on the debtor page: select and pay, part payments,
instalment plans, pay later, "already paid", disputes, contact preferences and
the language switch."""

import email
import subprocess
from datetime import date, time
from decimal import Decimal
from email import policy

import pytest
from django.test import Client
from django.urls import reverse
from django_fsm_log.models import StateLog

from dunning.models import Case, CaseStep, Promise
from dunning.run import run_dunning
from dunning.services import cases_resume_due
from payments.models import InstalmentPlan, Invoice, LedgerEntry, Payment
from payments.services import payment_record
from portal.models import Checkout, ClerkTask, EngagementEvent, SepaMandate
from portal.services import link_create
from tests.portal.conftest import CREDITOR_TODAY, charge_fee, open_case

pytestmark = pytest.mark.django_db

NBSP = "\xa0"
IBAN = "DE02120300000000202051"


def case_state(invoice) -> str:
    # django-fsm's protected field refuses refresh_from_db; read it afresh.
    return Case.objects.values_list("state", flat=True).get(invoice=invoice)


def events(kind) -> list[EngagementEvent]:
    return list(EngagementEvent.objects.filter(kind=kind))


@pytest.fixture
def claim(alice, make_invoice):
    """EUR 250.00 due 10 Feb, at the first notice (EUR 2.50 fee): 252.50 open."""
    invoice = make_invoice(
        alice, amount="250.00", due_on=date(2025, 2, 10), number="R-1"
    )
    case = open_case(invoice)
    charge_fee(case, position=2, taken_on=date(2025, 2, 24))
    Case.objects.filter(pk=case.pk).update(
        current_step=case.plan.steps.get(position=2), last_step_on=date(2025, 2, 24)
    )
    invoice.refresh_from_db()
    return invoice


@pytest.fixture
def second_claim(alice, make_invoice):
    invoice = make_invoice(alice, amount="40.00", due_on=date(2025, 3, 3), number="R-2")
    open_case(invoice)
    return invoice


def url(name, token, *args):
    return reverse(f"portal:{name}", args=[token, *args])


def confirm_test_payment(client, response):
    checkout = Checkout.objects.get()
    return client.post(
        response["Location"],
        {"action": "confirm", "reference": checkout.provider_reference},
    )


# --- Visits, select and pay, part payments ---------------------------------------


def test_a_visit_is_recorded_and_the_page_offers_the_ways_out(
    client, alice_link, claim
):
    """Opening the link writes a visit; a claim in dunning lists its ways out."""
    link, token = alice_link

    html = client.get(url("home", token)).content.decode()

    assert [e.link_id for e in events("visit")] == [link.pk]
    assert "Andere Wege für Rechnung R-1" in html
    assert url("instalments", token, claim.id) in html
    assert url("promise", token, claim.id) in html
    assert url("dispute", token, claim.id) in html
    assert 'max="2025-05-02"' in html  # the creditor's 30 days for a promise


def test_claims_left_out_of_a_payment_are_reported_to_the_creditor(
    client, alice_link, claim, second_claim
):
    """Paying only R-1 leaves a task on R-2 with the debtor's reason."""
    _, token = alice_link

    response = client.post(
        url("pay", token),
        {
            "currency": "EUR",
            "claims": [claim.id],
            "left_out_reason": "Ware zurückgeschickt",
        },
    )
    confirm_test_payment(client, response)

    task = ClerkTask.objects.get()
    assert (task.kind, task.invoice_id, task.reason) == (
        ClerkTask.Kind.LEFT_OUT,
        second_claim.id,
        "Ware zurückgeschickt",
    )
    assert events("claims_left_out")[0].details == {
        "left_out": [second_claim.id],
        "reason_given": True,
    }
    claim.refresh_from_db()
    second_claim.refresh_from_db()
    assert claim.status == Invoice.Status.PAID
    assert second_claim.status == Invoice.Status.OPEN


def test_paying_everything_leaves_nothing_out(client, alice_link, claim):
    """Every claim ticked: no task and no left-out event."""
    _, token = alice_link

    client.post(url("pay", token), {"currency": "EUR", "claims": [claim.id]})

    assert not ClerkTask.objects.exists()
    assert events("claims_left_out") == []
    assert len(events("pay_started")) == 1


def test_a_part_payment_reduces_the_claim_and_dunning_goes_on(
    client, alice_link, claim
):
    """EUR 100 of 252.50: the ledger takes it, 152.50 stays open, case in dunning."""
    _, token = alice_link

    response = client.post(
        url("pay", token), {"currency": "EUR", "claims": [claim.id], "amount": "100,00"}
    )
    thanks = client.get(confirm_test_payment(client, response)["Location"])

    payment = Payment.objects.get()
    assert payment.amount == Decimal("100.00")
    claim.refresh_from_db()
    assert claim.open_amount == Decimal("152.50")
    assert case_state(claim) == Case.State.IN_DUNNING
    assert f"Noch offen: 152,50{NBSP}€" in thanks.content.decode()


@pytest.mark.parametrize(
    "amount", ["252.51", "0", "-5", "10.001", "zehn", "1e2", "NaN", "١٠٠", "1_00"]
)
def test_a_part_payment_outside_what_is_owed_is_refused(
    client, alice_link, claim, amount
):
    """More than owed, nothing, or not an amount (an exponent, NaN, digits of
    another script, a separator Python reads): refused, nothing started."""
    _, token = alice_link

    response = client.post(
        url("pay", token), {"currency": "EUR", "claims": [claim.id], "amount": amount}
    )

    assert response.status_code == 400
    assert "höchstens die Summe" in response.content.decode()
    assert not Checkout.objects.exists()


# --- Instalment plans -------------------------------------------------------------


def test_the_schedule_is_shown_before_anything_is_agreed(client, alice_link, claim):
    """Three months of EUR 252.50: 84.18 first, then 84.16 twice; nothing saved."""
    _, token = alice_link

    response = client.get(url("instalments", token, claim.id), {"months": 3})

    html = response.content.decode()
    assert response.status_code == 200
    assert f"84,18{NBSP}€" in html
    assert html.count(f"84,16{NBSP}€") == 2
    assert "02.05.2025" in html and "02.07.2025" in html
    assert not InstalmentPlan.objects.exists()
    assert case_state(claim) == Case.State.IN_DUNNING
    assert events("instalments_previewed")[0].details == {"months": 3}


def test_confirming_a_plan_stops_dunning_stores_the_mandate_and_mails_the_pdf(
    client, alice_link, claim, outbox, django_capture_on_commit_callbacks
):
    """The plan is recorded, the case is in instalments, the e-mail has the PDF."""
    _, token = alice_link

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("instalments", token, claim.id),
            {"months": 3, "iban": "de02 1203 0000 0000 2020 51", "account_holder": ""},
        )

    assert response.status_code == 302
    plan = InstalmentPlan.objects.get()
    assert [(i.due_on, i.amount) for i in plan.instalments.all()] == [
        (date(2025, 5, 2), Decimal("84.18")),
        (date(2025, 6, 2), Decimal("84.16")),
        (date(2025, 7, 2), Decimal("84.16")),
    ]
    assert plan.agreed_on == CREDITOR_TODAY
    assert case_state(claim) == Case.State.INSTALMENTS
    mandate = SepaMandate.objects.get()
    assert (mandate.iban, mandate.signed_on, mandate.account_holder) == (
        IBAN,
        CREDITOR_TODAY,
        "Alice Ahrens",
    )
    assert mandate.reference.startswith(f"DP{claim.id}-")
    assert events("instalments_agreed")[0].details["sepa"] is True

    (mail_file,) = (outbox / "email").iterdir()
    mail = email.message_from_bytes(mail_file.read_bytes(), policy=policy.default)
    assert mail["To"] == "alice@example.com"
    assert mail["Subject"] == "Ihr Ratenplan für Rechnung R-1"
    (pdf,) = [p for p in mail.walk() if p.get_content_type() == "application/pdf"]
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"],
        input=pdf.get_payload(decode=True),
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert "Ratenplan" in text
    assert "02.06.2025" in text and "84,16" in text
    assert "Summe der Raten" in text and "252,50" in text
    assert mandate.reference in text and "2051" in text
    assert IBAN not in text  # only the account's last digits


def test_a_plan_with_interest_books_it_and_the_instalments_include_it(
    client, alice, alice_link, claim
):
    """6 % a year on the falling balance over 3 months: EUR 2.53 booked first."""
    alice.creditor.instalment_interest_percent = Decimal("6")
    alice.creditor.save()
    _, token = alice_link

    client.post(url("instalments", token, claim.id), {"months": 3})

    plan = InstalmentPlan.objects.get()
    interest = LedgerEntry.objects.get(invoice=claim, kind=LedgerEntry.Kind.INTEREST)
    # 252.50 × (3 + 2 + 1) / 3 months × 6 % / 12 = 2.525 → 2.53, half up.
    assert interest.amount == Decimal("2.53")
    assert plan.total == Decimal("255.03")
    assert sum(i.amount for i in plan.instalments.all()) == Decimal("255.03")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"months": 7}, "nicht möglich"),
        ({"months": 3, "iban": "DE02120300000000202052"}, "IBAN ist nicht gültig"),
    ],
)
def test_a_plan_outside_the_limits_or_with_a_bad_iban_is_refused(
    client, alice_link, claim, data, message
):
    """Beyond the creditor's 6 months, or an IBAN with a wrong checksum."""
    _, token = alice_link

    response = client.post(url("instalments", token, claim.id), data, follow=True)

    assert message in response.content.decode()
    assert not InstalmentPlan.objects.exists()
    assert not SepaMandate.objects.exists()
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.INTEREST).exists()
    assert case_state(claim) == Case.State.IN_DUNNING


def test_the_minimum_instalment_limits_the_months_offered(
    client, alice, alice_link, claim
):
    """EUR 252.50 with at least EUR 100 an instalment: only 2 months."""
    alice.creditor.instalment_minimum = Decimal("100")
    alice.creditor.save()
    _, token = alice_link

    html = client.get(url("home", token)).content.decode()
    refused = client.get(url("instalments", token, claim.id), {"months": 3})

    assert '<option value="2">2 Monate</option>' in html
    assert '<option value="3">' not in html
    assert refused.status_code == 302


def test_a_missed_instalment_puts_the_case_back_at_its_next_step(
    client, alice, alice_link, claim
):
    """First instalment paid, the second not: the run the day after its due date
    cancels the plan and takes the step after the first notice."""
    _, token = alice_link
    client.post(url("instalments", token, claim.id), {"months": 3})
    payment_record(
        customer=alice,
        amount=Decimal("84.18"),
        currency="EUR",
        received_on=date(2025, 5, 2),
        actor="test",
    )

    run_dunning(actor="test", run_date=date(2025, 6, 2))
    on_time = case_state(claim)
    run_dunning(actor="test", run_date=date(2025, 6, 3))

    assert on_time == Case.State.INSTALMENTS
    assert case_state(claim) == Case.State.IN_DUNNING
    assert InstalmentPlan.objects.get().status == InstalmentPlan.Status.CANCELLED
    taken = CaseStep.objects.filter(case__invoice=claim).order_by("taken_on")
    assert [(s.step.position, s.taken_on) for s in taken] == [
        (2, date(2025, 2, 24)),
        (3, date(2025, 6, 3)),
    ]
    log = StateLog.objects.filter(state="in_dunning").latest("timestamp")
    assert log.description.startswith("instalment 2 missed")


def test_a_kept_plan_keeps_the_run_away(client, alice, alice_link, claim):
    """Both instalments so far paid at once: no step, the case stays in the plan."""
    _, token = alice_link
    client.post(url("instalments", token, claim.id), {"months": 3})
    payment_record(
        customer=alice,
        amount=Decimal("168.34"),
        currency="EUR",
        received_on=date(2025, 5, 20),
        actor="test",
    )

    run_dunning(actor="test", run_date=date(2025, 6, 10))

    assert case_state(claim) == Case.State.INSTALMENTS
    assert CaseStep.objects.filter(case__invoice=claim).count() == 1


def test_paying_off_a_plan_on_the_page_completes_it_and_closes_the_case(
    client, alice_link, claim
):
    """The rest of the claim paid with the test provider: the plan is completed
    with its reason and the case closed as paid; no later run touches it."""
    _, token = alice_link
    client.post(url("instalments", token, claim.id), {"months": 3})

    response = client.post(url("pay", token), {"currency": "EUR", "claims": [claim.id]})
    confirm_test_payment(client, response)
    run_dunning(actor="test", run_date=date(2025, 6, 3))

    plan = InstalmentPlan.objects.get()
    assert plan.status == InstalmentPlan.Status.COMPLETED
    assert plan.status_reason.startswith("claim settled (provider:test")
    assert plan.ended_on == CREDITOR_TODAY
    assert case_state(claim) == Case.State.CLOSED_PAID
    assert CaseStep.objects.filter(case__invoice=claim).count() == 1


def test_a_part_payment_leaves_the_plan_active(client, alice, alice_link, claim):
    _, token = alice_link
    client.post(url("instalments", token, claim.id), {"months": 3})

    payment_record(
        customer=alice,
        amount=Decimal("252.49"),
        currency="EUR",
        received_on=date(2025, 4, 3),
        actor="test",
    )

    assert InstalmentPlan.objects.get().status == InstalmentPlan.Status.ACTIVE
    assert case_state(claim) == Case.State.INSTALMENTS


def test_a_missed_instalment_cancels_the_plan_with_its_reason(
    client, alice_link, claim
):
    _, token = alice_link
    client.post(url("instalments", token, claim.id), {"months": 3})

    run_dunning(actor="test", run_date=date(2025, 5, 3))

    plan = InstalmentPlan.objects.get()
    assert (plan.status, plan.status_reason, plan.ended_on) == (
        InstalmentPlan.Status.CANCELLED,
        "instalment 1 missed",
        date(2025, 5, 3),
    )


def test_writing_off_a_claim_in_a_plan_cancels_the_plan(
    client, alice_link, claim, admin_user
):
    from dunning.services import case_write_off

    _, token = alice_link
    client.post(url("instalments", token, claim.id), {"months": 3})

    case_write_off(case_id=claim.case.pk, reason="insolvent", actor=admin_user)

    plan = InstalmentPlan.objects.get()
    assert plan.status == InstalmentPlan.Status.CANCELLED
    assert plan.status_reason == f"claim written off (user:{admin_user.pk})"
    assert case_state(claim) == Case.State.CLOSED_WRITTEN_OFF


# --- Pay later, already paid, dispute ---------------------------------------------


def test_a_promise_pauses_dunning_and_a_broken_one_resumes_it(
    client, alice_link, claim
):
    """Promise by 20 April; nothing paid; on 21 April the case is back in dunning."""
    _, token = alice_link

    response = client.post(
        url("promise", token, claim.id), {"promised_on": "2025-04-20"}, follow=True
    )

    promise = Promise.objects.get()
    assert (promise.promised_on, promise.amount) == (
        date(2025, 4, 20),
        Decimal("252.50"),
    )
    assert case_state(claim) == Case.State.PAUSED
    assert "Vor dem 20. April 2025 erinnern wir Sie nicht." in (
        response.content.decode()
    )
    assert events("promised")[0].details == {"promised_on": "2025-04-20"}

    cases_resume_due(on=date(2025, 4, 21), actor="system:run")

    assert Promise.objects.get().status == Promise.Status.BROKEN
    assert case_state(claim) == Case.State.IN_DUNNING


@pytest.mark.parametrize("day", ["2025-04-02", "2025-05-03", "morgen"])
def test_a_promise_outside_the_creditors_range_is_refused(
    client, alice_link, claim, day
):
    """Today, beyond the creditor's 30 days, or not a date: nothing changes."""
    _, token = alice_link

    response = client.post(
        url("promise", token, claim.id), {"promised_on": day}, follow=True
    )

    assert "im angegebenen Zeitraum" in response.content.decode()
    assert not Promise.objects.exists()
    assert case_state(claim) == Case.State.IN_DUNNING


def test_already_paid_pauses_a_few_days_and_asks_a_clerk(
    client, settings, alice_link, claim
):
    """Paused for the setting's 7 days, a task with the debtor's note."""
    settings.PORTAL_ALREADY_PAID_DAYS = 7
    _, token = alice_link

    client.post(url("already_paid", token, claim.id), {"note": "Am 28.3. überwiesen"})

    case = Case.objects.get(invoice=claim)
    assert (case.state, case.paused_until) == (Case.State.PAUSED, date(2025, 4, 9))
    task = ClerkTask.objects.get()
    assert (task.kind, task.reason) == (
        ClerkTask.Kind.ALREADY_PAID,
        "Am 28.3. überwiesen",
    )
    assert len(events("already_paid")) == 1


def test_a_dispute_takes_the_claim_out_of_dunning_and_asks_a_clerk(
    client, alice_link, claim
):
    """Disputed with a reason; the reason stays on the task, not in the state log."""
    _, token = alice_link

    response = client.post(
        url("dispute", token, claim.id), {"reason": "Nie bestellt"}, follow=True
    )

    assert case_state(claim) == Case.State.DISPUTED
    task = ClerkTask.objects.get()
    assert (task.kind, task.invoice_id, task.reason) == (
        ClerkTask.Kind.DISPUTE,
        claim.id,
        "Nie bestellt",
    )
    log = StateLog.objects.get(state="disputed")
    assert "Nie bestellt" not in log.description
    html = response.content.decode()
    assert "keine Mahnungen" in html
    # A disputed claim offers no more ways out.
    assert url("dispute", token, claim.id) not in html


def test_a_dispute_needs_a_reason(client, alice_link, claim):
    _, token = alice_link

    response = client.post(
        url("dispute", token, claim.id), {"reason": " "}, follow=True
    )

    assert "was an der Rechnung nicht stimmt" in response.content.decode()
    assert case_state(claim) == Case.State.IN_DUNNING
    assert not ClerkTask.objects.exists()


def test_a_claim_of_another_debtor_is_refused_on_every_way_out(
    client, alice_link, bob_ltd, make_invoice
):
    """Alice's link naming Bob's claim changes nothing of Bob's."""
    _, token = alice_link
    bobs = make_invoice(bob_ltd, amount="80.00", due_on=date(2025, 2, 1))
    open_case(bobs)

    responses = [
        client.post(url("promise", token, bobs.id), {"promised_on": "2025-04-20"}),
        client.post(url("already_paid", token, bobs.id), {"note": "x"}),
        client.post(url("dispute", token, bobs.id), {"reason": "x"}),
        client.post(url("instalments", token, bobs.id), {"months": 2}),
        client.get(url("instalments", token, bobs.id), {"months": 2}),
    ]

    assert [r.status_code for r in responses] == [302, 302, 302, 404, 404]
    assert case_state(bobs) == Case.State.IN_DUNNING
    assert not ClerkTask.objects.exists()
    assert not Promise.objects.exists()
    # A full name: a short word can turn up in the random CSP nonce.
    assert "Bob Ltd" not in client.get(url("home", token)).content.decode()


def test_the_forms_are_csrf_protected(alice_link, claim):
    """A POST without the CSRF token is refused and changes nothing."""
    _, token = alice_link
    client = Client(enforce_csrf_checks=True)

    response = client.post(url("dispute", token, claim.id), {"reason": "x"})

    assert response.status_code == 403
    assert case_state(claim) == Case.State.IN_DUNNING


# --- Contact preferences and the language switch ----------------------------------


def test_preferences_are_stored_and_the_next_decision_follows_them(
    client, alice, alice_link, make_invoice
):
    """SMS from 08:00 to 09:00 in English: the run's next decision for Alice
    takes that channel, that hour and that language."""
    from personalisation.models import Decision

    alice.phone = "+4915112345678"
    alice.save()
    make_invoice(alice, amount="60.00", due_on=date(2025, 3, 28), number="R-9")
    _, token = alice_link

    response = client.post(
        url("preferences", token),
        {
            "channel": "sms",
            "contact_from": "08:00",
            "contact_until": "09:00",
            "language": "en",
        },
        follow=True,
    )
    run_dunning(actor="test", run_date=date(2025, 4, 3))

    alice.refresh_from_db()
    assert (alice.preferred_channel, alice.consent_sms, alice.language) == (
        "sms",
        True,
        "en",
    )
    assert (alice.contact_from, alice.contact_until) == (time(8), time(9))
    assert "Your preferences are saved." in response.content.decode()
    decision = Decision.objects.get(customer=alice)
    assert (decision.channel, decision.language) == ("sms", "en")
    assert decision.send_at.astimezone(alice.zone).time() == time(8)
    assert "contacted from 08:00" in str(decision.reasons)
    assert events("preferences")[0].details == {
        "channel": "sms",
        "window": ["08:00:00", "09:00:00"],
        "language": "en",
    }


@pytest.mark.parametrize(
    "data",
    [
        {"channel": "sms"},  # no phone number
        {"channel": "pigeon"},
        {"contact_from": "18:00", "contact_until": "08:00"},
        {"contact_from": "08:00"},
    ],
)
def test_preferences_that_cannot_work_are_refused(client, alice, alice_link, data):
    _, token = alice_link

    response = client.post(url("preferences", token), {"language": "de", **data})

    assert response.status_code == 400
    alice.refresh_from_db()
    assert (alice.preferred_channel, alice.contact_from) == ("", None)


def test_the_language_switch_is_kept_for_the_link_only(client, alice, alice_link):
    """Switched to English: this link's pages speak English, Alice's messages stay
    German, and a new link starts in German again."""
    link, token = alice_link

    client.post(url("language", token), {"language": "en"})
    html = client.get(url("home", token)).content.decode()

    assert '<html lang="en">' in html
    assert "Your open invoices" in html
    alice.refresh_from_db()
    assert alice.language == "de"
    _, other = link_create(customer=alice)
    assert "Ihre offenen Rechnungen" in client.get(url("home", other)).content.decode()
    assert events("language")[0].details == {"language": "en"}


def test_a_second_attempt_reports_a_left_out_claim_once(
    client, alice_link, claim, second_claim
):
    """Cancel, then pay again without R-2: still one task for R-2."""
    _, token = alice_link
    data = {"currency": "EUR", "claims": [claim.id]}

    first = client.post(url("pay", token), data)
    client.post(first["Location"], {"action": "cancel"})
    client.post(url("pay", token), data)

    assert ClerkTask.objects.filter(invoice=second_claim).count() == 1


def test_a_claim_not_in_dunning_offers_no_instalments(
    client, alice, alice_link, make_invoice
):
    """Not yet overdue, no case: no ways out shown, preview and plan refused."""
    _, token = alice_link
    fresh = make_invoice(alice, amount="300.00", due_on=date(2025, 4, 30))

    html = client.get(url("home", token)).content.decode()
    preview = client.get(url("instalments", token, fresh.id), {"months": 3})
    agree = client.post(url("instalments", token, fresh.id), {"months": 3})

    assert url("instalments", token, fresh.id) not in html
    assert (preview.status_code, agree.status_code) == (302, 400)
    assert not InstalmentPlan.objects.exists()
    assert events("instalments_previewed") == []


def test_the_overview_with_ways_out_asks_as_many_queries_for_ten_claims_as_for_one(
    client, alice, alice_link, make_invoice, django_assert_max_num_queries
):
    """The ways out of all claims come from one query of their cases."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _, token = alice_link
    open_case(make_invoice(alice, amount="90.00", due_on=date(2025, 2, 1)))
    with CaptureQueriesContext(connection) as one_claim:
        client.get(url("home", token))

    for _ in range(9):
        open_case(make_invoice(alice, amount="90.00", due_on=date(2025, 2, 1)))
    with django_assert_max_num_queries(len(one_claim)):
        response = client.get(url("home", token))

    assert response.content.decode().count("<details") == 10


def test_a_clerk_sees_the_debtors_reason_and_closes_the_task(
    client, alice_link, claim, django_user_model
):
    """The clerk task list shows the reason; a clerk who works cases closes it,
    an auditor cannot."""
    from django.contrib.auth.models import Group

    from audit.roles import AUDITOR, CLERK

    _, token = alice_link
    client.post(url("dispute", token, claim.id), {"reason": "Nie bestellt"})
    task = ClerkTask.objects.get()
    users = {}
    for name, role in [("carl", CLERK), ("audrey", AUDITOR)]:
        users[name] = django_user_model.objects.create_user(name, is_staff=True)
        users[name].groups.add(Group.objects.get(name=role))
    changelist = reverse("admin:portal_clerktask_changelist")
    action = {"action": "mark_done", "_selected_action": [task.pk]}

    client.force_login(users["audrey"])
    listed = client.get(changelist).content.decode()
    client.post(changelist, action)
    task.refresh_from_db()
    after_auditor = task.done_at
    client.force_login(users["carl"])
    client.post(changelist, action)
    task.refresh_from_db()

    assert "Nie bestellt" in listed
    assert after_auditor is None
    assert task.done_by == f"user:{users['carl'].pk}"
