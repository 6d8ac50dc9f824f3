"""Tenant isolation: a client sees and changes only its own creditors' data."""

import pytest

from tests.api.conftest import invoice_item

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "customers",
        "invoices",
        "cases",
        "messages",
        "credit-notes",
        "payments",
        "instalment-plans",
    ],
)
def test_another_creditors_object_is_not_found(api, beta_api, beta_rows, path):
    """Client A gets 404 where client B, its owner, gets the object."""
    url = f"/api/v1/{path}/{beta_rows[path]}/"

    assert beta_api.get(url).status_code == 200
    assert api.get(url).status_code == 404
    assert api.get(f"/api/v1/{path}/").json()["results"] == []
    assert len(beta_api.get(f"/api/v1/{path}/").json()["results"]) >= 1


def test_another_creditors_message_content_is_not_found(api, beta_rows):
    assert api.get(f"/api/v1/messages/{beta_rows['messages']}/text/").status_code == 404


def test_another_creditors_case_cannot_be_worked(api, beta_rows):
    response = api.post(
        f"/api/v1/cases/{beta_rows['cases']}/dispute/",
        {"reason": "not ours"},
        format="json",
    )

    assert response.status_code == 404


def test_a_batch_for_another_creditor_is_refused(api, alice, beta):
    response = api.post(
        "/api/v1/invoices/bulk/",
        {"creditor": beta.pk, "items": [invoice_item(1)]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"]["creditor"] == [
        "Not one of this token's creditors."
    ]


def test_filtering_by_another_creditor_finds_nothing(api, beta, beta_rows):
    response = api.get("/api/v1/invoices/", {"creditor": beta.pk})

    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize(
    "path",
    [
        "customers",
        "invoices",
        "cases",
        "messages",
        "credit-notes",
        "payments",
        "instalment-plans",
    ],
)
def test_lists_take_a_fixed_number_of_queries(
    beta_api, beta_rows, path, django_assert_max_num_queries
):
    """No query per row: a page costs the same for one row or a hundred."""
    with django_assert_max_num_queries(6):
        assert beta_api.get(f"/api/v1/{path}/").status_code == 200
