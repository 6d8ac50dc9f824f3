"""A manager reads the results in the real Chromium."""

import os
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.portal.test_browser import chromium  # noqa: F401  (the browser fixture)
from tests.reports.conftest import PERIOD

SCREENSHOT = (
    Path(__file__).resolve().parents[2] / "docs" / "img" / "reports-results.png"
)

pytestmark = [
    pytest.mark.browser,
    # The live server runs in another thread: the test's data must be committed.
    pytest.mark.django_db(transaction=True),
]


def test_a_manager_reads_the_results(
    live_server,
    standard_plan,
    portfolio,
    chromium,  # noqa: F811
):
    from django.contrib.auth.models import Group, User

    from audit.roles import MANAGER

    manager = User.objects.create_user(
        "maria", password="a long passphrase", is_staff=True
    )
    manager.groups.add(Group.objects.get(name=MANAGER))
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requested, problems = [], []
    page.on("request", lambda r: requested.append(r.url))
    page.on(
        "console",
        lambda m: m.type == "error" and problems.append((m.text, m.location["url"])),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.get_by_label("Username").fill("maria")
    page.get_by_label("Password").fill("a long passphrase")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Results").click()
    page.goto(f"{page.url}?{urlencode(PERIOD)}")

    assert page.title().startswith("Results")
    eur = page.locator("#currency-EUR")
    assert "50.0 %" in eur.locator('[data-figure="collection_rate"]').inner_text()
    charts = page.locator("svg.report-chart")
    assert charts.count() == 4
    for n in range(4):
        box = charts.nth(n).bounding_box()
        assert box["width"] > 300 and box["height"] > 100
    assert page.locator("svg.report-chart rect").count() == 3 * 5
    # Every request went to the live server: no CDN, no font service.
    assert requested and all(url.startswith(live_server.url) for url in requested)
    # The browser asks for /favicon.ico by itself; the admin has none.
    assert [p for p in problems if not p[1].endswith("/favicon.ico")] == []
    if os.environ.get("SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    context.close()
