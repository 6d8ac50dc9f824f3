"""What debtors said and did on the debtor page, for clerks and the creditor."""

from django.contrib import admin

from portal.models import ClerkTask, EngagementEvent, SepaMandate
from portal.ways_out import clerk_tasks_done


@admin.register(ClerkTask)
class ClerkTaskAdmin(admin.ModelAdmin):
    """Claims left out of a payment, "already paid" and disputes to look at."""

    list_display = ["kind", "invoice", "customer", "reason", "created_at", "done_at"]
    list_filter = ["kind", ("done_at", admin.EmptyFieldListFilter)]
    list_select_related = ["invoice", "customer"]
    search_fields = ["invoice__number", "customer__name", "customer__external_id"]
    readonly_fields = [
        "kind",
        "customer",
        "invoice",
        "reason",
        "details",
        "created_at",
        "done_at",
        "done_by",
    ]
    actions = ["mark_done"]

    def has_add_permission(self, request):
        return False

    def has_work_case_permission(self, request) -> bool:
        # Clerks who may work cases close the tasks; auditors only read them.
        return request.user.has_perm("dunning.work_case")

    @admin.action(
        description="Mark the selected tasks as done", permissions=["work_case"]
    )
    def mark_done(self, request, queryset):
        done = clerk_tasks_done(
            task_ids=list(queryset.values_list("pk", flat=True)), actor=request.user
        )
        self.message_user(request, f"{done} tasks marked as done.")


@admin.register(EngagementEvent)
class EngagementEventAdmin(admin.ModelAdmin):
    list_display = ["kind", "customer", "invoice", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["customer", "invoice"]
    search_fields = ["customer__name", "customer__external_id", "invoice__number"]
    readonly_fields = ["customer", "link", "kind", "invoice", "details", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SepaMandate)
class SepaMandateAdmin(admin.ModelAdmin):
    list_display = ["reference", "customer", "invoice", "signed_on"]
    list_select_related = ["customer", "invoice"]
    search_fields = ["reference", "customer__name", "invoice__number"]
    readonly_fields = [
        "customer",
        "invoice",
        "plan_external_id",
        "iban",
        "account_holder",
        "reference",
        "signed_on",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False
