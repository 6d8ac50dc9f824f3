"""Instalment plans agreed elsewhere: stored only when they fit the claim."""

from datetime import date

import pytest

from payments.models import InstalmentPlan

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim(alice, make_invoice):
    return make_invoice(alice, amount="300.00", number="INV-7")


def plan(*instalments, external_id="PLAN-1"):
    return {
        "external_id": external_id,
        "invoice_external_id": "INV-7",
        "agreed_on": "2025-03-10",
        "instalments": [{"due_on": d, "amount": a} for d, a in instalments],
    }


def post(api, body):
    return api.post("/api/v1/instalment-plans/", body, format="json")


THREE = (("2025-04-01", "100.00"), ("2025-05-01", "100.00"), ("2025-06-01", "100"))


def test_a_plan_that_adds_up_is_stored(api, claim):
    response = post(api, plan(*THREE))

    assert response.status_code == 201
    body = response.json()
    assert body["total"] == "300.00"
    assert [i["amount"] for i in body["instalments"]] == ["100.00"] * 3
    assert InstalmentPlan.objects.get().instalments.count() == 3


def test_the_same_plan_again_changes_nothing(api, claim):
    post(api, plan(*THREE))

    response = post(api, plan(*THREE))

    assert response.status_code == 200
    assert InstalmentPlan.objects.count() == 1


def test_instalments_must_add_up_to_the_open_amount(api, claim):
    response = post(api, plan(("2025-04-01", "100.00"), ("2025-05-01", "150.00")))

    assert response.status_code == 400
    assert response.json()["errors"]["instalments"] == [
        "The instalments add up to €250.00, the claim's open amount is €300.00."
    ]
    assert not InstalmentPlan.objects.exists()


def test_due_dates_must_ascend(api, claim):
    response = post(api, plan(("2025-05-01", "150.00"), ("2025-04-01", "150.00")))

    assert response.status_code == 400
    assert "ascend" in response.json()["errors"]["instalments"][0]


def test_a_second_active_plan_for_the_claim_is_a_conflict(api, claim):
    post(api, plan(*THREE))

    response = post(api, plan(*THREE, external_id="PLAN-2"))

    assert response.status_code == 409


def test_a_plan_for_an_unknown_claim_is_refused(api, alice):
    response = post(api, plan(*THREE))

    assert response.status_code == 400
    assert response.json()["errors"] == {"invoice_external_id": ["Unknown claim."]}


def test_a_plan_agreed_before_the_case_opens_keeps_the_claim_out_of_dunning(api, claim):
    """Due 3 March, the plan agreed through the API first: the run of 20 March
    opens the case straight into the plan (no step, no message), and the
    instalment missed on 1 April sends it into dunning on 2 April."""
    from django_fsm_log.models import StateLog

    from dunning.models import Case, CaseStep
    from dunning.run import run_dunning
    from messaging.models import Message

    assert post(api, plan(*THREE)).status_code == 201

    run_dunning(actor="test", run_date=date(2025, 3, 20))

    case = Case.objects.get(invoice=claim)
    assert case.state == Case.State.INSTALMENTS
    assert not CaseStep.objects.exists()
    assert not Message.objects.exists()
    log = StateLog.objects.for_(case).order_by("id")
    assert [(e.transition, e.description) for e in log] == [
        ("start", "overdue (test)"),
        (
            "agree_instalments",
            "instalment plan PLAN-1 agreed before the case opened (test)",
        ),
    ]

    run_dunning(actor="test", run_date=date(2025, 4, 2))

    case.refresh_from_db()
    assert case.state == Case.State.IN_DUNNING
    assert InstalmentPlan.objects.get().status == InstalmentPlan.Status.CANCELLED
