"""django-q2 entry points; they take ids and dates, never model instances."""

from django.utils import timezone

from messaging import services


def dispatch_due() -> dict:
    """The "messages-dispatch" schedule: send what is due as of now, helped by
    `DISPATCH_WORKERS` - 1 more tasks when more than a batch is due."""
    now = timezone.now()
    services.dispatch_helpers_queue(now=now)
    return services.dispatch_due(now=now, actor="system:schedule")


def dispatch_help(now: str) -> dict:
    """A helper of the scheduled dispatch: the backlog due at `now` (ISO)."""
    from datetime import datetime

    return services.dispatch_due(
        now=datetime.fromisoformat(now), actor="system:schedule"
    )


def print_batch_daily() -> dict:
    """The "letters-print-batch" schedule: yesterday's letters in one batch.

    Run early in the morning for the day before, when no more letters of that
    day can go out; "yesterday" is the cluster's local date.
    """
    from datetime import timedelta

    from messaging.print_batch import print_batch_build

    on_date = timezone.localdate() - timedelta(days=1)
    batch = print_batch_build(on_date=on_date, actor="system:schedule")
    return {"date": on_date.isoformat(), "letters": batch.letters, "pages": batch.pages}
