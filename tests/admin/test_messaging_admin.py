from datetime import date

import pytest
from django.urls import reverse

from tests.admin.helpers import (
    assert_bounded_changelist,
    open_case,
    send_message,
    take_step,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def message(alice, make_invoice):
    case = open_case(make_invoice(alice, amount="75.50", number="R-3"))
    return send_message(take_step(case, 2, date(2025, 3, 17)), channel="email")


def test_the_message_page_shows_items_content_and_decision(admin_client, message):
    """Everything needed to explain the message, read only."""
    response = admin_client.get(
        reverse("admin:messaging_message_change", args=[message.pk])
    )

    html = response.content.decode()
    assert response.status_code == 200
    # The item: claim, level and amount at planning.
    assert "R-3" in html
    assert "€75.50" in html
    # The body is shown as text, not rendered.
    assert "&lt;p&gt;Please pay&lt;/p&gt;" in html
    # The decision behind it.
    assert "bank_transfer, card" in html
    assert "reads e-mail within a day" in html
    assert "&quot;email&quot;: 0.71" in html
    assert "rules-1" in html
    assert 'name="_save"' not in html


def test_the_message_list_filters_by_channel(
    admin_client, message, alice, make_invoice
):
    case = open_case(make_invoice(alice, number="R-4"))
    letter = send_message(take_step(case, 1, date(2025, 3, 6)), channel="letter")

    response = admin_client.get(
        reverse("admin:messaging_message_changelist"), {"channel__exact": "letter"}
    )

    assert list(response.context["cl"].result_list) == [letter]


def test_the_message_list_runs_a_fixed_number_of_queries(
    admin_client, alice, bob_ltd, make_invoice, django_assert_max_num_queries
):
    def add(count):
        for n in range(count):
            case = open_case(make_invoice(alice if n % 2 else bob_ltd))
            send_message(take_step(case, 1, date(2025, 3, 6)))

    assert_bounded_changelist(
        admin_client,
        reverse("admin:messaging_message_changelist"),
        add,
        django_assert_max_num_queries,
    )


def test_a_decision_is_read_only(admin_client, message):
    url = reverse("admin:personalisation_decision_change", args=[message.decision_id])

    page = admin_client.get(url)
    refused = admin_client.post(url, {"tone": "firm"})

    assert page.status_code == 200
    assert "reads e-mail within a day" in page.content.decode()
    assert refused.status_code == 403
    message.decision.refresh_from_db()
    assert message.decision.tone == "neutral"
