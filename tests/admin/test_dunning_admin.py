from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from dunning.models import Case, CaseStep, Plan, Promise, Run, Step
from tests.admin.helpers import (
    assert_bounded_changelist,
    assert_no_raw_amounts,
    open_case,
    plan_change_data,
    send_message,
    take_step,
)

pytestmark = pytest.mark.django_db


def plan_form(*steps, name="Gentle") -> dict:
    """POST data for the plan add page with the given steps."""
    data = {
        "name": name,
        "description": "",
        "creditor": "",
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for n, step in enumerate(steps):
        values = {
            "position": "1",
            "name": "Reminder",
            "action": "reminder",
            "days": "3",
            "counts_from": "due",
            "channels": '["email"]',
            "fee": "0",
            "fee_kind": "fixed",
            "fee_percent": "0",
            "fee_minimum": "",
            "fee_maximum": "",
            "tone_floor": "empathetic",
            "minimum_amount": "0",
            "payment_days": "7",
            **step,
        }
        data.update({f"steps-{n}-{key}": value for key, value in values.items()})
    return data


def test_a_manager_creates_a_plan_with_steps(admin_client):
    url = reverse("admin:dunning_plan_add")

    response = admin_client.post(
        url,
        plan_form(
            {"channels": '["sms", "email"]'},
            {"position": "2", "name": "Notice", "days": "14"},
        ),
    )

    assert response.status_code == 302
    plan = Plan.objects.get(name="Gentle")
    assert list(plan.steps.values_list("position", "channels")) == [
        (1, ["sms", "email"]),
        (2, ["email"]),
    ]


def test_the_plan_admin_refuses_an_unknown_channel(admin_client):
    """A step may only use channels the product can send on."""
    response = admin_client.post(
        reverse("admin:dunning_plan_add"), plan_form({"channels": '["email", "fax"]'})
    )

    assert response.status_code == 200
    assert (
        "Unknown channel &#x27;fax&#x27;; known channels: email, sms, whatsapp, letter."
        in response.content.decode()
    )
    assert not Plan.objects.filter(name="Gentle").exists()


@pytest.mark.parametrize(
    "channels, error",
    [
        ("[]", "Give the channels as a list in order of preference"),
        ('"email"', "Give the channels as a list in order of preference"),
        ('["email", "email"]', "Each channel may appear only once."),
    ],
)
def test_the_plan_admin_refuses_channels_that_are_not_a_list_of_codes(
    admin_client, channels, error
):
    response = admin_client.post(
        reverse("admin:dunning_plan_add"), plan_form({"channels": channels})
    )

    assert error in response.content.decode()
    assert not Step.objects.filter(plan__name="Gentle").exists()


def test_the_plan_admin_refuses_two_steps_at_one_position(admin_client):
    response = admin_client.post(
        reverse("admin:dunning_plan_add"),
        plan_form({"name": "Reminder"}, {"name": "Notice"}),
    )

    assert response.status_code == 200
    assert (
        "Two steps have position 1 (&#x27;Reminder&#x27; and &#x27;Notice&#x27;)"
        in response.content.decode()
    )
    assert not Plan.objects.filter(name="Gentle").exists()


def test_the_standard_plan_page_lists_its_steps(admin_client):
    plan = Plan.objects.get(name="Standard")

    response = admin_client.get(reverse("admin:dunning_plan_change", args=[plan.pk]))

    assert response.status_code == 200
    assert "Final notice" in response.content.decode()


@pytest.fixture
def case(alice, make_invoice):
    invoice = make_invoice(alice, amount="250.00", number="R-9")
    case = open_case(invoice, state="open")
    case.start(description="first step due")
    case.save()
    take_step(case, 1, date(2025, 3, 6))
    send_message(take_step(case, 2, date(2025, 3, 17)), channel="letter")
    case.refresh_from_db()
    return case


def test_the_case_page_shows_state_changes_steps_and_messages(admin_client, case):
    """The FSM log, each step taken and its message are visible, none editable."""
    response = admin_client.get(reverse("admin:dunning_case_change", args=[case.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    # django-fsm-log's row for the start transition.
    assert "first step due" in html
    assert ">start<" in html
    assert "#1 Friendly reminder" in html
    assert "#2 First notice" in html
    assert "Letter Sent" in html
    assert '<th scope="row">Open balance</th><td>€250.00</td>' in html
    assert 'name="_save"' not in html
    assert 'name="state"' not in html


def test_a_case_cannot_change_state_by_hand(admin_client, case):
    """Transitions go through the services; a POST to the case page is refused."""
    response = admin_client.post(
        reverse("admin:dunning_case_change", args=[case.pk]), {"state": "closed_paid"}
    )

    assert response.status_code == 403
    case.refresh_from_db()
    assert case.state == Case.State.IN_DUNNING


def test_the_case_list_shows_claim_state_and_current_step(admin_client, case):
    response = admin_client.get(reverse("admin:dunning_case_changelist"))

    html = response.content.decode()
    assert "R-9" in html
    assert "In dunning" in html
    assert "#2 First notice" in html


def test_the_case_list_filters_by_state(admin_client, case, bob_ltd, make_invoice):
    open_case(make_invoice(bob_ltd, number="B-1"), state="paused")

    response = admin_client.get(
        reverse("admin:dunning_case_changelist"), {"state__exact": "paused"}
    )

    assert [c.invoice.number for c in response.context["cl"].result_list] == ["B-1"]


def test_the_case_list_runs_a_fixed_number_of_queries(
    admin_client, alice, make_invoice, django_assert_max_num_queries
):
    def add(count):
        for n in range(count):
            case = open_case(make_invoice(alice, amount="20.00"))
            if n % 2:
                take_step(case, 1, date(2025, 3, 6))

    assert_bounded_changelist(
        admin_client,
        reverse("admin:dunning_case_changelist"),
        add,
        django_assert_max_num_queries,
    )


def test_a_run_shows_its_summary(admin_client):
    run = Run.objects.create(actor="system:test", summary={"steps_taken": 12})

    response = admin_client.get(reverse("admin:dunning_run_change", args=[run.pk]))

    assert response.status_code == 200
    assert "&quot;steps_taken&quot;: 12" in response.content.decode()


def runs_of_each_status() -> dict[str, Run]:
    """A finished, a failed, a killed and a running run."""
    now = timezone.now()
    runs = {
        status: Run.objects.create(actor="system:schedule")
        for status in ["finished", "failed", "unfinished", "running"]
    }
    Run.objects.filter(pk=runs["finished"].pk).update(finished_at=now)
    Run.objects.filter(pk=runs["failed"].pk).update(
        finished_at=now, error="RuntimeError: decision service down"
    )
    Run.objects.filter(pk=runs["unfinished"].pk).update(
        started_at=now - timedelta(hours=5)
    )
    return runs


def test_the_run_list_shows_failed_and_unfinished_runs_apart(admin_client):
    runs = runs_of_each_status()

    response = admin_client.get(reverse("admin:dunning_run_changelist"))

    page = response.content.decode()
    assert "<strong>FAILED</strong>" in page
    assert "<strong>UNFINISHED</strong>" in page
    assert ">Finished<" in page
    assert ">Running<" in page
    for status, run in runs.items():
        filtered = admin_client.get(
            reverse("admin:dunning_run_changelist"), {"status": status}
        )
        assert list(filtered.context["cl"].result_list) == [run]


def test_a_failed_run_shows_its_error(admin_client):
    run = runs_of_each_status()["failed"]

    response = admin_client.get(reverse("admin:dunning_run_change", args=[run.pk]))

    assert "RuntimeError: decision service down" in response.content.decode()


def test_a_manager_swaps_two_steps(admin_client):
    """Exchanging positions saves, though each position is unique per plan."""
    plan = Plan.objects.get(name="Standard")
    # The moved steps take the days of their new places.
    data = plan_change_data(
        plan, {2: {"position": 3, "days": 28}, 3: {"position": 2, "days": 14}}
    )

    response = admin_client.post(
        reverse("admin:dunning_plan_change", args=[plan.pk]), data
    )

    assert response.status_code == 302
    assert list(plan.steps.order_by("position").values_list("name", flat=True)) == [
        "Friendly reminder",
        "Second notice",
        "First notice",
        "Final notice",
    ]


def test_the_case_page_shows_fees_and_promises_in_the_claims_currency(
    client, clerk, case
):
    """Step fees, open amounts and promised amounts read as money, not as the
    column's six decimals."""
    Promise.objects.create(
        case=case,
        promised_on=date(2025, 4, 1),
        amount=Decimal("80"),
        currency="EUR",
        open_amount=Decimal("250"),
        actor="test",
    )
    client.force_login(clerk)

    response = client.get(reverse("admin:dunning_case_change", args=[case.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    # The second step's fee and the open amount when each step was taken.
    assert "<p>€2.50</p>" in html
    assert "<p>€0.00</p>" in html
    assert html.count("<p>€250.00</p>") == 2
    assert "Promise of €80.00 by 2025-04-01" in html
    assert "<p>€80.00</p>" in html
    assert_no_raw_amounts(html)


def test_the_case_step_list_and_page_show_amounts_in_the_claims_currency(
    client, clerk, case
):
    case_step = CaseStep.objects.get(case=case, step__position=2)
    client.force_login(clerk)

    listing = client.get(reverse("admin:dunning_casestep_changelist"))
    page = client.get(reverse("admin:dunning_casestep_change", args=[case_step.pk]))

    assert '<td class="field-fee_display">€2.50</td>' in listing.content.decode()
    html = page.content.decode()
    assert '<div class="readonly">€2.50</div>' in html
    assert '<div class="readonly">€250.00</div>' in html
    assert_no_raw_amounts(listing.content.decode())
    assert_no_raw_amounts(html)
