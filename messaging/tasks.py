"""django-q2 entry points; they take ids and dates, never model instances."""

from django.utils import timezone

from messaging import services


def dispatch_due() -> dict:
    """The "messages-dispatch" schedule: send what is due as of now."""
    return services.dispatch_due(now=timezone.now(), actor="system:schedule")
