"""The experiments admin: start and stop as actions with their audit trail,
a read-only set-up once started, and a list whose queries do not grow."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from audit.roles import AUDITOR, MANAGER
from experiments.models import Experiment
from experiments.services import ExperimentError, experiment_start

pytestmark = pytest.mark.django_db

LIST = reverse("admin:experiments_experiment_changelist")


def staff(client, username, role):
    user = User.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return user


@pytest.fixture
def manager(client):
    return staff(client, "mona", MANAGER)


def act(client, action, *experiments):
    return client.post(
        LIST,
        {"action": action, "_selected_action": [e.pk for e in experiments]},
        follow=True,
    )


def test_a_manager_starts_and_stops_an_experiment_with_history(
    client, manager, make_experiment
):
    experiment = make_experiment(status="draft")

    started = act(client, "start", experiment)
    experiment.refresh_from_db()
    running_since = experiment.started_at
    stopped = act(client, "stop", experiment)
    experiment.refresh_from_db()

    assert "1 experiment(s) started." in started.content.decode()
    assert "1 experiment(s) stopped." in stopped.content.decode()
    assert experiment.status == "stopped"
    assert running_since is not None and experiment.stopped_at >= running_since
    assert experiment.started_by == experiment.stopped_by == f"user:{manager.pk}"
    history = list(experiment.history.order_by("history_date"))
    assert [h.status for h in history] == ["draft", "running", "stopped"]
    assert history[-1].history_user == manager


def test_starting_twice_or_stopping_a_draft_is_refused(
    client, manager, make_experiment
):
    running = make_experiment("Running")
    draft = make_experiment("Draft", status="draft")

    response = act(client, "start", running)
    act(client, "stop", draft)

    assert "Running is running" in response.content.decode()
    assert Experiment.objects.get(pk=draft.pk).status == "draft"


def test_an_experiment_needs_valid_arms_and_its_own_scope(make_experiment):
    make_experiment("Reminders", action="reminder")
    overlapping = make_experiment("All steps", status="draft")
    bad = make_experiment(
        "Bad channel",
        status="draft",
        decides="channel",
        arms=["fax", "sms"],
        action="notice",
    )

    with pytest.raises(ExperimentError, match="overlaps the running experiment"):
        experiment_start(experiment_id=overlapping.pk, actor="test")
    with pytest.raises(ExperimentError, match="arm fax: a channel is one of"):
        experiment_start(experiment_id=bad.pk, actor="test")


def test_an_auditor_reads_but_cannot_start(client, make_experiment):
    staff(client, "audrey", AUDITOR)
    experiment = make_experiment(status="draft")

    page = client.get(
        reverse("admin:experiments_experiment_change", args=[experiment.pk])
    )
    act(client, "start", experiment)

    assert page.status_code == 200
    assert "keep running: n &lt; 200" in page.content.decode()
    assert Experiment.objects.get(pk=experiment.pk).status == "draft"


def test_a_started_experiments_set_up_is_read_only(client, manager, make_experiment):
    experiment = make_experiment()

    page = client.get(
        reverse("admin:experiments_experiment_change", args=[experiment.pk])
    )

    form = page.context["adminform"].form
    assert "holdout_percent" not in form.fields
    assert "arms-0-value" not in page.content.decode()


def test_the_list_asks_as_many_queries_for_twenty_experiments_as_for_two(
    client, manager, make_experiment, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(2):
        make_experiment(f"E{n}", creditor=None, action="reminder" if n else "notice")
    client.get(LIST)
    with CaptureQueriesContext(connection) as two:
        client.get(LIST)

    for n in range(2, 20):
        make_experiment(f"E{n}", status="stopped")
    with django_assert_max_num_queries(len(two)):
        response = client.get(LIST)

    assert response.context["cl"].result_count == 20
    assert "Stop rule" in response.content.decode()
