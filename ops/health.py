"""The checks behind /healthz: can the product work, and is it working.

"failed" (HTTP 503) means this instance cannot serve: its database or its
broker does not answer. "degraded" (HTTP 200) means it serves but something
needs an operator: the newest daily run failed or has not finished within
`DUNNING_RUN_MAX_HOURS` (its process was killed), no successful daily run for
`HEALTH_RUN_MAX_AGE_HOURS`, failed tasks in the last 24 hours, or a queue
longer than `HEALTH_QUEUE_MAX`.
A load balancer keeps a degraded instance; monitoring alerts on the status.

The public answer names each check's status and a fixed reason; the error
texts, ages and counts are for staff (or the `HEALTH_TOKEN`) only, since a
database error can name hosts and users.
"""

import functools
import logging
import subprocess
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connections
from django.utils import timezone

logger = logging.getLogger(__name__)

OK, DEGRADED, FAILED = "ok", "degraded", "failed"
_RANK = {OK: 0, DEGRADED: 1, FAILED: 2}


@dataclass
class Check:
    status: str = OK
    reason: str = ""
    detail: dict = field(default_factory=dict)


def database() -> Check:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:
        logger.exception("health: database check failed")
        return Check(FAILED, "database unreachable", {"error": _error(error)})
    return Check()


def broker() -> Check:
    """The queue django-q2 takes tasks from: its table, or Redis."""
    cluster = settings.Q_CLUSTER
    list_key = cluster.get("cluster_name", cluster.get("name", "default"))
    try:
        if cluster.get("redis"):
            import redis

            client = redis.Redis.from_url(
                cluster["redis"], socket_timeout=2, socket_connect_timeout=2
            )
            client.ping()
            depth = client.llen(f"django_q:{list_key}:q")
            kind = "redis"
        else:
            from django_q.models import OrmQ

            depth = (
                OrmQ.objects.using(cluster.get("orm", "default"))
                .filter(key=list_key, lock__lte=timezone.now())
                .count()
            )
            kind = "orm"
    except Exception as error:
        logger.exception("health: broker check failed")
        return Check(FAILED, "broker unreachable", {"error": _error(error)})

    detail = {"kind": kind, "queued": depth, "max": settings.HEALTH_QUEUE_MAX}
    if depth > settings.HEALTH_QUEUE_MAX:
        return Check(DEGRADED, "queue too long", detail)
    return Check(detail=detail)


def dunning_run() -> Check:
    """The newest daily run, and the last one that finished successfully; the
    API's real-time dunning of single claims also writes runs, with a shorter
    summary, and does not count."""
    from django_q.models import Schedule

    from dunning.models import Run

    try:
        runs = Run.objects.filter(dry_run=False, summary__has_key="claims_examined")
        # Runs are created as they start: the highest id started last.
        newest = runs.order_by("-id").only("started_at", "finished_at", "error").first()
        last = (
            runs.filter(finished_at__isnull=False, error="")
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
        scheduled = (
            Schedule.objects.filter(func="dunning.tasks.run_daily")
            .exclude(repeats=0)
            .exists()
        )
    except Exception as error:
        logger.exception("health: run check failed")
        return Check(FAILED, "runs unreadable", {"error": _error(error)})

    now = timezone.now()
    max_age = timedelta(hours=settings.HEALTH_RUN_MAX_AGE_HOURS)
    newest_status = newest.status(now) if newest else None
    detail = {
        "finished_at": last.isoformat() if last else None,
        "age_seconds": int((now - last).total_seconds()) if last else None,
        "max_age_seconds": int(max_age.total_seconds()),
        "scheduled": scheduled,
        "newest": None,
        "max_running_seconds": settings.DUNNING_RUN_MAX_HOURS * 3600,
    }
    if newest:
        detail["newest"] = {
            "id": newest.pk,
            "status": newest_status,
            "started_at": newest.started_at.isoformat(),
            "error": newest.error[:300],
        }
    # A failed or killed run is a fault whether or not the schedule started it.
    if newest_status == Run.Status.FAILED:
        return Check(DEGRADED, "last run failed", detail)
    if newest_status == Run.Status.UNFINISHED:
        return Check(DEGRADED, "last run did not finish", detail)
    if not scheduled:
        # Without the schedule nobody expects a run; a missing one is no fault.
        return Check(detail=detail)
    if last is None:
        return Check(DEGRADED, "no successful run yet", detail)
    if now - last > max_age:
        return Check(DEGRADED, "last successful run is stale", detail)
    return Check(detail=detail)


def failed_tasks() -> Check:
    from django_q.models import Failure

    since = timezone.now() - timedelta(hours=24)
    try:
        count = Failure.objects.filter(stopped__gte=since).count()
    except Exception as error:
        logger.exception("health: task check failed")
        return Check(FAILED, "tasks unreadable", {"error": _error(error)})
    detail = {"last_24h": count}
    if count:
        return Check(DEGRADED, "tasks failed in the last 24 hours", detail)
    return Check(detail=detail)


CHECKS = {
    "database": database,
    "broker": broker,
    "dunning_run": dunning_run,
    "failed_tasks": failed_tasks,
}


def report(*, verbose: bool) -> dict:
    results = {name: check() for name, check in CHECKS.items()}
    status = max((r.status for r in results.values()), key=_RANK.__getitem__)
    checks = {}
    for name, result in results.items():
        entry = {"status": result.status}
        if result.reason:
            entry["reason"] = result.reason
        if verbose:
            entry.update(result.detail)
        checks[name] = entry
    answer = {"status": status, "checks": checks}
    if verbose:
        answer["version"] = version()
    return answer


@functools.cache
def version() -> str:
    """APP_VERSION as the build set it, else what git says of this checkout."""
    if settings.APP_VERSION:
        return settings.APP_VERSION
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=2,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return described.stdout.strip() or "unknown"


def _error(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:300]
