"""Every API path, every method, with another creditor's objects.

The routes come from the router itself, so a new endpoint without a case here
fails `test_every_route_has_a_case`. Client A (Acme's ERP) aims each request at
creditor Beta's rows: a detail path answers 404, a list shows none of Beta's
rows, a write naming Beta's creditor, claim or message is refused, a method a
route does not take is 405, and afterwards not one row of the portfolio has
changed.
"""

from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from api.urls import router
from tests.api.conftest import invoice_item

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
# The apps whose rows a refused request must leave as they were. The API's own
# request log and the access audit are left out: they record the refusals.
PORTFOLIO_APPS = ("customers", "payments", "dunning", "messaging", "delivery")

LATER = (timezone.localdate() + timedelta(days=30)).isoformat()
# What each write is sent: a body that would be accepted on one's own object,
# so a refusal comes from the object check, not from validation.
ACTION_BODIES = {
    "payment-reverse": {"reversed_on": "2025-03-10", "reason": "bounced"},
    "case-pause": {"until": LATER, "reason": "on holiday"},
    "case-resume": {},
    "case-promise": {"promised_on": LATER, "amount": "10.00"},
    "case-dispute": {"reason": "not ours"},
    "case-resolve-dispute": {"reason": "checked"},
    "case-write-off": {"reason": "gone"},
    "case-hand-over": {"reason": "agency"},
}
DETAIL_OBJECTS = {
    "customer": "customers",
    "invoice": "invoices",
    "credit-note": "credit-notes",
    "payment": "payments",
    "case": "cases",
    "message": "messages",
    "instalment-plan": "instalment-plans",
}


def collection_bodies(rows) -> dict[str, dict]:
    """Writes on collection routes that name Beta's creditor or Beta's rows."""
    beta = rows["creditor"]
    return {
        "customer-bulk": {
            "creditor": beta,
            "items": [{"external_id": "B-1", "name": "Taken Over"}],
        },
        "invoice-bulk": {
            "creditor": beta,
            "items": [invoice_item(1, customer="B-1")],
        },
        "credit-note-bulk": {
            "creditor": beta,
            "items": [
                {
                    "external_id": "B-CN-2",
                    "invoice_external_id": "B-INV-1",
                    "amount": "300.00",
                    "currency": "EUR",
                    "issued_on": "2025-03-08",
                }
            ],
        },
        "payment-bulk": {
            "creditor": beta,
            "items": [
                {
                    "external_id": "B-PAY-2",
                    "customer_external_id": "B-1",
                    "amount": "300.00",
                    "currency": "EUR",
                    "received_on": "2025-03-08",
                }
            ],
        },
        "instalment-plan-list": {
            # No creditor named: the client's own, where Beta's claim is unknown.
            "external_id": "B-PLAN-2",
            "invoice_external_id": "B-INV-1",
            "agreed_on": "2025-03-08",
            "instalments": [{"due_on": "2025-04-01", "amount": "300.00"}],
        },
        "delivery-event-list": {
            "event_id": "evt-beta-1",
            "message": rows["messages"],
            "kind": "opened",
            "occurred_at": "2025-03-08T10:00:00Z",
        },
    }


def routes():
    for pattern in router.urls:
        actions = getattr(pattern.callback, "actions", {})
        yield str(pattern.pattern), pattern.name, actions


def portfolio() -> dict[str, list[tuple]]:
    snapshot = {}
    for label in PORTFOLIO_APPS:
        for model in apps.get_app_config(label).get_models():
            rows = model._default_manager.order_by("pk").values_list()
            snapshot[model._meta.label] = list(rows)
    return snapshot


def url_of(route: str, rows) -> str:
    if "<int:pk>" not in route:
        return f"/api/v1/{route}"
    collection = route.split("/", 1)[0]
    return f"/api/v1/{route.replace('<int:pk>', str(rows[collection]))}"


def test_every_route_has_a_case():
    """A route added later must say here what refuses another creditor."""
    covered = set(ACTION_BODIES) | {f"{name}-detail" for name in DETAIL_OBJECTS}
    covered |= {f"{name}-list" for name in DETAIL_OBJECTS}
    covered |= {"message-pdf", "message-text"}
    covered |= set(collection_bodies({"creditor": 0, "messages": 0}))

    missing = {name for _route, name, _actions in routes()} - covered

    assert missing == set()


def test_another_creditors_rows_are_out_of_reach_on_every_path(
    api, beta_api, beta_rows
):
    before = portfolio()
    writes = collection_bodies(beta_rows)
    answers = []

    for route, name, actions in routes():
        url = url_of(route, beta_rows)
        for method in METHODS:
            body = ACTION_BODIES.get(name) or writes.get(name) or {}
            response = getattr(api, method)(url, body, format="json")
            answers.append((method.upper(), url, response.status_code))
            if method not in actions:
                assert response.status_code == 405, (method, url)
            elif "<int:pk>" in route:
                # The owner reaches the same object on reading paths.
                if method == "get":
                    assert beta_api.get(url).status_code == 200, url
                assert response.status_code == 404, (method, url, response.content)
            elif method == "get":
                assert response.status_code == 200, url
                assert response.json()["results"] == [], url
            else:
                assert response.status_code == 400, (url, response.content)

    assert portfolio() == before
    # 29 routes × 5 methods today; the count only grows with the router.
    assert len(answers) == len(list(routes())) * len(METHODS)


# Work that needs a case in another state first (a dispute, a pause).
NEEDS_STATE = {"case-resolve-dispute", "case-resume"}
WRITES = sorted(ACTION_BODIES) + sorted(
    collection_bodies({"creditor": 0, "messages": 0})
)


@pytest.mark.parametrize("name", WRITES)
def test_the_owner_s_own_write_is_accepted_with_the_same_body(
    beta_api, beta_rows, name
):
    """The bodies above are valid: the refusals come from the object checks."""
    route = next(route for route, n, _actions in routes() if n == name)
    if name in ACTION_BODIES:
        body = ACTION_BODIES[name]
    else:
        body = collection_bodies(beta_rows)[name]
    if name == "instalment-plan-list":
        body = {**body, "creditor": beta_rows["creditor"]}

    response = beta_api.post(url_of(route, beta_rows), body, format="json")

    expected = 409 if name in NEEDS_STATE else (200, 201)
    assert response.status_code in (
        expected if isinstance(expected, tuple) else (expected,)
    ), (
        name,
        response.content,
    )
