"""django-q2 entry points; they take ids and dates, never model instances."""

from django.utils import timezone

from delivery import services


def alerts_check() -> int:
    """The "delivery-failure-alerts" schedule: how many alerts it opened."""
    return len(services.alerts_check(now=timezone.now(), actor="system:schedule"))
