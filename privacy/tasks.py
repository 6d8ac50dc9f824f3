"""django-q2 entry points of the privacy app."""

from privacy.retention import retention_erase


def retention_daily() -> dict[str, int]:
    return retention_erase()
