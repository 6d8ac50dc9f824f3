"""Changes to dunning cases, and the daily run that takes the steps that are due."""

import logging

from django.db import transaction
from django.utils import timezone

from dunning.models import Case

logger = logging.getLogger(__name__)


def _save_transition(case: Case, method: str, *, actor: str, description: str = ""):
    """Call an FSM transition on a locked row and save it in the same transaction."""
    getattr(case, method)(by=None, description=description or None)
    case.save()


@transaction.atomic
def cases_close_settled(*, invoice_ids, actor: str) -> int:
    """Close the live cases of claims that are settled (paid or credited to zero)."""
    closed = 0
    cases = Case.objects.select_for_update().filter(
        invoice_id__in=list(invoice_ids), state__in=Case.LIVE
    )
    for case in cases:
        case.close_paid(description=f"settled ({actor})")
        case.closed_at = timezone.now()
        case.save()
        closed += 1
    if closed:
        logger.info("closed %d settled cases", closed)
    return closed


@transaction.atomic
def case_transition(
    *, case_id: int, transition: str, actor: str, description: str = ""
):
    """Run one FSM transition on a locked case; a concurrent change raises."""
    case = Case.objects.select_for_update().get(pk=case_id)
    _save_transition(case, transition, actor=actor, description=description)
    return case
