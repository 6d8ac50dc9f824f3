"""The case page's work buttons, bulk actions and the case and claim lists."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from dunning.models import Case
from tests.admin.helpers import assert_bounded_changelist, open_case

pytestmark = pytest.mark.django_db


def buttons(client, case) -> list[str]:
    page = client.get(reverse("admin:dunning_case_change", args=[case.pk]))
    assert page.status_code == 200
    return [label for label, _ in page.context["case_work"]]


def notes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize(
    "state, offered",
    [
        (
            "in_dunning",
            ["Pause", "Promise to pay", "Mark disputed", "Write off", "Hand over"],
        ),
        ("paused", ["Resume", "Mark disputed", "Write off"]),
        ("disputed", ["Resolve dispute", "Write off"]),
        ("handed_over", ["Write off"]),
        ("closed_paid", []),
    ],
)
def test_the_case_page_offers_only_what_the_state_allows(
    login, clerk, cases, state, offered
):
    (case,) = cases(1, state=state)

    assert buttons(login(clerk), case) == offered


def test_a_button_leads_to_a_form_and_the_case_changes(login, clerk, case):
    client = login(clerk)
    url = reverse("admin:dunning_case_work", args=[case.pk, "dispute"])

    form = client.get(url)
    done = client.post(url, {"reason": "never received the goods"})

    assert form.status_code == 200
    assert 'name="reason"' in form.content.decode()
    assert done.status_code == 302
    assert done["Location"] == reverse("admin:dunning_case_change", args=[case.pk])
    assert notes(done) == [f"Mark disputed: done; case {case.pk} is now disputed."]
    assert Case.objects.get(pk=case.pk).state == Case.State.DISPUTED


def test_a_crafted_post_in_the_wrong_state_is_refused(login, clerk, cases, today):
    (case,) = cases(1, state="disputed")
    url = reverse("admin:dunning_case_work", args=[case.pk, "hand_over"])

    response = login(clerk).post(url, {"reason": "agency"})

    assert response.status_code == 302
    assert notes(response) == ["Hand over: not allowed while the case is disputed."]
    assert Case.objects.get(pk=case.pk).state == Case.State.DISPUTED


def test_a_form_error_is_shown_and_nothing_changes(login, clerk, case, today):
    url = reverse("admin:dunning_case_work", args=[case.pk, "promise"])

    response = login(clerk).post(
        url, {"promised_on": (today + timedelta(days=5)).isoformat(), "amount": "500"}
    )

    assert response.status_code == 200
    assert "is more than the open €120.00" in response.content.decode()
    assert Case.objects.get(pk=case.pk).state == Case.State.IN_DUNNING


def test_an_unknown_work_is_not_found(login, clerk, case):
    url = reverse("admin:dunning_case_work", args=[case.pk, "delete"])

    assert login(clerk).post(url).status_code == 404


def test_a_bulk_pause_asks_for_date_and_reason_then_counts(login, clerk, cases, today):
    in_dunning = cases(3)
    disputed = cases(2, state="disputed")
    selected = [c.pk for c in in_dunning + disputed]
    client = login(clerk)
    url = reverse("admin:dunning_case_changelist")
    action = {"action": "pause_cases", "_selected_action": selected, "index": "0"}

    asked = client.post(url, action)
    until = today + timedelta(days=10)
    applied = client.post(
        url,
        {**action, "apply": "1", "until": until.isoformat(), "reason": "strike"},
    )

    assert asked.status_code == 200
    assert 'name="until"' in asked.content.decode()
    assert applied.status_code == 302
    assert notes(applied) == [
        "3 cases changed, 2 skipped (not allowed in their state)."
    ]
    assert set(
        Case.objects.filter(pk__in=selected, state="paused").values_list(
            "pk", flat=True
        )
    ) == {c.pk for c in in_dunning}


def test_a_bulk_resume_needs_no_form(login, clerk, cases):
    paused, running = cases(2, state="paused"), cases(1)
    response = login(clerk).post(
        reverse("admin:dunning_case_changelist"),
        {
            "action": "resume_cases",
            "_selected_action": [c.pk for c in paused + running],
            "index": "0",
        },
    )

    assert notes(response) == [
        "2 cases changed, 1 skipped (not allowed in their state)."
    ]
    assert Case.objects.filter(state="in_dunning").count() == 3


def test_the_case_list_filters_by_overdue_bucket_and_step(
    login, manager, alice, make_invoice, today
):
    recent = open_case(make_invoice(alice, due_on=today - timedelta(days=10)))
    old = open_case(make_invoice(alice, due_on=today - timedelta(days=100)))
    old.current_step = old.plan.steps.get(position=1)
    old.save()
    client = login(manager)
    url = reverse("admin:dunning_case_changelist")

    def listed(query):
        page = client.get(url, query)
        assert page.status_code == 200
        return {case.pk for case in page.context["cl"].result_list}

    assert listed({"overdue": "1-30"}) == {recent.pk}
    assert listed({"overdue": "90+"}) == {old.pk}
    assert listed({"overdue": "31-60"}) == set()
    assert listed({"step": str(old.current_step_id)}) == {old.pk}
    assert listed({"step": "none"}) == {recent.pk}


@pytest.fixture
def many_cases(alice, make_invoice, today):
    """Add n cases of Alice's, all 10 to 29 days overdue, none with a step yet."""

    def add(n):
        for i in range(n):
            open_case(make_invoice(alice, due_on=today - timedelta(days=10 + i % 20)))

    return add


# Each search or filter matches every row, so the page holds all of them.
LIST_QUERIES = [
    "",
    "q=INV",
    "q=Alice",
    "state__exact=in_dunning&overdue=1-30",
    "step=none&creditor__id__exact={creditor}",
]


@pytest.mark.parametrize("query", LIST_QUERIES)
def test_the_case_list_asks_a_bounded_number_of_queries(
    login, manager, many_cases, creditor, query, django_assert_max_num_queries
):
    url = reverse("admin:dunning_case_changelist")

    assert_bounded_changelist(
        login(manager),
        f"{url}?{query.format(creditor=creditor.pk)}",
        many_cases,
        django_assert_max_num_queries,
    )


@pytest.mark.parametrize(
    "query", ["", "q=INV", "q=Alice&status__exact=open", "creditor__id__exact={c}"]
)
def test_the_claim_list_asks_a_bounded_number_of_queries(
    login, manager, many_cases, creditor, query, django_assert_max_num_queries
):
    url = reverse("admin:payments_invoice_changelist")

    assert_bounded_changelist(
        login(manager),
        f"{url}?{query.format(c=creditor.pk)}",
        many_cases,
        django_assert_max_num_queries,
    )


def test_the_case_search_finds_claim_number_external_id_and_customer(
    login, manager, alice, bob_ltd, make_invoice, today
):
    due = today - timedelta(days=10)
    alices = open_case(make_invoice(alice, due_on=due, number="R-2025-0042"))
    bobs = open_case(make_invoice(bob_ltd, due_on=due, number="R-2025-0099"))
    client = login(manager)

    def found(term):
        page = client.get(reverse("admin:dunning_case_changelist"), {"q": term})
        return {case.pk for case in page.context["cl"].result_list}

    assert found("0042") == {alices.pk}
    assert found("r-2025") == {alices.pk, bobs.pk}
    assert found("bob") == {bobs.pk}
    assert found("C-ALICE") == {alices.pk}
    assert found("Alice 0099") == set()
