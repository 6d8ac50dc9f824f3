"""A three-variant wording experiment with a 10 % holdout over a simulated
month: the run day by day, a seeded responder that pays by the wording it
read, and the per-arm results on the experiment's admin page."""

from collections import Counter
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.urls import reverse

from audit.roles import MANAGER
from experiments.models import Assignment, Experiment
from experiments.month import (
    experiment_create,
    month_replay,
    portfolio_seed,
    wordings_add,
)
from experiments.results import experiment_results
from messaging.models import Message

pytestmark = pytest.mark.django_db

DEBTORS = 300
FIRST_DAY = date(2025, 3, 3)
DAYS = 30
WINDOW = 14


def test_a_month_of_a_wording_experiment_with_a_holdout(client, creditor):
    wordings_add()
    portfolio_seed(creditor=creditor, debtors=DEBTORS, first_day=FIRST_DAY, seed=3)
    experiment = experiment_create(window_days=WINDOW, salt="a-simulated-month")

    month_replay(experiment=experiment, first_day=FIRST_DAY, days=DAYS, seed=6)

    # The figures computed here from the database, independently of the
    # experiment's own queries.
    assignments = list(
        Assignment.objects.filter(experiment=experiment).select_related(
            "arm", "decision__message"
        )
    )
    expected = {}
    for key in ["a", "b", "c", "holdout"]:
        mine = [a for a in assignments if (a.arm.key if a.arm else "holdout") == key]
        converted = 0
        for assignment in mine:
            message = assignment.decision.message
            claims = [item.invoice for item in message.items.all()]
            end = message.action_date + timedelta(days=WINDOW)
            converted += all(c.status == "paid" and c.settled_on <= end for c in claims)
        sent = Message.objects.filter(
            customer__in=[a.customer_id for a in mine],
            status="sent",
            items__action="reminder",
        ).count()
        expected[key] = (len(mine), sent, converted)
    variants = Counter(a.decision.variant for a in assignments if a.arm is None)

    assert len(assignments) == DEBTORS
    assert variants == {"a": expected["holdout"][0]}
    assert 10 <= expected["holdout"][0] <= 55
    assert all(n >= 30 for n, _, _ in expected.values() if n != expected["holdout"][0])
    # Thompson sampling gave the best wording the most debtors.
    assert expected["c"][0] > max(expected["a"][0], expected["b"][0])

    manager = User.objects.create_user("mona", password="x", is_staff=True)
    manager.groups.add(Group.objects.get(name=MANAGER))
    client.force_login(manager)
    page = client.get(
        reverse("admin:experiments_experiment_change", args=[experiment.pk])
    )
    listing = client.get(reverse("admin:experiments_experiment_changelist"))

    html = page.content.decode()
    assert page.status_code == 200
    for key, (assigned, sent, converted) in expected.items():
        label = "Holdout (standard)" if key == "holdout" else f"Variant {key}"
        value = "standard" if key == "holdout" else key
        row = (
            f'<tr class="arm-{key}"><td>{label}</td><td>{value}</td>'
            f"<td>{assigned}</td><td>{sent}</td><td>{converted}</td>"
        )
        assert row in html
    results = experiment_results(experiment)
    assert results.leader.key == "c"
    assert "Variant c (P(best)" in listing.content.decode()
    rates = {r.key: r.rate for r in results.rows}
    assert rates["c"] == max(rates.values())


def test_the_command_runs_the_month_in_a_scratch_database(tmp_path, capfd):
    """The live database is not touched; the output names the leader and how
    to open the results in the admin."""
    scratch = tmp_path / "month.sqlite3"

    call_command(
        "experiment_month", f"--database={scratch}", "--debtors=60", "--days=12"
    )

    out = capfd.readouterr().out
    assert scratch.exists()
    assert not Experiment.objects.exists()
    assert "60 debtors" in out
    assert "Holdout (standard)" in out
    assert "leader: Variant" in out
    assert f"DATABASE_URL=sqlite:///{scratch}" in out
    # The simulated e-mails are filed beside the scratch database.
    assert list((tmp_path / "month-outbox" / "email").iterdir())
