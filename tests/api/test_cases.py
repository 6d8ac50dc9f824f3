"""Case work through the API: the dunning services, each from valid states only."""

from datetime import timedelta

import pytest

from dunning.models import Case, Promise
from tests.admin.helpers import open_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def today(creditor):
    return creditor.local_today()


@pytest.fixture
def case(alice, make_invoice, today):
    invoice = make_invoice(alice, amount="120.00", due_on=today - timedelta(days=21))
    return open_case(invoice)


def act(api, case, action, **body):
    return api.post(f"/api/v1/cases/{case.pk}/{action}/", body, format="json")


def test_cases_are_listed_with_their_claim(api, case):
    body = api.get("/api/v1/cases/", {"state": "in_dunning"}).json()

    assert [c["id"] for c in body["results"]] == [case.pk]
    assert body["results"][0]["open_amount"] == "120.00"
    assert body["results"][0]["invoice_external_id"] == case.invoice.external_id


def test_a_dispute_and_its_resolution(api, case):
    disputed = act(api, case, "dispute", reason="goods damaged")
    resolved = act(api, case, "resolve-dispute", reason="photos show no damage")

    assert disputed.json()["state"] == "disputed"
    assert resolved.json()["state"] == "in_dunning"


def test_a_promise_to_pay_pauses_the_case(api, erp, case, today):
    response = act(
        api, case, "promise", promised_on=str(today + timedelta(days=7)), amount="50"
    )

    assert response.status_code == 200
    assert response.json()["state"] == "paused"
    assert Promise.objects.get(case=case).actor == f"api:{erp[0].pk}"


def test_a_pause_then_resume(api, case, today):
    paused = act(api, case, "pause", until=str(today + timedelta(days=3)), reason="x")
    resumed = act(api, case, "resume")

    assert paused.json()["paused_until"] == str(today + timedelta(days=3))
    assert resumed.json()["state"] == "in_dunning"


def test_write_off_closes_the_case_and_clears_the_claim(api, case):
    response = act(api, case, "write-off", reason="insolvent")

    assert response.json()["state"] == "closed_written_off"
    assert response.json()["open_amount"] == "0.00"


def test_an_action_from_an_invalid_state_is_a_409_with_the_reason(api, case):
    """A closed case cannot be handed over; nothing changes."""
    act(api, case, "write-off", reason="insolvent")

    response = act(api, case, "hand-over", reason="agency")

    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Case {case.pk} is closed: written off: it cannot be handed over.",
        "code": "conflict",
    }
    assert Case.objects.get(pk=case.pk).state == "closed_written_off"


def test_a_hand_over_needs_a_reason(api, case):
    response = act(api, case, "hand-over")

    assert response.status_code == 400
    assert "reason" in response.json()["errors"]
