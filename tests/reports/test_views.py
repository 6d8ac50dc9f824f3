"""The results page in the admin: who sees it, what it shows, what it costs."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.admin.helpers import open_case, send_message, take_step
from tests.reports.conftest import PERIOD, pay

pytestmark = pytest.mark.django_db

URL = "/admin/reports/results/"
SVG = re.compile(r"<svg [^>]*class=\"report-chart\".*?</svg>", re.S)


def get(client, user, params=PERIOD):
    client.force_login(user)
    return client.get(URL, params)


def test_the_page_lives_under_admin_reports(manager):
    assert reverse("admin:reports_results_changelist") == URL


def test_a_manager_finds_the_page_on_the_admin_index(client, manager):
    client.force_login(manager)

    response = client.get(reverse("admin:index"))

    assert f'href="{URL}"' in response.content.decode()


@pytest.mark.parametrize("role", ["manager", "auditor"])
def test_managers_and_auditors_see_the_results(client, request, role, portfolio):
    response = get(client, request.getfixturevalue(role))

    assert response.status_code == 200
    assert "Collection rate" in response.content.decode()


def test_a_clerk_is_refused_and_does_not_see_the_link(client, clerk):
    """Clerks work cases; the results are for managers and auditors."""
    assert get(client, clerk).status_code == 403

    index = client.get(reverse("admin:index")).content.decode()
    assert URL not in index


def test_anyone_not_logged_in_is_sent_to_the_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_the_page_shows_the_figures_per_currency(client, manager, portfolio):
    html = get(client, manager).content.decode()

    eur = html.split('id="currency-EUR"')[1].split("</section>")[0]
    gbp = html.split('id="currency-GBP"')[1].split("</section>")[0]
    assert 'data-figure="collection_rate">50.0 %<' in eur
    assert 'data-figure="count_rate">50.0 %<' in eur
    assert 'data-figure="dso">105.4 days<' in eur
    assert 'data-figure="collected">€600.00<' in eur
    assert 'data-figure="cost_per_unit">0.0020 EUR per EUR collected<' in eur
    assert 'data-figure="collection_rate">0.0 %<' in gbp
    assert 'data-figure="dso">72.3 days<' in gbp
    assert 'data-figure="cost_per_unit">—<' in gbp
    assert re.search(
        r'data-bucket="1–30"><td>1–30</td><td class="num">£400.00</td>'
        r'<td class="num">1</td>',
        gbp,
    )
    assert "27.3 / 10.0" in html


def test_every_figure_carries_its_definition(client, manager, portfolio):
    from reports.views import DEFINITIONS

    html = get(client, manager).content.decode()

    for text in DEFINITIONS.values():
        escaped = text.replace("'", "&#x27;")
        assert f'title="{escaped}"' in html
        assert f"<dd>{escaped}</dd>" in html


def test_the_currency_filter_leaves_the_other_currency_out(client, manager, portfolio):
    html = get(client, manager, {**PERIOD, "currency": "GBP"}).content.decode()

    assert 'id="currency-GBP"' in html
    assert 'id="currency-EUR"' not in html


def test_the_default_period_is_the_last_90_days(client, manager, monkeypatch):
    monkeypatch.setattr(
        "django.utils.timezone.now", lambda: datetime(2025, 3, 31, 10, tzinfo=UTC)
    )

    response = get(client, manager, {})

    scope = response.context["scope"]
    assert (scope.date_from, scope.date_to) == (date(2025, 1, 1), date(2025, 3, 31))


def test_a_period_that_ends_before_it_starts_is_refused(client, manager):
    response = get(
        client, manager, {"date_from": "2025-03-31", "date_to": "2025-03-01"}
    )

    assert response.status_code == 200
    assert "The period ends before it starts." in response.content.decode()
    assert "scope" not in response.context


def test_the_charts_are_well_formed_svg(client, manager, portfolio):
    html = get(client, manager).content.decode()

    charts = [ET.fromstring(svg) for svg in SVG.findall(html)]

    # Aging per currency, collections for EUR (GBP collected nothing), funnel.
    assert len(charts) == 4
    ns = "{http://www.w3.org/2000/svg}"
    titles = [chart.find(f"{ns}title").text for chart in charts]
    assert titles == [
        "Aging of open EUR balances",
        "EUR collected per week",
        "Aging of open GBP balances",
        "Funnel of the messages sent",
    ]
    funnel = charts[-1]
    bars = funnel.findall(f".//{ns}rect")
    assert [bar.find(f"{ns}title").text for bar in bars] == [
        "sent: 3 (100.0 %)",
        "opened: 2 (66.7 %)",
        "clicked: 1 (33.3 %)",
        "visited: 1 (33.3 %)",
        "paid: 1 (33.3 %)",
    ]
    heights = [Decimal(bar.get("height")) for bar in bars]
    assert heights[0] > heights[1] > heights[2] == heights[4] > 0
    weeks = charts[1].findall(f".//{ns}circle")
    assert len(weeks) == 6


def test_the_page_loads_nothing_from_elsewhere(client, manager, portfolio):
    """No CDN, no external script, style sheet, font or image."""
    html = get(client, manager).content.decode()

    links = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)', html)
    links += re.findall(r"url\(\s*['\"]?([^)'\"]*)", html)
    assert links
    assert not [link for link in links if re.match(r"(https?:)?//", link)]
    assert "@import" not in html


def _more_of_everything(alice, make_invoice, n: int, start: int) -> None:
    """n more claims in dunning, each with a message, a payment and an event."""
    from delivery.models import DeliveryEvent

    for k in range(start, start + n):
        claim = make_invoice(
            alice, "10.00", date(2025, 2, 1) + timedelta(days=k % 20), number=f"X{k}"
        )
        case = open_case(claim, opened_on=date(2025, 3, 1) + timedelta(days=k % 20))
        message = send_message(
            take_step(case, 1, case.opened_on), channel=["email", "sms"][k % 2]
        )
        DeliveryEvent.objects.create(
            message=message,
            kind="opened",
            provider="test",
            occurred_at=datetime(2025, 3, 25, tzinfo=UTC),
        )
        pay(claim, "4.00", date(2025, 3, 28))


def test_the_number_of_queries_does_not_grow_with_the_data(
    client, manager, portfolio, alice, make_invoice, django_assert_max_num_queries
):
    """Session and permissions, the filter's lists, the figures and one read
    of the channel costs for every creditor that sent messages."""
    client.force_login(manager)
    client.get(URL, PERIOD)
    with CaptureQueriesContext(connection) as small:
        assert client.get(URL, PERIOD).status_code == 200
    assert len(small) <= 17

    _more_of_everything(alice, make_invoice, 30, 0)

    with django_assert_max_num_queries(len(small)):
        response = client.get(URL, PERIOD)
    assert response.context["funnel"]["total"]["cells"][0][0] == 33
