"""Starting and stopping experiments.

Both lock the row and change it with a conditional status, so two managers
pressing the button at once change it once; the experiment's history
(django-simple-history) keeps who and when, besides `started_by` and
`stopped_by`.
"""

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from experiments.models import Experiment

logger = logging.getLogger(__name__)

Status = Experiment.Status


class ExperimentError(ValueError):
    """Refused: nothing was changed."""


def start_problems(experiment: Experiment) -> list[str]:
    """Why the experiment cannot start, or an empty list."""
    problems = []
    arms = list(experiment.arms.all())
    if len(arms) < 2 and not (arms and experiment.holdout_percent > 0):
        problems.append("it needs two arms, or one arm and a holdout")
    for arm in arms:
        error = arm.value_error(experiment.decides)
        if error:
            problems.append(f"arm {arm.key}: {error}")
    if experiment.max_sample < experiment.min_sample:
        problems.append("the maximum sample is below the minimum sample")
    # One experiment per decision: overlapping scopes would fight over it.
    others = Experiment.objects.filter(status=Status.RUNNING).exclude(pk=experiment.pk)
    if experiment.creditor_id is not None:
        others = others.filter(
            Q(creditor__isnull=True) | Q(creditor_id=experiment.creditor_id)
        )
    for other in others:
        same_step = (
            not other.step_id
            or not experiment.step_id
            or (other.step_id == experiment.step_id)
        )
        same_action = (
            not other.action
            or not experiment.action
            or (other.action == experiment.action)
        )
        if same_step and same_action:
            problems.append(f"its scope overlaps the running experiment {other.name}")
    return problems


def experiment_start(*, experiment_id: int, actor: str) -> Experiment:
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment_id)
        if experiment.status != Status.DRAFT:
            raise ExperimentError(f"{experiment.name} is {experiment.status}")
        problems = start_problems(experiment)
        if problems:
            raise ExperimentError(f"{experiment.name}: {'; '.join(problems)}")
        experiment.status = Status.RUNNING
        experiment.started_at = timezone.now()
        experiment.started_by = actor
        experiment.save()
    logger.info("experiment %s started by %s", experiment.pk, actor)
    return experiment


def experiment_stop(*, experiment_id: int, actor: str, reason: str = "") -> Experiment:
    """Stop assigning; debtors already assigned get the standard answer from
    the next decision on, and the results keep counting their outcomes."""
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment_id)
        if experiment.status != Status.RUNNING:
            raise ExperimentError(f"{experiment.name} is {experiment.status}")
        experiment.status = Status.STOPPED
        experiment.stopped_at = timezone.now()
        experiment.stopped_by = actor
        experiment.stop_reason = reason[:300]
        experiment.save()
    logger.info("experiment %s stopped by %s", experiment.pk, actor)
    return experiment
