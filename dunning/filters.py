"""Changelist filters for cases and claims: how overdue, which step.

Both stay cheap on a million claims: the overdue bucket is a date range on the
due date, and the step filter lists steps, not cases.
"""

from datetime import timedelta

from django.contrib import admin
from django.db.models import Q
from django.utils import timezone

from dunning.models import Step

# (parameter value, label, fewest days overdue, most days overdue)
OVERDUE_BUCKETS = [
    ("not_due", "not yet due", None, 0),
    ("1-30", "1–30 days", 1, 30),
    ("31-60", "31–60 days", 31, 60),
    ("61-90", "61–90 days", 61, 90),
    ("90+", "over 90 days", 91, None),
]


class OverdueBucketFilter(admin.SimpleListFilter):
    """Days past the due date, counted on the operators' local date.

    The contractual due date is used, not the one moved past weekends and
    holidays: a bucket is a rough sort, and a range on one indexed column
    keeps it fast.
    """

    title = "overdue"
    parameter_name = "overdue"
    due_field = "due_on"

    def lookups(self, request, model_admin):
        return [(value, label) for value, label, _, _ in OVERDUE_BUCKETS]

    def queryset(self, request, queryset):
        bucket = next((b for b in OVERDUE_BUCKETS if b[0] == self.value()), None)
        if bucket is None:
            return queryset
        _, _, fewest, most = bucket
        today = timezone.localdate()
        conditions = {}
        if most is not None:
            conditions[f"{self.due_field}__gte"] = today - timedelta(days=most)
        if fewest is not None:
            conditions[f"{self.due_field}__lte"] = today - timedelta(days=fewest)
        return queryset.filter(**conditions)


class CaseOverdueBucketFilter(OverdueBucketFilter):
    due_field = "invoice__due_on"


class CurrentStepFilter(admin.SimpleListFilter):
    title = "current step"
    parameter_name = "step"

    def lookups(self, request, model_admin):
        steps = Step.objects.select_related("plan").order_by("plan__name", "position")
        return [("none", "no step yet")] + [
            (str(step.pk), f"{step.plan.name} #{step.position} {step.name}")
            for step in steps
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "none":
            return queryset.filter(current_step__isnull=True)
        if value and value.isdigit():
            return queryset.filter(current_step_id=int(value))
        return queryset


def matching_claims(term: str):
    """Ids of claims whose number or external id, or whose customer's name or
    external id, contain `term` (case-insensitive).

    Each table is searched on its own and the ids united, instead of the admin's
    one OR over joined tables, so that each column's trigram index can answer
    (see docs/BENCHMARKS.md); a list is then filtered by claim id.
    """
    from customers.models import Customer
    from payments.models import Invoice

    by_claim = Invoice.objects.filter(
        Q(number__icontains=term) | Q(external_id__icontains=term)
    )
    customers = Customer.objects.filter(
        Q(name__icontains=term) | Q(external_id__icontains=term)
    ).values("id")
    by_customer = Invoice.objects.filter(customer_id__in=customers)
    # A compound statement's parts may not be ordered (Invoice.Meta.ordering).
    return by_claim.order_by().values("id").union(by_customer.order_by().values("id"))


def search_by_claim(queryset, search_term: str, claim_field: str = "id"):
    """The admin search for claims and cases: every word must match."""
    for term in search_term.split():
        queryset = queryset.filter(**{f"{claim_field}__in": matching_claims(term)})
    return queryset
