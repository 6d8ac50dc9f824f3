"""The health endpoint: public status, staff detail, and each failure it reports."""

import shutil
import socket
import subprocess
import time
import uuid
from datetime import date, timedelta

import pytest
from django.db.utils import ConnectionHandler
from django.utils import timezone
from django_q.models import OrmQ, Schedule, Task

from dunning.models import Run
from dunning.run import run_dunning
from ops import health

FULL_RUN = {"claims_examined": 12, "steps_taken": {}, "messages": {}}


def finished_run(hours_ago: float, summary=FULL_RUN) -> Run:
    run = Run.objects.create(actor="system:schedule", summary=summary)
    Run.objects.filter(pk=run.pk).update(
        finished_at=timezone.now() - timedelta(hours=hours_ago)
    )
    return run


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user(
        "olga", password="operator-pass-1", is_staff=True
    )


@pytest.mark.django_db
def test_it_is_healthy_with_a_recent_run(client):
    assert Schedule.objects.filter(name="dunning-daily-run").exists()
    finished_run(hours_ago=2)

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    body = response.json()
    assert body["status"] == "ok"
    assert {name: c["status"] for name, c in body["checks"].items()} == {
        "database": "ok",
        "broker": "ok",
        "dunning_run": "ok",
        "failed_tasks": "ok",
    }


@pytest.mark.django_db
def test_it_tells_anonymous_callers_no_details(client):
    finished_run(hours_ago=2)

    body = client.get("/healthz?verbose").json()

    assert "version" not in body
    assert body["checks"]["broker"] == {"status": "ok"}
    assert body["checks"]["dunning_run"] == {"status": "ok"}


@pytest.mark.django_db
def test_it_shows_details_to_staff(client, staff):
    run = finished_run(hours_ago=2)
    OrmQ.objects.create(key="dunning", payload="x", lock=timezone.now())
    client.force_login(staff)

    body = client.get("/healthz?verbose").json()

    assert body["version"]
    assert body["checks"]["broker"]["kind"] == "orm"
    assert body["checks"]["broker"]["queued"] == 1
    run.refresh_from_db()
    assert body["checks"]["dunning_run"]["finished_at"] == run.finished_at.isoformat()
    assert 7100 < body["checks"]["dunning_run"]["age_seconds"] < 7300


@pytest.mark.django_db
def test_it_shows_details_to_the_health_token(client, settings):
    settings.HEALTH_TOKEN = "monitor-secret"
    finished_run(hours_ago=2)

    wrong = client.get("/healthz?verbose", HTTP_AUTHORIZATION="Bearer nope").json()
    right = client.get(
        "/healthz?verbose", HTTP_AUTHORIZATION="Bearer monitor-secret"
    ).json()

    assert "version" not in wrong
    assert right["checks"]["failed_tasks"] == {"status": "ok", "last_24h": 0}


@pytest.mark.django_db
def test_a_stale_run_is_degraded_but_serving(client):
    finished_run(hours_ago=27)

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["dunning_run"] == {
        "status": "degraded",
        "reason": "last successful run is stale",
    }


@pytest.mark.django_db
def test_the_api_s_real_time_runs_do_not_count_as_the_daily_run(client):
    finished_run(hours_ago=1, summary={"steps_taken": 3, "messages": 1})

    body = client.get("/healthz").json()

    assert body["checks"]["dunning_run"]["reason"] == "no successful run yet"


@pytest.mark.django_db
def test_without_the_daily_schedule_no_run_is_expected(client):
    Schedule.objects.filter(func="dunning.tasks.run_daily").delete()

    body = client.get("/healthz").json()

    assert body["checks"]["dunning_run"] == {"status": "ok"}


@pytest.mark.django_db
def test_a_failed_task_of_the_last_day_is_degraded(client):
    finished_run(hours_ago=1)
    now = timezone.now()
    Task.objects.create(
        id=uuid.uuid4().hex,
        name="daily",
        func="dunning.tasks.run_daily",
        started=now - timedelta(minutes=2),
        stopped=now - timedelta(minutes=1),
        success=False,
    )

    body = client.get("/healthz").json()

    assert body["status"] == "degraded"
    assert body["checks"]["failed_tasks"]["status"] == "degraded"


@pytest.mark.django_db
def test_a_long_queue_is_degraded(client, settings):
    settings.HEALTH_QUEUE_MAX = 1
    finished_run(hours_ago=1)
    for _ in range(2):
        OrmQ.objects.create(key="dunning", payload="x", lock=timezone.now())

    body = client.get("/healthz").json()

    assert body["checks"]["broker"] == {
        "status": "degraded",
        "reason": "queue too long",
    }


@pytest.mark.django_db
def test_an_unreachable_redis_broker_fails_with_the_reason(client, settings, staff):
    finished_run(hours_ago=1)
    # Nothing listens on port 1: the connection is refused at once.
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": "redis://127.0.0.1:1/0"}

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failed"
    assert body["checks"]["broker"] == {
        "status": "failed",
        "reason": "broker unreachable",
    }
    client.force_login(staff)
    detail = client.get("/healthz?verbose").json()["checks"]["broker"]
    assert detail["error"].startswith("ConnectionError")
    assert "Connection refused" in detail["error"]


@pytest.mark.django_db
def test_an_unreachable_database_fails(client, monkeypatch):
    finished_run(hours_ago=1)
    # A real connection attempt to a port where no PostgreSQL listens.
    broken = ConnectionHandler(
        {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "HOST": "127.0.0.1",
                "PORT": "1",
                "NAME": "dunning",
                "USER": "postgres",
            }
        }
    )
    monkeypatch.setattr(health, "connections", broken)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {
        "status": "failed",
        "reason": "database unreachable",
    }


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.django_db
def test_a_running_redis_broker_is_pinged_and_its_queue_counted(
    client, settings, staff, redis_url
):
    import redis

    finished_run(hours_ago=1)
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": redis_url}
    redis.Redis.from_url(redis_url).rpush("django_q:dunning:q", "a", "b", "c")
    client.force_login(staff)

    response = client.get("/healthz?verbose")

    assert response.status_code == 200
    broker = response.json()["checks"]["broker"]
    assert broker == {"status": "ok", "kind": "redis", "queued": 3, "max": 1000}


# -- A run that crashed or was killed ------------------------------------------

RUN_DATE = date(2025, 3, 6)


@pytest.fixture
def overdue_claim(alice, make_invoice):
    """A claim whose first step is due on RUN_DATE."""
    return make_invoice(alice, due_on=date(2025, 3, 3))


def during_the_run(monkeypatch, action):
    """Call `action` with the run's row while the run decides its first
    message, then let the run go on."""
    from personalisation.services import decide

    def deciding(*args, **kwargs):
        action(Run.objects.order_by("-id").first())
        return decide(*args, **kwargs)

    monkeypatch.setattr("dunning.run.decide", deciding)


@pytest.mark.django_db
def test_a_run_whose_batch_raises_is_degraded_until_a_later_run_finishes(
    client, staff, overdue_claim, monkeypatch
):
    finished_run(hours_ago=20)

    def fail(run):
        raise RuntimeError("decision service down")

    during_the_run(monkeypatch, fail)
    with pytest.raises(RuntimeError):
        run_dunning(actor="system:schedule", run_date=RUN_DATE)
    failed = Run.objects.order_by("-id").first()

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["dunning_run"] == {
        "status": "degraded",
        "reason": "last run failed",
    }
    client.force_login(staff)
    detail = client.get("/healthz?verbose").json()["checks"]["dunning_run"]
    assert detail["newest"]["id"] == failed.pk
    assert detail["newest"]["status"] == "failed"
    assert detail["newest"]["error"] == "RuntimeError: decision service down"

    monkeypatch.undo()
    run_dunning(actor="system:schedule", run_date=RUN_DATE)

    assert client.get("/healthz").json()["status"] == "ok"


@pytest.mark.django_db
def test_a_run_in_progress_within_its_time_is_ok(
    client, staff, overdue_claim, monkeypatch, settings
):
    settings.DUNNING_RUN_MAX_HOURS = 4
    finished_run(hours_ago=20)
    client.force_login(staff)
    seen = []

    def look(run):
        Run.objects.filter(pk=run.pk).update(
            started_at=timezone.now() - timedelta(hours=3.5)
        )
        seen.append(client.get("/healthz?verbose").json())

    during_the_run(monkeypatch, look)
    run_dunning(actor="system:schedule", run_date=RUN_DATE)

    assert seen[0]["status"] == "ok"
    assert seen[0]["checks"]["dunning_run"]["status"] == "ok"
    assert seen[0]["checks"]["dunning_run"]["newest"]["status"] == "running"


@pytest.mark.django_db
def test_a_run_unfinished_for_longer_than_it_can_take_is_degraded(
    client, staff, overdue_claim, monkeypatch, settings
):
    """A process killed mid-run leaves its row started and never ended; past
    DUNNING_RUN_MAX_HOURS the run counts as dead, until a later run finishes."""
    settings.DUNNING_RUN_MAX_HOURS = 4
    finished_run(hours_ago=20)

    def die(run):
        raise SystemExit(-9)

    # Killed: the process ends without a word to the database.
    during_the_run(monkeypatch, die)
    monkeypatch.setattr("dunning.run._run_failed", lambda *args: None)
    with pytest.raises(SystemExit):
        run_dunning(actor="system:schedule", run_date=RUN_DATE)
    killed = Run.objects.order_by("-id").first()
    Run.objects.filter(pk=killed.pk).update(
        started_at=timezone.now() - timedelta(hours=4.5)
    )

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["dunning_run"] == {
        "status": "degraded",
        "reason": "last run did not finish",
    }
    client.force_login(staff)
    detail = client.get("/healthz?verbose").json()["checks"]["dunning_run"]
    assert detail["newest"]["id"] == killed.pk
    assert detail["newest"]["status"] == "unfinished"
    assert detail["max_running_seconds"] == 4 * 3600

    monkeypatch.undo()
    run_dunning(actor="system:schedule", run_date=RUN_DATE)

    assert client.get("/healthz").json()["status"] == "ok"
