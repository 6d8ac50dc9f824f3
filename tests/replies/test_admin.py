"""The replies list and the reply page: one click to confirm, or dismiss."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from dunning.models import Case
from replies.models import Reply
from replies.services import reply_receive
from tests.admin.helpers import assert_bounded_changelist

from .helpers import inbound

pytestmark = pytest.mark.django_db

PAID = "Die Rechnung R-2025-0042 habe ich bereits letzte Woche überwiesen."


def notes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def proposed(case):
    reply, _ = reply_receive(inbound=inbound(PAID))
    assert reply.status == Reply.Status.PROPOSED
    return reply


def test_the_clerk_confirms_the_pause_in_one_click(
    client, clerk, proposed, case, today
):
    client.force_login(clerk)
    page = client.get(reverse("admin:replies_reply_change", args=[proposed.pk]))
    until = today + timedelta(days=14)
    label = f"Confirm: pause until {until}"
    assert label in page.content.decode()
    assert reverse("admin:dunning_case_change", args=[case.pk]) in page.content.decode()

    # The one click posts the form as the page filled it in.
    form = page.context["confirm_form"]
    data = {name: form[name].value() for name in form.fields}
    response = client.post(
        reverse("admin:replies_reply_confirm", args=[proposed.pk]), data
    )

    assert response.status_code == 302
    assert notes(response) == [
        f"Reply {proposed.pk}: paused case(s) {case.pk} until {until} (user:{clerk.pk})"
    ]
    case.refresh_from_db()
    assert (case.state, case.paused_until) == (Case.State.PAUSED, until)
    assert Reply.objects.get(pk=proposed.pk).status == Reply.Status.CONFIRMED


def test_a_refusal_by_the_case_service_is_shown(client, clerk, proposed, today):
    client.force_login(clerk)

    response = client.post(
        reverse("admin:replies_reply_confirm", args=[proposed.pk]),
        {"until": today.isoformat()},
    )

    assert notes(response) == [
        f"Not confirmed: A pause must end after today, not on {today}."
    ]
    assert Reply.objects.get(pk=proposed.pk).status == Reply.Status.PROPOSED


def test_a_promise_is_proposed_with_the_open_amount_in_the_claims_decimals(
    client, clerk, case
):
    """The form holds the claim's open EUR 120 as "120.00", not "120.000000"."""
    reply, _ = reply_receive(inbound=inbound("I will pay the invoice soon, promise."))
    assert reply.proposed_action == Reply.Action.PROMISE
    client.force_login(clerk)

    page = client.get(reverse("admin:replies_reply_change", args=[reply.pk]))

    assert 'name="amount" value="120.00"' in page.content.decode()


def test_the_clerk_dismisses(client, clerk, proposed, case):
    client.force_login(clerk)

    client.post(
        reverse("admin:replies_reply_dismiss", args=[proposed.pk]),
        {"note": "paid into the wrong account"},
    )

    reply = Reply.objects.get(pk=proposed.pk)
    assert reply.status == Reply.Status.DISMISSED
    assert reply.outcome == f"paid into the wrong account (user:{clerk.pk})"
    assert Case.objects.get(pk=case.pk).state == Case.State.IN_DUNNING


def test_without_case_work_the_page_is_read_only(client, auditor, proposed, case):
    client.force_login(auditor)

    page = client.get(reverse("admin:replies_reply_change", args=[proposed.pk]))
    confirm = client.post(
        reverse("admin:replies_reply_confirm", args=[proposed.pk]), {"until": "x"}
    )

    assert page.status_code == 200
    assert "Confirm:" not in page.content.decode()
    assert confirm.status_code == 403
    assert Case.objects.get(pk=case.pk).state == Case.State.IN_DUNNING


def test_a_get_does_not_confirm(client, clerk, proposed):
    client.force_login(clerk)

    response = client.get(reverse("admin:replies_reply_confirm", args=[proposed.pk]))

    assert response.status_code == 405
    assert Reply.objects.get(pk=proposed.pk).status == Reply.Status.PROPOSED


def test_the_clerk_queue_is_the_list_filtered_to_in_queue(client, clerk, case):
    reply_receive(inbound=inbound(PAID))
    queued, _ = reply_receive(inbound=inbound("Interesting weather today."))
    client.force_login(clerk)

    page = client.get(reverse("admin:replies_reply_changelist"), {"status": "queued"})

    assert page.status_code == 200
    assert [r.pk for r in page.context["cl"].result_list] == [queued.pk]
    filters = {spec.title for spec in page.context["cl"].filter_specs}
    assert {"status", "intent", "channel"} <= filters


def test_the_list_asks_a_bounded_number_of_queries(
    client, clerk, case, django_assert_max_num_queries
):
    def add(n):
        for _ in range(n):
            reply = Reply.objects.create(
                channel="email",
                provider="generic",
                provider_message_id=uuid.uuid4().hex,
                sender="alice@example.com",
                received_at=timezone.now(),
                customer=case.customer,
                intent=Reply.Intent.ALREADY_PAID,
                confidence=0.9,
                status=Reply.Status.PROPOSED,
                proposed_action=Reply.Action.PAUSE,
            )
            reply.cases.add(case)

    client.force_login(clerk)
    assert_bounded_changelist(
        client,
        reverse("admin:replies_reply_changelist"),
        add,
        django_assert_max_num_queries,
    )
