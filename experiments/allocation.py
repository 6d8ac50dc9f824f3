"""Which arm a debtor gets, for the debtors of one batch of the run at once.

`ExperimentBook.load` reads the running experiments of the batch's creditor,
the batch's debtors' earlier assignments and, for Thompson sampling, the arms'
outcomes so far: a few queries per batch, none per debtor. `decide` asks
`allot` for each debtor and `Allotment.apply` changes the decision; after the
decisions are saved, `record` writes the new assignments in one insert.

A debtor keeps their place (sticky). New debtors: a hash of the experiment's
salt and the customer id puts a share of them in the holdout; the others get
an arm by weight (a second hash), or, once every arm has its burn-in of
assignments, by Thompson sampling: one draw from each arm's Beta posterior with
a generator seeded by the salt and the customer id, the highest draw wins.

Randomisation is not profiling: the hash uses nothing about the person, so a
debtor who objects to profiling stays in experiments. Thompson sampling learns
from outcomes; a creditor who switched learning off gets fixed weights, and
their debtors' outcomes are left out of the posteriors (docs/EXPERIMENTS.md).
"""

import hashlib
import random
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, Q

from experiments import results, stats
from experiments.models import Arm, Assignment, Experiment
from personalisation.services import Choice

Method = Assignment.Method


def unit(salt: str, purpose: str, customer_id: int) -> float:
    """A number in [0, 1) fixed by the salt, the purpose and the customer."""
    digest = hashlib.sha256(f"{salt}:{purpose}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def by_weight(arms: list[Arm], u: float) -> Arm:
    total = sum(arm.weight for arm in arms)
    point = u * float(total)
    for arm in arms:
        point -= float(arm.weight)
        if point < 0:
            return arm
    return arms[-1]


@dataclass
class Allotment:
    """One debtor's place in one experiment; `arm` None is the holdout."""

    experiment: Experiment
    arm: Arm | None
    method: str
    customer_id: int
    new: bool
    p_best: float | None = None
    posteriors: dict = field(default_factory=dict)
    decision: object = None
    # Why the arm's answer was not used, when it was not.
    note: str = ""

    @property
    def describe(self) -> str:
        name = self.experiment.name
        if self.arm is None:
            return f"in experiment {name}, holdout: the standard answer"
        if self.method == Method.THOMPSON and self.p_best is not None:
            how = f"Thompson, p={self.p_best:.2f}"
        elif self.method == Method.BURN_IN:
            how = "burn-in, by weight"
        else:
            how = "by weight"
        return f"in experiment {name}, arm {self.arm.key} ({how})"

    def channel(self, choice, action: str):
        """The arm's channel in place of the standard one, when reachable.

        A final notice keeps its letter (proof of dispatch) and the contact
        policy still places the message afterwards.
        """
        kind = self.experiment.decides
        if self.arm is None or kind != Experiment.Decides.CHANNEL:
            return choice
        wanted = self.arm.value
        if not isinstance(choice.scores.get(wanted), float):
            self.note = f"; arm {self.arm.key}'s {wanted} is not reachable, standard"
            return choice
        if action in ("final_notice", "handover") and choice.value == "letter":
            self.note = "; a final notice keeps its letter, standard"
            return choice
        return Choice(wanted, f"{self.describe}: {wanted}", choice.scores)

    def send_time(self, choice, customer, policy, now):
        """The arm's local hour on the standard answer's day, when the contact
        policy's hours and the debtor's own window allow it and it is still
        to come; the contact policy then places it like any other."""
        from core.calendar import wall_time
        from personalisation.services import allowed_window

        kind = self.experiment.decides
        if self.arm is None or kind != Experiment.Decides.SEND_HOUR:
            return choice
        hour, zone = self.arm.hour, customer.zone
        start, end, _ = allowed_window(customer, policy)
        if not start <= hour < end:
            self.note = (
                f"; arm {self.arm.key}'s {hour:%H:%M} is outside the allowed hours "
                f"{start:%H:%M}–{end:%H:%M}, standard"
            )
            return choice
        send_at = wall_time(choice.value.astimezone(zone).date(), hour, zone)
        if send_at < now:
            self.note = (
                f"; arm {self.arm.key}'s {hour:%H:%M} has passed today, standard"
            )
            return choice
        scores = {**choice.scores, "hour": hour.hour, "experiment": self.arm.key}
        return Choice(send_at, f"{self.describe}: {hour:%H:%M}", scores)

    def apply(self, decision) -> None:
        """Set the arm's answer on the decision and say why."""
        kind = self.experiment.decides
        if self.arm is not None and kind == Experiment.Decides.VARIANT:
            decision.variant = self.arm.value
        elif self.arm is not None and kind == Experiment.Decides.OFFER:
            decision.payment_options = self.arm.options
            decision.reasons["payment_options"] = (
                f"{self.describe}: {', '.join(self.arm.options)}"
            )
        decision.reasons["experiment"] = self.describe + self.note
        decision.scores["experiment"] = {
            "experiment": self.experiment.pk,
            "name": self.experiment.name,
            "decides": kind,
            "arm": self.arm.key if self.arm is not None else None,
            "method": self.method,
            "posteriors": self.posteriors,
        }
        self.decision = decision


class ExperimentBook:
    def __init__(self, experiments=(), existing=None, counts=None, thompson=None):
        # Lists and dicts shared by the whole batch; `existing` maps
        # (experiment id, customer id) to (arm id, method).
        self.experiments = list(experiments)
        self.arms = {e.pk: list(e.arms.all()) for e in self.experiments}
        self.existing = existing or {}
        self.counts = counts or Counter()
        # experiment id → {"alpha_beta": {arm id: (a, b)}, "p_best": {...}}
        self.thompson = thompson or {}
        self.allotted: list[Allotment] = []

    @classmethod
    def load(cls, customer_ids, *, creditor) -> "ExperimentBook":
        running = list(
            Experiment.objects.filter(status=Experiment.Status.RUNNING)
            .filter(Q(creditor__isnull=True) | Q(creditor=creditor))
            .prefetch_related("arms")
            .order_by("started_at", "id")
        )
        if not running:
            return cls()
        ids = [e.pk for e in running]
        existing = {
            (e, c): (a, m)
            for e, c, a, m in Assignment.objects.filter(
                experiment_id__in=ids, customer_id__in=list(customer_ids)
            ).values_list("experiment_id", "customer_id", "arm_id", "method")
        }
        counts = Counter(
            {
                (row["experiment_id"], row["arm_id"]): row["n"]
                for row in Assignment.objects.filter(experiment_id__in=ids)
                .values("experiment_id", "arm_id")
                .annotate(n=Count("id"))
            }
        )
        thompson = {}
        if creditor.learning_enabled:
            for experiment in running:
                if experiment.allocation == Experiment.Allocation.THOMPSON:
                    thompson[experiment.pk] = _posteriors(experiment)
        return cls(running, existing, counts, thompson)

    def allot(self, customer, items, action: str) -> Allotment | None:
        """The debtor's place in the first running experiment whose scope
        covers this decision; None when none does."""
        step_ids = {item.step.pk for item in items}
        for experiment in self.experiments:
            if experiment.creditor_id not in (None, customer.creditor_id):
                continue
            if experiment.covers(step_ids, action):
                return self._allot(experiment, customer.pk)
        return None

    def _allot(self, experiment: Experiment, customer_id: int) -> Allotment:
        arms = self.arms[experiment.pk]
        by_id = {arm.pk: arm for arm in arms}
        key = (experiment.pk, customer_id)
        if key in self.existing:
            arm_id, method = self.existing[key]
            found = Allotment(experiment, by_id.get(arm_id), method, customer_id, False)
            return self._annotate(found)

        salt = experiment.salt
        if unit(salt, "holdout", customer_id) < experiment.holdout_share:
            arm, method = None, Method.HOLDOUT
        elif experiment.allocation == Experiment.Allocation.WEIGHTS:
            arm, method = (
                by_weight(arms, unit(salt, "arm", customer_id)),
                Method.WEIGHTS,
            )
        elif experiment.pk not in self.thompson or any(
            self.counts[(experiment.pk, a.pk)] < experiment.burn_in for a in arms
        ):
            # Burn-in, or a creditor with learning off: by weight.
            arm = by_weight(arms, unit(salt, "arm", customer_id))
            method = (
                Method.BURN_IN if experiment.pk in self.thompson else Method.WEIGHTS
            )
        else:
            rng = random.Random(f"{salt}:thompson:{customer_id}")
            alpha_beta = self.thompson[experiment.pk]["alpha_beta"]
            draws = {a.pk: rng.betavariate(*alpha_beta[a.pk]) for a in arms}
            arm, method = by_id[max(draws, key=draws.get)], Method.THOMPSON
        self.counts[(experiment.pk, arm.pk if arm else None)] += 1
        self.existing[key] = (arm.pk if arm else None, method)
        allotment = self._annotate(
            Allotment(experiment, arm, method, customer_id, True)
        )
        self.allotted.append(allotment)
        return allotment

    def _annotate(self, allotment: Allotment) -> Allotment:
        posterior = self.thompson.get(allotment.experiment.pk)
        if posterior is not None:
            allotment.posteriors = posterior["by_key"]
            if allotment.arm is not None:
                allotment.p_best = posterior["by_key"][allotment.arm.key]["p_best"]
        return allotment

    def record(self, *, now) -> int:
        """Write the assignments of this batch's new debtors; after the
        decisions were saved, since each assignment points at its decision."""
        rows = [
            Assignment(
                experiment=a.experiment,
                arm=a.arm,
                customer_id=a.customer_id,
                decision=a.decision,
                method=a.method,
                assigned_at=now,
            )
            for a in self.allotted
            if a.decision is not None
        ]
        Assignment.objects.bulk_create(rows)
        self.allotted = []
        return len(rows)


def _posteriors(experiment: Experiment) -> dict:
    """The arms' posteriors from the outcomes of debtors whose creditors
    allow learning."""
    rows = results.outcomes(experiment, learning_only=True, count_sent=False)[:-1]
    return posterior_table(
        list(experiment.arms.all()), rows, seed=stats.seed_from(experiment.salt)
    )


def posterior_table(arms: list[Arm], rows, *, seed: int) -> dict:
    """Beta parameters by arm id and, by arm key, with the chance to be best;
    `rows` are the arms' outcomes in the same order."""
    alpha_beta = {
        arm.pk: stats.posterior(row.converted, row.assigned)
        for arm, row in zip(arms, rows, strict=True)
    }
    chances = stats.probability_best(list(alpha_beta.values()), seed=seed)
    by_key = {
        arm.key: {"alpha": a, "beta": b, "p_best": chance}
        for arm, (a, b), chance in zip(arms, alpha_beta.values(), chances, strict=True)
    }
    return {"alpha_beta": alpha_beta, "by_key": by_key}
